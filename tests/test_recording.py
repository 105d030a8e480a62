"""Recorded walks and their animations, Qt-free: frames kept, GIF / MP4 written and read back with the
libraries (Pillow, imageio-ffmpeg), bad targets answered, cancel leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_bundle
from PIL import Image

from latentlab import animation
from latentlab.animation import frame_order, save_animation, write_animation
from latentlab.errors import ExportError, LatentLabError
from latentlab.explorer import ExplorerSession
from latentlab.explorer.recording import (
    AnimationSettings,
    Recording,
    export_frames,
    real_time_order,
    tiled_shape,
    walk_frames,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="MP4 export needs imageio-ffmpeg (a dependency)")


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return ExplorerSession.from_checkpoint(make_tiny_bundle(tmp_path_factory.mktemp("rec"), latent_dim=4,
                                                            atlas_size=20, faces=40))


def _faces(k: int, channels: int = 3, side: int = 8) -> np.ndarray:
    rng = np.random.default_rng(k)
    base = np.linspace(20, 235, k).astype(np.uint8)[:, None, None, None]
    return np.clip(base + rng.integers(-10, 10, (k, channels, side, side)), 0, 255).astype(np.uint8)


def _read_mp4(path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(frame, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for frame in reader]
    return meta, frames


def test_a_recording_keeps_copies_and_refuses_another_shape_and_overflow():
    recording = Recording(max_frames=3)
    image, z = np.zeros((3, 4, 4), np.uint8), np.arange(5, dtype=np.float64)
    assert recording.add(image, z, 1.0)
    image[:] = 9
    z[:] = -1
    assert recording.images[0].max() == 0 and recording.codes[0][1] == 1.0  # copies, not views
    assert recording.codes[0].dtype == np.float32
    assert not recording.add(np.zeros((3, 8, 8), np.uint8), z, 1.1)  # another model's image size
    assert recording.add(image, z, 1.5) and recording.add(image, z, 2.0)
    assert recording.full and not recording.add(image, z, 3.0)
    assert recording.frames().shape == (3, 3, 4, 4) and recording.codes_array().shape == (3, 5)
    assert recording.seconds == pytest.approx(1.0)
    recording.clear()
    assert len(recording) == 0 and recording.frames().shape[0] == 0


def test_real_time_order_holds_faces_while_still_and_skips_them_when_fast():
    # faces at 0, 0.01, 0.02 (a fast move), then still until 0.5, then one at 1.0
    order = real_time_order([0.0, 0.01, 0.02, 0.5, 1.0], fps=10)
    assert order == [0, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4]  # t = 0, 0.1, ..., 1.0
    assert real_time_order([0.0, 0.05], fps=10) == [0, 1]  # the last face always ends the walk
    assert real_time_order([], 10) == []
    recording = Recording()
    for t in (0.0, 0.3, 0.31):
        recording.add(np.zeros((1, 2, 2), np.uint8), np.zeros(2), t)
    assert recording.order(10, real_time=False) == [0, 1, 2]
    assert recording.order(10) == [0, 0, 0, 1, 2]


def test_gif_has_the_frames_size_and_rate_asked(tmp_path):
    images = _faces(5)
    path = save_animation(tmp_path / "walk.gif", images, fps=20, scale=3, order=[0, 1, 2, 3, 4, 4, 3])
    with Image.open(path) as gif:
        assert gif.size == (24, 24) and gif.info["loop"] == 0 and gif.info["duration"] == 50
        # Pillow merges the two identical consecutive frames (4, 4) into one of twice the delay
        assert gif.n_frames == 6
        gif.seek(4)
        assert gif.info["duration"] == 100
    assert [p.name for p in tmp_path.iterdir()] == ["walk.gif"]


def test_mp4_has_the_frames_size_and_rate_asked(tmp_path):
    images = _faces(7, side=9)  # an odd side: padded to even for H.264
    path = save_animation(tmp_path / "walk.mp4", images, fps=24, scale=3, bounce=True)
    meta, frames = _read_mp4(path)
    assert meta["codec"] == "h264" and meta["fps"] == 24.0 and meta["size"] == (28, 28)
    assert len(frames) == 2 * 7 - 2
    # frame 3 is image 3 enlarged 3 times (lossy: close, not equal), and the padding is white
    np.testing.assert_allclose(frames[3][:27, :27].mean(), images[3].mean(), atol=6)
    assert frames[3][27:, :].mean() > 200
    gray = save_animation(tmp_path / "gray.mp4", _faces(3, channels=1), fps=10, scale=2)
    assert len(_read_mp4(gray)[1]) == 3


def test_write_animation_reports_progress_and_cancel_removes_the_partial_file(tmp_path):
    for suffix in (".gif", ".mp4"):
        target = tmp_path / f"old{suffix}"
        target.write_bytes(b"the file already there")
        steps = write_animation(target, _faces(6), fps=10, scale=2)
        assert [next(steps) for _ in range(3)] == [(1, 7), (2, 7), (3, 7)]
        steps.close()  # what a cancelled job does
        assert target.read_bytes() == b"the file already there"
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".part") == []
        done = list(write_animation(target, _faces(6), fps=10, scale=2))
        assert done[-1] == (7, 7) and len(done) == 7 and target.read_bytes() != b"the file already there"


def test_bad_targets_are_answered_naming_the_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    images = _faces(3)
    for suffix in (".gif", ".mp4"):
        with pytest.raises(ExportError, match="not_a_folder.*cannot write") as info:
            save_animation(blocker / f"walk{suffix}", images)
        assert isinstance(info.value, LatentLabError)
    with pytest.raises(ExportError, match=r"walk\.avi.*use \.gif or \.mp4"):
        save_animation(tmp_path / "walk.avi", images)
    with pytest.raises(ExportError, match=r"empty\.gif: there are no frames"):
        save_animation(tmp_path / "empty.gif", np.zeros((0, 3, 8, 8), np.uint8))
    with pytest.raises(ExportError, match="frame rate 60 is out of range for GIF"):
        save_animation(tmp_path / "fast.gif", images, fps=60)

    def no_encoder():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_encoder)
    with pytest.raises(ExportError, match="imageio-ffmpeg.*No ffmpeg exe.*export a GIF"):
        save_animation(tmp_path / "walk.mp4", images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]  # nothing left behind


def test_walks_are_decoded_from_their_codes(session):
    codes = np.random.default_rng(0).standard_normal((5, session.latent_dim)).astype(np.float32)
    events = list(walk_frames(session, codes))
    assert [e[:2] for e in events][-1] == (5, 5) and events[-1][2] is not None
    np.testing.assert_array_equal(events[-1][2], session.decode(codes))
    chains = np.random.default_rng(1).standard_normal((3, 5, session.latent_dim)).astype(np.float32)
    frames = list(walk_frames(session, chains))[-1][2]
    assert frames.shape == (3, *tiled_shape(session.image_shape, 5))  # 5 chains tiled 3 x 2 per step
    side = session.image_shape[-1]
    np.testing.assert_array_equal(frames[1][:, 2:2 + side, 2:2 + side], session.decode(chains[1])[0])
    with pytest.raises(ValueError, match="walk codes"):
        list(walk_frames(session, np.zeros((3, session.latent_dim + 1), np.float32)))


def test_export_frames_decodes_then_encodes(session, tmp_path):
    codes = np.random.default_rng(2).standard_normal((6, session.latent_dim)).astype(np.float32)
    settings = AnimationSettings(tmp_path / "path.gif", fps=10, scale=2, bounce=True)
    events = list(export_frames(settings, session=session, codes=codes))
    assert events[0][0] == "Decoding" and events[-1] == ("Encoding GIF", 11, 11)
    with Image.open(settings.path) as gif:
        assert gif.size == (2 * session.image_shape[-1],) * 2 and gif.n_frames == 2 * 6 - 2
    recording = Recording()
    for i, face in enumerate(_faces(4)):
        recording.add(face, np.zeros(2), i * 0.1)
    mp4 = AnimationSettings(tmp_path / "rec.mp4", fps=20)
    list(export_frames(mp4, images=recording.frames(), order=recording.order(mp4.fps)))
    assert len(_read_mp4(mp4.path)[1]) == len(recording.order(20)) == 7
    with pytest.raises(ExportError, match=r"nothing\.gif: there are no frames"):
        list(export_frames(AnimationSettings(tmp_path / "nothing.gif"), images=Recording().frames()))
    assert frame_order(4, bounce=True) == [0, 1, 2, 3, 2, 1]


def test_the_ffmpeg_binary_comes_with_the_package(monkeypatch):
    """MP4 needs no system ffmpeg: imageio-ffmpeg's wheel carries one (what `pip install .` brings)."""
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    exe = Path(animation.find_mp4_encoder())
    assert exe.is_relative_to(Path(imageio_ffmpeg.__file__).parent) and exe.is_file()
