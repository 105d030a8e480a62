"""Animations of decoded faces, written frame by frame: GIF by Pillow, MP4 (H.264) by the ffmpeg
binary that the imageio-ffmpeg wheel ships.

`write_animation` is a generator: it yields after every frame (so a worker can report progress and
stop between two frames) and writes to a temporary file beside the target, renamed into place only
after the last frame (`fileio.atomic_file`). Closing it early (a cancelled job) removes the
temporary file; a file already at the path is never touched until the new one is complete.
`save_animation` runs it to the end. Every failure is an `ExportError` naming the file: an
unwritable folder, an unknown suffix, zero frames, no MP4 encoder.

Frame i of the file shows image `order[i]` (default: every image once, or forward then back with
`bounce`), enlarged `scale` times with nearest-neighbour, at `fps` frames a second. A GIF stores a
delay in hundredths of a second per frame, so its rate is 100 / round(100 / fps) (25 fps exactly,
30 fps as 33.3); browsers treat delays under 20 ms as 100 ms, so GIF rates stop at 50 fps. Pillow
merges consecutive identical frames into one longer frame, so a GIF can hold fewer frames than
were written when neighbouring images are identical; the timing is unchanged. MP4 frames are
padded with white to even sides (H.264's 4:2:0 colour needs them).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from latentlab.errors import ExportError
from latentlab.fileio import atomic_file, describe_os_error

FORMATS = {".gif": "GIF", ".mp4": "MP4"}
GIF_MAX_FPS = 50.0
MP4_MAX_FPS = 120.0
MP4_QUALITY = 8  # imageio-ffmpeg's 0-10 scale; 8 keeps the enlarged pixels of small faces crisp


def animation_format(path: str | os.PathLike) -> str:
    """"GIF" or "MP4" from the file's suffix; an ExportError naming the file for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path}: unsupported animation type {suffix or '(none)'!r}; use .gif or .mp4")
    return FORMATS[suffix]


def frame_order(count: int, bounce: bool = False) -> list[int]:
    """0 .. count-1; with `bounce`, then back without repeating the end frames (2K - 2 frames for
    K > 2), so a looping animation has no stutter at either end."""
    order = list(range(count))
    if bounce and count > 2:
        order += order[-2:0:-1]
    return order


def frame_array(image: np.ndarray, scale: int = 1) -> np.ndarray:
    """One uint8 image [C, H, W] (C = 1 or 3) as an [H*scale, W*scale] grey or [.., 3] RGB array."""
    array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    if scale > 1:
        array = array.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.ascontiguousarray(array)


def check_images(images: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    """uint8 [K, C, H, W] with K >= 1 and C = 1 or 3; zero frames is an ExportError naming `path`."""
    images = np.asarray(images)
    if images.ndim == 4 and len(images) == 0:
        raise ExportError(f"{path}: there are no frames to write (record or render some first)")
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images [K, C, H, W] with C = 1 or 3, got {images.dtype} {images.shape}")
    return images


def write_animation(path: str | os.PathLike, images: np.ndarray, fps: float = 10, scale: int = 2,
                    bounce: bool = False, order: Sequence[int] | None = None,
                    kind: str | None = None) -> Iterator[tuple[int, int]]:
    """Write `images` (uint8 [K, C, H, W]) as a looping GIF or an MP4 (`kind`, by default from `path`'s
    suffix), yielding (steps done, steps in all) after each frame and once more when the file is in
    place (see the module docstring). Checks everything it can before the first frame."""
    kind = animation_format(path) if kind is None else kind
    if kind not in FORMATS.values():
        raise ValueError(f"kind must be one of {sorted(FORMATS.values())}, got {kind!r}")
    images = check_images(images, path)
    order = frame_order(len(images), bounce) if order is None else [int(i) for i in order]
    if not order or min(order) < 0 or max(order) >= len(images):
        raise ValueError(f"frame order must index the {len(images)} images, got {len(order)} entries")
    fps = float(fps)
    top = GIF_MAX_FPS if kind == "GIF" else MP4_MAX_FPS
    if not (0 < fps <= top):
        raise ExportError(f"{path}: frame rate {fps:g} is out of range for {kind} (0 < fps <= {top:g})")
    scale = max(1, int(scale))
    writer = _gif_frames if kind == "GIF" else _mp4_frames
    if kind == "MP4":
        find_mp4_encoder()  # before any file is made: a clear message when there is none
    total = len(order) + 1
    try:
        with atomic_file(path) as tmp:
            frames = writer(tmp, images, order, fps, scale)
            try:
                for done in frames:
                    yield done, total
            finally:
                frames.close()  # on cancel too: the encoder lets go of the file before it is removed
    except OSError as err:
        raise ExportError(f"{path}: cannot write file ({describe_os_error(err)})") from None
    yield total, total


def save_animation(path: str | os.PathLike, images: np.ndarray, fps: float = 10, scale: int = 2,
                   bounce: bool = False, order: Sequence[int] | None = None, kind: str | None = None) -> Path:
    """`write_animation` run to the end; returns the path written."""
    for _ in write_animation(path, images, fps, scale, bounce, order, kind):
        pass
    return Path(path)


def find_mp4_encoder() -> str:
    """The ffmpeg executable imageio-ffmpeg provides (its own binary, or IMAGEIO_FFMPEG_EXE); an
    ExportError saying how to get it when there is none."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError) as err:
        raise ExportError(f"MP4 export needs the ffmpeg encoder of the imageio-ffmpeg package, which is not "
                          f"available here ({err}); install it with `pip install imageio-ffmpeg`, or export "
                          "a GIF") from None


def _gif_frames(tmp: Path, images: np.ndarray, order: list[int], fps: float, scale: int) -> Iterator[int]:
    """Palette each frame (Pillow's own adaptive palette for RGB, as its GIF writer would), then write."""
    duration = 10 * max(2, round(100.0 / fps))  # ms, a whole number of the format's 1/100 s
    frames = []
    for done, index in enumerate(order, start=1):
        frame = Image.fromarray(frame_array(images[index], scale))
        frames.append(frame if frame.mode == "L" else frame.convert("P", palette=Image.Palette.ADAPTIVE))
        yield done
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0)


def _mp4_frames(tmp: Path, images: np.ndarray, order: list[int], fps: float, scale: int) -> Iterator[int]:
    """H.264 in an MP4 container through imageio-ffmpeg's frame pipe into ffmpeg."""
    import imageio_ffmpeg

    height, width = images.shape[2] * scale, images.shape[3] * scale
    pad_h, pad_w = height % 2, width % 2
    pipe = imageio_ffmpeg.write_frames(str(tmp), (width + pad_w, height + pad_h), fps=fps, codec="libx264",
                                       quality=MP4_QUALITY, macro_block_size=1, ffmpeg_log_level="error",
                                       output_params=["-f", "mp4"])  # the temporary name ends in .part
    try:
        pipe.send(None)
        for done, index in enumerate(order, start=1):
            frame = frame_array(images[index], scale)
            if frame.ndim == 2:
                frame = np.repeat(frame[..., None], 3, axis=2)
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=255)
            pipe.send(np.ascontiguousarray(frame))
            yield done
    except (RuntimeError, BrokenPipeError) as err:
        raise OSError(f"the MP4 encoder failed: {err}") from None
    finally:
        pipe.close()


def duration_seconds(frames: int, fps: float, kind: str = "MP4") -> float:
    """How long `frames` frames play at `fps` (a GIF at its rounded delay, as `write_animation` writes)."""
    if kind == "GIF":
        return frames * 10 * max(2, round(100.0 / fps)) / 1000.0
    return frames / fps if fps > 0 else math.inf
