"""The interpolation panel driven through qtbot with a tiny real model (a 4-D VAE on 16x16 RGB)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from latentlab.checkpoints import save_model
from latentlab.data import parse_spec, preprocessing_for
from latentlab.explorer.session import ExplorerSession
from latentlab.models import build_model
from latentlab.sampling import angle, lerp, slerp
from latentlab.ui.interpolate.panel import InterpolationPanel

STEPS = 10


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8}).eval()
    prep = preprocessing_for(parse_spec("folder:/x?size=16"))
    return save_model(tmp_path_factory.mktemp("model") / "tiny.ckpt", model, preprocessing=prep)


@pytest.fixture
def session(checkpoint):
    return ExplorerSession.from_checkpoint(checkpoint)


@pytest.fixture
def faces(tmp_path):
    """Two different small images (a red disc, a blue square) and a corrupt .png."""
    yy, xx = np.mgrid[:24, :20]
    a = np.zeros((24, 20, 3), np.uint8)
    a[(yy - 12) ** 2 + (xx - 10) ** 2 < 49] = (220, 40, 40)
    b = np.full((24, 20, 3), 230, np.uint8)
    b[4:18, 3:17] = (30, 40, 200)
    paths = {"a": tmp_path / "face_a.png", "b": tmp_path / "face_b.png", "bad": tmp_path / "broken_face.png"}
    Image.fromarray(a).save(paths["a"])
    Image.fromarray(b).save(paths["b"])
    paths["bad"].write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    return paths


@pytest.fixture
def panel(qtbot, session):
    widget = InterpolationPanel()
    qtbot.addWidget(widget)
    widget.set_session(session)
    widget.resize(640, 360)
    widget.show()
    return widget


def _record(signal) -> list:
    seen: list = []
    signal.connect(seen.append)
    return seen


def test_starts_disabled_without_session(qtbot):
    widget = InterpolationPanel()
    qtbot.addWidget(widget)
    assert not widget.isEnabled()
    assert widget.path() is None and widget.strip.count() == 0
    assert widget.mode == "slerp" and widget.steps == 10
    assert (widget.steps_spin.minimum(), widget.steps_spin.maximum()) == (3, 64)


def test_loading_both_endpoints_builds_the_path_and_strip(panel, session, faces):
    paths = _record(panel.path_changed)
    assert panel.load_endpoint_file(0, faces["a"])
    assert paths == [] and not panel.slider.isEnabled()  # one endpoint: nothing to interpolate yet
    assert not panel.thumbs[0].pixmap().isNull()
    assert "face_a.png" in panel.captions[0].text()
    assert panel.load_endpoint_file(1, faces["b"])
    assert len(paths) == 1
    path = paths[0]
    assert path.shape == (STEPS, 4)
    codes, _ = session.encode_files([faces["a"], faces["b"]])  # exactly the training preprocessing
    np.testing.assert_allclose(path[0], codes[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], codes[1], atol=1e-6)
    assert panel.strip.count() == STEPS
    assert panel.strip_images().shape == (STEPS, 3, 16, 16)
    assert panel.slider.isEnabled() and panel.png_button.isEnabled()

    panel.steps_spin.setValue(5)
    assert paths[-1].shape == (5, 4) and panel.strip.count() == 5


def test_slider_emits_codes_along_the_path(panel, faces):
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    a, b = panel.path()[0], panel.path()[-1]
    current = _record(panel.current_changed)

    panel.slider.setValue(panel.SLIDER_MAX // 4)
    z = current[-1]
    assert z.shape == (4,)
    np.testing.assert_allclose(z, slerp(a, b, 0.25), atol=1e-6)
    total = angle(a, b)
    assert 0 < angle(a, z) < total and 0 < angle(z, b) < total  # between the endpoints

    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("linear"))
    panel.slider.setValue(int(panel.SLIDER_MAX * 0.7))
    np.testing.assert_allclose(current[-1], lerp(a, b, 0.7), atol=1e-6)

    # keyboard steps move it too (the slider is focusable and continuous)
    before = len(current)
    panel.slider.setFocus()
    panel.slider.triggerAction(panel.slider.SliderAction.SliderSingleStepAdd)
    assert len(current) == before + 1


def test_switching_mode_changes_the_middle(panel, faces):
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    spherical = panel.path()
    paths = _record(panel.path_changed)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("linear"))
    assert panel.mode == "linear" and len(paths) == 1
    linear = paths[0]
    np.testing.assert_allclose(linear[[0, -1]], spherical[[0, -1]])
    assert not np.allclose(linear[1:-1], spherical[1:-1])
    # the linear midpoint is shorter than the slerp one (it cuts toward the origin)
    mid = STEPS // 2
    assert np.linalg.norm(linear[mid]) < np.linalg.norm(spherical[mid])


def test_clicking_a_tile_moves_the_slider(panel, qtbot, faces):
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    cell = panel.strip.width() / STEPS
    qtbot.mouseClick(panel.strip, Qt.MouseButton.LeftButton, pos=QPoint(int(cell * 3.5), panel.strip.height() // 2))
    assert panel.current_t() == pytest.approx(3 / (STEPS - 1), abs=1 / panel.SLIDER_MAX)


def test_export_png_and_gif(panel, faces, tmp_path):
    assert panel.export_png(tmp_path / "none.png") is None  # nothing to export yet: a message, no file
    assert panel.status_label.isVisible() and not (tmp_path / "none.png").exists()
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    png = panel.export_png(tmp_path / "out" / "strip.png")
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > img.height
    gif = panel.export_gif(tmp_path / "out" / "walk.gif")
    with Image.open(gif) as img:
        assert img.format == "GIF"
        # A -> B -> A; Pillow merges identical neighbouring frames, so at most 2K - 2
        assert 2 <= img.n_frames <= 2 * STEPS - 2
        assert img.info["loop"] == 0
    errors = _record(panel.error_occurred)
    assert panel.export_gif(faces["a"] / "x.gif") is None  # the "folder" is a file
    assert errors and "face_a.png" in errors[0]


def test_bad_file_reports_and_panel_keeps_working(panel, faces):
    errors = _record(panel.error_occurred)
    paths = _record(panel.path_changed)
    assert not panel.load_endpoint_file(0, faces["bad"])
    assert panel.status_label.isVisible()
    assert "broken_face.png" in panel.status_label.text()
    assert "c62828" in panel.status_label.styleSheet()  # shown in red
    assert len(errors) == 1 and "broken_face.png" in errors[0]
    assert not panel.load_endpoint_file(1, faces["a"].parent / "missing.png")
    assert "missing.png" in panel.status_label.text()

    assert panel.load_endpoint_file(0, faces["a"])
    assert not panel.status_label.isVisible()
    assert panel.load_endpoint_file(1, faces["b"])
    assert len(paths) == 1 and paths[0].shape == (STEPS, 4)


def test_endpoints_from_the_map_and_model_change(panel, session, checkpoint):
    z = session.prior_samples(2, seed=3)
    paths = _record(panel.path_changed)
    panel.set_endpoint(0, z[0], "point 17")
    panel.set_endpoint(1, z[1], "point 42")
    assert "point 42" in panel.captions[1].text()
    assert not panel.thumbs[1].pixmap().isNull()
    np.testing.assert_allclose(paths[-1][[0, -1]], z, atol=1e-6)
    with pytest.raises(ValueError):
        panel.set_endpoint(0, np.zeros(7), "wrong size")

    panel.set_session(session)  # the same model: endpoints kept
    assert panel.path() is not None
    panel.set_session(ExplorerSession.from_checkpoint(checkpoint))  # another model: cleared
    assert panel.path() is None and panel.strip.count() == 0 and not panel.slider.isEnabled()
    assert panel.isEnabled()
    panel.set_session(None)
    assert not panel.isEnabled()


# ---------------------------------------------------------------- the latent chain along the path
def test_chain_steps_show_a_second_aligned_strip(panel, faces):
    assert panel.chain_steps == 0 and panel.chain_mode == "mean"
    assert (panel.chain_spin.minimum(), panel.chain_spin.maximum()) == (0, 20)
    assert panel.chain_spin.isEnabled() and panel.chain_mode_combo.isEnabled()
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    assert not panel.chained_strip.isVisible() and panel.chained_images() is None
    direct = panel.strip_images()
    paths = _record(panel.path_changed)
    chained = _record(panel.chained_current_changed)

    panel.chain_spin.setValue(3)
    assert panel.chained_strip.isVisible() and panel.direct_label.isVisible()
    assert panel.chained_label.text() == "after 3 chain steps (mean mode)"
    assert panel.direct_label.text() == "decoded directly"
    assert panel.chained_strip.count() == panel.strip.count() == STEPS
    images = panel.chained_images()
    assert images.shape == direct.shape and images.dtype == np.uint8
    assert not np.array_equal(images, direct)
    np.testing.assert_array_equal(panel.strip_images(), direct)  # the direct strip is unchanged
    assert paths == []  # the path itself did not change
    assert not panel.busy_label.isVisible() and panel.chained_label.isVisible()
    assert panel.strip.geometry().width() == panel.chained_strip.geometry().width()  # column by column
    assert panel.strip.geometry().x() == panel.chained_strip.geometry().x()
    codes = panel.chained_codes()
    assert codes.shape == (STEPS, 4) and not np.allclose(codes, panel.path())
    np.testing.assert_array_equal(chained[-1], codes[0])  # the slider is at t = 0

    # the slider emits the direct code and the chained code nearest to it; nothing is recomputed
    current = _record(panel.current_changed)
    panel.slider.setValue(int(panel.SLIDER_MAX * 0.6))
    np.testing.assert_array_equal(chained[-1], codes[round(0.6 * (STEPS - 1))])
    np.testing.assert_allclose(current[-1], panel.current_code())
    assert np.array_equal(panel.chained_codes(), codes)

    panel.chain_mode_combo.setCurrentIndex(panel.chain_mode_combo.findData("stochastic"))
    assert panel.chained_label.text() == "after 3 chain steps (stochastic mode)"
    assert not np.allclose(panel.chained_codes(), codes)

    panel.steps_spin.setValue(5)  # a new path: both strips follow
    assert panel.strip.count() == panel.chained_strip.count() == 5

    panel.chain_spin.setValue(0)
    assert not panel.chained_strip.isVisible() and not panel.chained_label.isVisible()
    assert not panel.direct_label.isVisible()
    assert panel.chained_images() is None and panel.chained_codes() is None
    before = len(chained)
    panel.slider.setValue(0)
    assert len(chained) == before  # k = 0: no chained codes emitted


def test_chain_exports_both_strips(panel, faces, tmp_path):
    panel.load_endpoint_file(0, faces["a"])
    panel.load_endpoint_file(1, faces["b"])
    with Image.open(panel.export_png(tmp_path / "direct.png")) as img:
        single = img.size
    gif0 = panel.export_gif(tmp_path / "direct.gif")
    with Image.open(gif0) as img:
        single_gif = img.size

    panel.chain_spin.setValue(3)
    direct, chained = panel.strip_images(), panel.chained_images()
    with Image.open(panel.export_png(tmp_path / "both.png")) as img:
        assert img.width == single[0]
        assert 1.9 < img.height / single[1] < 2.4  # two strips and a small gap
        pixels = np.asarray(img.convert("RGB")).astype(int)
    tile = 16 * 2  # a 16-px decode, doubled
    top = pixels[4:4 + tile:2, 4:4 + tile:2]
    y = img.height - 4 - tile
    bottom = pixels[y:y + tile:2, 4:4 + tile:2]
    np.testing.assert_array_equal(top, direct[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(bottom, chained[0].transpose(1, 2, 0))

    with Image.open(panel.export_gif(tmp_path / "both.gif")) as img:
        assert img.info["loop"] == 0 and img.height == single_gif[1]
        assert img.width == 2 * single_gif[0] + 2 * 2  # direct | 2-px gap | chained, doubled
        assert 2 <= img.n_frames <= 2 * STEPS - 2
        frame = np.asarray(img.convert("RGB")).astype(int)
    left, right = frame[::2, :tile:2], frame[::2, tile + 4::2]
    # GIF palettes are approximate: each half is close to its own decode, not to the other one
    assert np.abs(left - direct[0].transpose(1, 2, 0)).mean() < np.abs(left - chained[0].transpose(1, 2, 0)).mean()
    assert np.abs(right - chained[0].transpose(1, 2, 0)).mean() < np.abs(right - direct[0].transpose(1, 2, 0)).mean()

    panel.chain_spin.setValue(0)  # unchanged behaviour once k is back to 0
    with Image.open(panel.export_png(tmp_path / "again.png")) as img:
        assert img.size == single


def test_model_without_encoder_disables_the_chain(panel, checkpoint):
    no_encoder = ExplorerSession.from_checkpoint(checkpoint)
    no_encoder.model.has_encoder = False  # as a GAN: the chain (decode, re-encode) does not apply
    panel.chain_spin.setValue(3)
    panel.set_session(no_encoder)
    assert not panel.chain_spin.isEnabled() and not panel.chain_mode_combo.isEnabled()
    assert "no encoder" in panel.chain_spin.toolTip() and "no encoder" in panel.chain_mode_combo.toolTip()
    assert panel.chain_steps == 0
    z = no_encoder.prior_samples(2, seed=1)
    panel.set_endpoint(0, z[0], "p")
    panel.set_endpoint(1, z[1], "q")
    assert panel.strip.count() == STEPS and not panel.chained_strip.isVisible()
    assert panel.chained_images() is None and not panel.status_label.isVisible()

    panel.set_session(ExplorerSession.from_checkpoint(checkpoint))  # an encoder again: k = 3 applies
    assert panel.chain_spin.isEnabled() and panel.chain_steps == 3
