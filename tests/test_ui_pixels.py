"""The pixel panel driven through qtbot with tiny freshly initialised pixel models (8x8 gray PixelCNN and
Gated PixelCNN, saved as checkpoints with the synthetic-faces data description), and the panel docked
in the main window beside the chain panel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from conftest import make_tiny_bundle
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt

from latentlab.analysis.receptive_field import Region
from latentlab.checkpoints import save_model
from latentlab.data import load_dataset
from latentlab.models import build_model
from latentlab.ui.pixels.panel import SPEEDS, PixelPanel
from latentlab.ui.pixels.views import CELL, compose

SHAPE = (1, 8, 8)
SUBPIXELS = 64
CONFIGS = {"pixelcnn": {"hidden_channels": 8, "num_layers": 3, "first_kernel": 3},
           "gated_pixelcnn": {"hidden_channels": 8, "num_layers": 3, "first_kernel": 3}}


def save_pixel_model(folder, name: str):
    torch.manual_seed(0)
    model = build_model(name, {**CONFIGS[name], "image_shape": list(SHAPE)}).eval()
    dataset = load_dataset("synthetic-faces?size=8&channels=1&n=60", split="train", limit=10)
    return save_model(folder / f"{name}.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pixel-models")
    return {name: save_pixel_model(folder, name) for name in CONFIGS}


@pytest.fixture
def panel(qtbot, checkpoints, isolated_cache):
    widget = PixelPanel()
    qtbot.addWidget(widget)
    widget.worker_threads = 1
    widget.resize(760, 520)
    widget.show()
    assert widget.open_checkpoint(checkpoints["pixelcnn"])
    qtbot.waitUntil(lambda: widget.canvas.composed is not None, timeout=3000)
    yield widget
    assert widget.shutdown(timeout=10)


def test_the_model_is_described_and_the_run_starts_paused_with_nothing_drawn(qtbot, panel):
    info = panel.model_info.text()
    assert "PixelCNN" in info and "8×8 gray" in info and "parameters" in info and "synthetic-faces" in info
    assert panel.done == 0 and panel.total == SUBPIXELS and panel.count_spin.value() == 4
    assert panel.progress.value() == 0 and panel.progress.maximum() == SUBPIXELS
    qtbot.wait(200)
    assert panel.done == 0 and not panel.is_playing  # a new run waits for Play or Step
    checker = panel.canvas.composed
    assert len(np.unique(checker.reshape(-1, 3), axis=0)) == 3  # background and the two checker greys


def test_a_single_step_draws_one_sub_pixel_and_shows_its_distribution(qtbot, panel):
    panel.step()
    qtbot.waitUntil(lambda: panel.done == 1 and panel.progress.value() == 1, timeout=3000)
    qtbot.wait(200)
    assert panel.done == 1
    _, probs = panel.plot.bars.getData()
    assert probs.shape == (256,) and probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert panel.plot.drawn.isVisible() and panel.plot.drawn.value() == panel.images[0, 0, 0, 0]
    assert "row 0, col 0" in panel.plot.plotItem.titleLabel.text
    panel.step()
    qtbot.waitUntil(lambda: panel.done == 2, timeout=3000)
    qtbot.waitUntil(lambda: "row 0, col 1" in panel.plot.plotItem.titleLabel.text, timeout=3000)


def test_play_runs_to_the_end_with_every_sub_pixel_drawn(qtbot, panel):
    running = []
    panel.running_changed.connect(running.append)
    panel.fast_check.setChecked(True)
    panel.play()
    assert panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=20000)
    qtbot.waitUntil(lambda: panel.progress.value() == SUBPIXELS, timeout=3000)
    assert panel.done == panel.total == SUBPIXELS and running == [True, False]
    assert panel.images.shape == (4, *SHAPE)
    assert not any(t.name == "latentlab-pixels" for t in threading.enumerate())
    assert panel.redraw_count < 40  # throttled: far fewer redraws than sub-pixels would be at 30 Hz...
    assert np.array_equal(panel.canvas.composed, compose(panel.images, SUBPIXELS, columns=2))  # ... no checker left


def test_compose_enlarges_pixels_and_shows_the_undrawn_ones_as_a_checker_on_a_grey_ground():
    images = np.full((3, 1, 2, 2), 7, np.uint8)
    canvas = compose(images, drawn=1, columns=2)  # only pixel (0, 0) of each image is drawn
    side = 2 * CELL
    assert canvas.shape == (2 * (side + 2) + 2, 2 * (side + 2) + 2, 3)  # 2 x 2 cells, 2-pixel padding
    first = canvas[2:2 + side, 2:2 + side]
    assert (first[:CELL, :CELL] == 7).all()
    assert set(np.unique(first[CELL:])) == {188, 228} and set(np.unique(first[:CELL, CELL:])) == {188, 228}
    assert (canvas[:2] == 250).all() and (canvas[side + 4:, side + 4:] == 250).all()  # padding, empty 4th cell


def test_the_speed_limits_the_rate_and_pause_stops_between_sub_pixels(qtbot, panel):
    panel.speed_slider.setValue(SPEEDS.index(5))
    assert panel.speed_label.text() == "5 sub-pixels/s"
    panel.play()
    qtbot.wait(700)
    panel.pause()
    qtbot.wait(300)
    count = panel.done
    assert 1 <= count <= 6
    qtbot.wait(400)
    assert panel.done == count


def test_reset_starts_again_with_the_settings(qtbot, panel):
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: panel.done >= 5, timeout=5000)
    panel.count_spin.setValue(2)  # applies on Reset while drawing
    assert panel.images.shape[0] == 4
    panel.reset()
    assert panel.done == 0 and not panel.is_playing and panel.images.shape == (2, *SHAPE)
    panel.count_spin.setValue(3)  # nothing drawn yet: applies at once
    assert panel.images.shape == (3, *SHAPE)


def test_the_same_seed_draws_the_same_images_in_every_mode(qtbot, panel):
    finished = {}
    panel.fast_check.setChecked(True)
    for index in range(panel.mode_combo.count()):
        panel.mode_combo.setCurrentIndex(index)
        panel.reset()
        panel.play()
        qtbot.waitUntil(lambda: not panel.is_playing and panel.done == SUBPIXELS, timeout=20000)
        finished[panel.mode_combo.currentData()] = panel.images.copy()
    first = next(iter(finished.values()))
    assert all(np.array_equal(images, first) for images in finished.values())


def test_completing_an_image_keeps_its_rows(qtbot, panel, tmp_path):
    source = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    Image.fromarray(source, "L").save(tmp_path / "ramp.png")
    assert panel.load_image(tmp_path / "ramp.png")
    assert panel.task_tabs.currentIndex() == 1 and "ramp.png" in panel.image_caption.text()
    panel.rows_slider.setValue(5)
    assert panel.total == SUBPIXELS - 5 * 8 and panel.done == 0
    assert np.array_equal(panel.images[:, 0, :5], np.repeat(source[None, :5], 4, axis=0))
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: not panel.is_playing and panel.done == panel.total, timeout=20000)
    assert np.array_equal(panel.images[:, 0, :5], np.repeat(source[None, :5], 4, axis=0))
    assert panel.progress.value() == panel.progress.maximum() == 24


def test_a_dataset_image_can_be_completed(qtbot, panel):
    panel.take_dataset_image()
    qtbot.waitUntil(lambda: panel.image_caption.text().startswith("Completing: synthetic-faces"), timeout=10000)
    assert panel.task_tabs.currentIndex() == 1 and panel.play_button.isEnabled()


def test_an_unreadable_image_is_reported_in_the_banner(qtbot, panel, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    errors = []
    panel.error_occurred.connect(errors.append)
    assert not panel.load_image(bad)
    assert panel.banner.isVisible() and "broken.png" in panel.banner.message and errors


def click_pixel(qtbot, panel, tile: int, row: int, col: int) -> None:
    centre = panel.canvas.pixel_rect(tile, row, col).center()
    qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))


@pytest.mark.parametrize("name, blind", [("pixelcnn", True), ("gated_pixelcnn", False)])
def test_clicking_a_pixel_shows_its_receptive_field(qtbot, panel, checkpoints, name, blind):
    assert panel.open_checkpoint(checkpoints[name])
    qtbot.waitUntil(lambda: panel.canvas.composed is not None, timeout=3000)
    fields = []
    original = panel._show_field
    panel._show_field = lambda field: (fields.append(field), original(field))
    qtbot.wait(50)
    click_pixel(qtbot, panel, 1, 5, 3)
    qtbot.waitUntil(lambda: panel.field_shown, timeout=5000)
    field = fields[-1]
    assert field.position == (5, 3, 0) and field.pixels[5, 3] == Region.TARGET
    assert (field.count(Region.BLIND_SPOT) > 0) == blind
    legend = panel.field_legend.label.text()
    assert ("blind spot (" in legend) == blind and "influences it" in legend
    assert panel.field_legend.note.text().startswith("Magenta" if blind else "No blind spot")
    assert (field.pixels[6:] == Region.NOT_YET).all()
    panel.field_legend.hide_button.click()
    assert not panel.field_shown


def test_a_bad_checkpoint_or_a_latent_model_is_refused_with_a_message(qtbot, panel, tmp_path):
    errors = []
    panel.error_occurred.connect(errors.append)
    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert not panel.open_checkpoint(bad)
    assert panel.banner.isVisible() and "broken.ckpt" in panel.banner.message
    vae = build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 2, "base_channels": 8})
    save_model(tmp_path / "vae.ckpt", vae)
    assert not panel.open_checkpoint(tmp_path / "vae.ckpt")
    assert "not autoregressive" in panel.banner.message and len(errors) == 2
    assert "PixelCNN" in panel.model_info.text()  # the loaded model is untouched and still draws
    panel.step()
    qtbot.waitUntil(lambda: panel.done == 1, timeout=3000)


def test_the_model_combo_lists_the_opened_models_and_switches_between_them(qtbot, panel, checkpoints):
    assert panel.open_checkpoint(checkpoints["gated_pixelcnn"])
    combo = panel.picker.combo
    names = [combo.itemText(i) for i in range(combo.count())]
    opened = [name for name in names if not name.endswith("(bundled)")]  # the bundled models come first
    assert opened == ["pixelcnn.ckpt", "gated_pixelcnn.ckpt"] and combo.currentText() == "gated_pixelcnn.ckpt"
    plain = names.index("pixelcnn.ckpt")
    combo.activated.emit(plain)
    assert "Gated" not in panel.model_info.text() and combo.currentIndex() == plain and panel.total == SUBPIXELS


def test_a_sampler_error_stops_the_run_with_a_message(qtbot, panel, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr("latentlab.explorer.pixel_runs.sample_steps", broken)
    panel.reset()
    panel.step()
    qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=3000)
    assert "boom" in panel.banner.message
    qtbot.waitUntil(lambda: panel._job is None, timeout=3000)
    assert not panel.is_playing


def test_changing_model_while_playing_stops_the_old_run_cleanly(qtbot, panel, checkpoints):
    panel.speed_slider.setValue(SPEEDS.index(1))  # slow: the old run is mid-way
    panel.play()
    qtbot.waitUntil(lambda: panel.done >= 1, timeout=5000)
    assert panel.open_checkpoint(checkpoints["gated_pixelcnn"])
    assert panel.done == 0 and not panel.is_playing and "Gated PixelCNN" in panel.model_info.text()
    assert panel.shutdown(timeout=10)
    assert not [t for t in threading.enumerate() if t.name.startswith("latentlab-pixels")]


# ---------------------------------------------------------------------- in the main window
@pytest.fixture
def window(qtbot, tmp_path):
    from latentlab.ui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.shutdown()


def test_opening_a_pixel_checkpoint_in_the_window_goes_to_the_docked_panel(qtbot, window, checkpoints):
    assert not window.pixel_dock.isVisible()
    assert window.open_checkpoint(checkpoints["gated_pixelcnn"])
    assert window.pixel_dock.isVisible() and window.session is None and not window.banner.isVisible()
    assert "Gated PixelCNN" in window.pixels.model_info.text()
    assert window.recent_files()[0].endswith("gated_pixelcnn.ckpt")
    window.pixel_dock_action.trigger()  # View → Pixels hides it ...
    assert not window.pixel_dock.isVisible()
    window.pixel_dock_action.trigger()  # ... and shows it again
    assert window.pixel_dock.isVisible()


def test_the_pixel_panel_and_the_chain_panel_run_side_by_side(qtbot, window, checkpoints, tmp_path):
    vae = make_tiny_bundle(tmp_path, latent_dim=4, atlas_size=30, faces=60)
    assert window.open_checkpoint(vae)
    window.chain.worker_threads = 1
    window.tabs.setCurrentIndex(window.chain_tab)
    qtbot.waitUntil(lambda: window.chain.latest_codes is not None, timeout=10000)
    assert window.open_checkpoint(checkpoints["pixelcnn"])
    assert window.session is not None and window.session.path == vae.resolve()  # the latent model stays
    pixels = window.pixels
    pixels.worker_threads = 1
    pixels.reset()
    pixels.speed_slider.setValue(SPEEDS.index(50))  # 50 sub-pixels/s: still drawing when the chain has moved
    window.chain.fast_check.setChecked(True)
    window.chain.pause_spin.setValue(0)  # play on (the tiny VAE opens on its family's measured pause step)
    window.chain.play()
    pixels.play()
    qtbot.waitUntil(lambda: window.chain.step_count >= 3 and pixels.done >= 3, timeout=10000)
    assert window.chain.is_playing and pixels.is_playing
    window.chain.pause()
    pixels.pause()


def test_the_model_picker_lists_the_bundled_models_when_first_shown(qtbot, monkeypatch, tmp_path):
    from latentlab.ui.pixels import controls

    scans = []
    bundled = tmp_path / "pixelcnn-demo.ckpt"
    monkeypatch.setattr(controls, "bundled_pixel_models", lambda: scans.append(1) or [bundled])
    picker = controls.ModelPicker()
    qtbot.addWidget(picker)
    assert scans == []  # nothing read while the window is built
    picker.show()
    qtbot.waitExposed(picker)
    assert len(scans) == 1
    assert "pixelcnn-demo (bundled)" in [picker.combo.itemText(i) for i in range(picker.combo.count())]
    picker.hide()
    picker.show()
    assert len(scans) == 1  # listed once; later changes come through set_current


def test_the_distribution_range_grows_at_once_and_shrinks_only_once_the_peaks_stay_low(qtbot, monkeypatch):
    from latentlab.ui.pixels import views

    plot = views.DistributionPlot()
    qtbot.addWidget(plot)
    now = [100.0]
    monkeypatch.setattr(views.time, "monotonic", lambda: now[0])
    axis_redraws = []
    plot.getPlotItem().getViewBox().sigYRangeChanged.connect(lambda *_: axis_redraws.append(now[0]))

    def show(peak: float) -> float:
        probs = np.full(256, (1 - peak) / 255)
        probs[7] = peak
        plot.set_distribution(probs, 7, "gray", "row 0")
        return plot.getPlotItem().getViewBox().viewRange()[1][1]

    assert show(0.9) >= 0.9                      # grown at once: no bar is cut off
    confident = len(axis_redraws)
    for step in range(20):                       # a row alternating confident and uncertain sub-pixels
        now[0] += 0.03
        assert show(0.05 if step % 2 else 0.8) >= 0.8
    assert len(axis_redraws) == confident        # ...moves the axis not once
    for _ in range(40):                          # uncertain for over a second: then it shrinks
        now[0] += 0.03
        top = show(0.05)
    assert 0.05 <= top < 0.1
    assert show(0.6) >= 0.6                       # and grows again at once
