"""The training panel driven like a user: start, watch progress, pause, resume, cancel, fail, start again."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")

import latentlab
from latentlab.ui.train.panel import TrainingPanel

TINY = dict(latent=4, batch=8, limit=256, eval_limit=16, preview_every=4, checkpoint_every=1000,
            model_config={"base_channels": 8})


@pytest.fixture
def panel(qtbot, isolated_cache):
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    assert widget.shutdown(timeout=20)


def points(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def click(qtbot, button):
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_form_defaults(panel):
    form = panel.form
    assert form.dataset_spec() == "synthetic-faces" and form.size.value() == 64
    assert form.latent.value() == 32 and form.epochs.value() == 5 and form.limit.text() == "all"
    assert "runs" in form.output.text() and form.model.currentData() in form.output.text()
    assert [b.isEnabled() for b in (panel.start_button, panel.pause_button, panel.resume_button,
                                    panel.cancel_button)] == [True, False, False, False]
    panel.set_dataset_spec("idx:/data/mnist")
    assert form.size.value() == 28 and form.dataset.currentData() == "idx"
    assert form.model.itemData(0, Qt.ItemDataRole.ToolTipRole)  # model descriptions as tooltips


def test_start_pause_resume_cancel_gives_a_loadable_checkpoint(panel, qtbot, tmp_path):
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(epochs=50, out=tmp_path / "run", **TINY)
    trained, running = [], []
    panel.model_trained.connect(trained.append)
    panel.running_changed.connect(running.append)
    click(qtbot, panel.start_button)
    assert not panel.start_button.isEnabled() and panel.pause_button.isEnabled() and not panel.form.isEnabled()

    qtbot.waitUntil(lambda: panel.progress.value() >= 5 and points(panel.train_curve) >= 5,
                    timeout=15000)
    assert panel.progress.maximum() == 50 * 32 and "epoch" in panel.status_label.text()
    qtbot.waitUntil(lambda: len(panel.latent_scatter.data) > 0 and panel.samples_label.pixmap() is not None
                    and not panel.samples_label.pixmap().isNull(), timeout=10000)
    assert panel.latent_scatter.data.shape[0] == 16  # eval split of 16 images, encoded for the live map

    click(qtbot, panel.pause_button)
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    qtbot.waitUntil(lambda: panel._job.is_blocked, timeout=5000)
    qtbot.wait(100)  # let messages already sent arrive
    paused_at = panel.steps_done
    qtbot.wait(400)
    assert panel.steps_done == paused_at and panel.progress.value() == paused_at
    assert panel.phase_label.text() == "Paused"

    click(qtbot, panel.resume_button)
    qtbot.waitUntil(lambda: panel.steps_done >= paused_at + 3, timeout=10000)

    with qtbot.waitSignal(panel.model_trained, timeout=15000) as blocker:
        click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=15000)
    path = blocker.args[0]
    assert trained == [path] and running == [True, False] and "Saved to" in panel.saved_label.text()
    model = latentlab.load(path)
    assert model.latent_dim == 4 and model.image_shape == (3, 16, 16)
    assert model.checkpoint_meta["progress"]["step"] == panel.steps_done  # stopped exactly where it was
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled() and panel.form.isEnabled()
    assert not panel.error_label.isVisible()


def test_a_failing_run_shows_the_error_and_the_panel_can_start_again(panel, qtbot, tmp_path):
    panel.set_dataset_spec("folder:/nonexistent")
    panel.set_options(size=16, epochs=1, out=tmp_path / "bad", **TINY)
    with qtbot.waitSignal(panel.error_occurred, timeout=10000) as blocker:
        click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    assert "nonexistent" in blocker.args[0]
    assert panel.error_label.isVisible() and "nonexistent" in panel.error_label.text()
    assert panel.start_button.isEnabled()

    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(out=tmp_path / "good", max_steps=6)
    with qtbot.waitSignal(panel.model_trained, timeout=20000) as done:
        click(qtbot, panel.start_button)
    assert not panel.error_label.isVisible()
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    assert latentlab.load(done.args[0]).checkpoint_meta["progress"]["step"] == 6
    assert panel.progress.value() == 6 and points(panel.train_curve) == 6


def test_bad_settings_are_refused_before_any_work(panel, qtbot, tmp_path):
    (tmp_path / "taken").mkdir()
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(out=tmp_path / "taken", limit=1)
    errors = []
    panel.error_occurred.connect(errors.append)
    click(qtbot, panel.start_button)
    assert errors and "limit" in errors[0] and not panel.is_running and panel.error_label.isVisible()


def test_cancel_while_decoding_ends_quietly_and_shutdown_joins(panel, qtbot, tmp_path):
    panel.set_dataset_spec("synthetic-faces?size=32")
    panel.set_options(out=tmp_path / "run", **{**TINY, "limit": 20000})
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.phase_label.text().startswith("Decoding"), timeout=10000)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    assert not panel.error_label.isVisible() and "nothing to save" in panel.saved_label.text()
    assert not (tmp_path / "run" / "last.ckpt").exists()


def test_latent_map_flip_alignment(panel):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(50, 6)) * np.array([5, 3, 1, 1, 1, 1])
    from latentlab.analysis.projection import pca_projection
    first = panel._aligned(pca_projection(codes))
    second = panel._aligned(pca_projection(-codes))
    assert np.all(np.sum(first.axes * second.axes, axis=1) > 0)


def test_shutdown_mid_run_saves_a_resumable_checkpoint_and_sends_nothing_late(panel, qtbot, tmp_path):
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(epochs=50, out=tmp_path / "run", **TINY)
    trained = []
    panel.model_trained.connect(trained.append)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.steps_done >= 2, timeout=15000)
    assert panel.shutdown(timeout=20) and not panel.is_running and panel.start_button.isEnabled()
    qtbot.wait(50)
    assert trained == []  # the window is closing: no late signals
    assert latentlab.load(tmp_path / "run" / "last.ckpt").checkpoint_meta["progress"]["step"] >= 2


def test_picking_a_folder_dataset_asks_for_it_and_a_cancelled_dialog_keeps_the_old_one(panel, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    form = panel.form
    answers = iter(["/data/faces", ""])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: next(answers))
    folder = form.dataset.findData("folder")
    form.dataset.setCurrentIndex(folder)
    form.dataset.activated.emit(folder)
    assert form.dataset_spec() == "folder:/data/faces" and "folder:/data/faces" in form.dataset_label.text()
    celeba = form.dataset.findData("celeba")
    form.dataset.setCurrentIndex(celeba)
    form.dataset.activated.emit(celeba)  # dialog cancelled
    assert form.dataset_spec() == "folder:/data/faces" and form.dataset.currentData() == "folder"
    first = form.dataset.findData("synthetic-faces")
    form.dataset.setCurrentIndex(first)
    form.dataset.activated.emit(first)
    assert form.dataset_spec() == "synthetic-faces" and form.size.value() == 64


def test_the_form_offers_only_families_the_window_can_explore(qtbot):
    from latentlab.ui.train.form import WINDOW_FAMILIES, TrainingForm

    form = TrainingForm()
    qtbot.addWidget(form)
    offered = [form.model.itemData(i) for i in range(form.model.count())]
    assert offered and set(offered) <= set(WINDOW_FAMILIES) and form.model.currentData() == "vae"


def test_a_gan_trains_in_the_window_with_sample_previews_only(panel, qtbot, tmp_path):
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(model="gan", size=16, epochs=1, out=tmp_path / "gan", max_steps=8, **TINY)
    with qtbot.waitSignal(panel.model_trained, timeout=30000) as done:
        click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    assert not panel.error_label.isVisible()
    assert latentlab.load(done.args[0]).checkpoint_meta["model"] == "gan"
    assert panel.samples_label.pixmap() is not None and not panel.samples_label.pixmap().isNull()


def test_a_failed_save_offers_save_elsewhere_and_nothing_is_lost(panel, qtbot, tmp_path, monkeypatch):
    """Issue 12: a save that fails mid-run (here a full disk) used to lose the steps trained. The panel
    now says so in plain words and offers to save the model, still in memory, to another folder."""
    import errno

    import torch

    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):
        if str(tmp_path / "run") in str(f):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(epochs=1, out=tmp_path / "run", **{**TINY, "checkpoint_every": 3})
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=30000)
    assert panel.error_label.isVisible() and "no space left on device" in panel.error_label.text()
    assert panel.save_elsewhere_button.isVisible()
    with qtbot.waitSignal(panel.model_trained, timeout=10000) as blocker:
        saved = panel.save_elsewhere(tmp_path / "elsewhere")
    assert saved == tmp_path / "elsewhere" / "last.ckpt" and blocker.args[0] == str(saved)
    assert latentlab.load(saved) is not None and not panel.save_elsewhere_button.isVisible()


def test_unreadable_images_are_noted_in_the_panel(panel, qtbot, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        path = folder / f"p{i:02d}.png"
        if i == 4:
            path.write_bytes(b"broken")
        else:
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path)
    panel.set_dataset_spec(f"folder:{folder}?size=16")
    panel.set_options(epochs=1, out=tmp_path / "run", **TINY)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.notes_label.isVisible(), timeout=30000)
    assert "1 unreadable image left out of the train split: p04.png" in panel.notes_label.text()
    qtbot.waitUntil(lambda: not panel.is_running, timeout=30000)
    assert "p04.png" in (tmp_path / "run" / "skipped-images.txt").read_text()


def test_previews_are_tiled_and_scaled_off_the_gui_thread(panel, qtbot, tmp_path, monkeypatch):
    import threading

    from latentlab.ui.train import panel as panel_module
    from latentlab.ui.train.preview_images import PREVIEW_WIDTH

    threads = []
    real = panel_module.ready_preview

    def recording(preview):
        threads.append(threading.current_thread())
        return real(preview)

    monkeypatch.setattr(panel_module, "ready_preview", recording)
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(epochs=1, out=tmp_path / "run", max_steps=8, **TINY)
    with qtbot.waitSignal(panel.model_trained, timeout=30000):
        click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    for label in (panel.samples_label, panel.recon_label):
        assert label.pixmap() is not None and label.pixmap().width() == PREVIEW_WIDTH
    assert len(panel.latent_scatter.data) > 0


def test_live_plots_keep_still_axes_and_the_previews_have_room_from_the_start(panel, qtbot, tmp_path):
    """Repaints stay cheap while training (bench heartbeat): the loss plot spans all the run's steps
    from its first step, its y range moves only in jumps, the axes are cached, and the first preview
    fits the room the labels reserve, so it does not re-lay out the panel."""
    from PySide6.QtWidgets import QGraphicsItem

    sizes = {id(label): label.size() for label in (panel.samples_label, panel.recon_label)}
    plot_size = panel.loss_plot.size()
    panel.set_dataset_spec("synthetic-faces?size=16")
    panel.set_options(epochs=1, out=tmp_path / "run", max_steps=12, **TINY)
    with qtbot.waitSignal(panel.model_trained, timeout=30000):
        click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=10000)
    (x_low, x_high), (y_low, y_high) = panel.loss_plot.getPlotItem().getViewBox().viewRange()
    assert x_low <= 0 and x_high >= 12 and x_high < 12 * 1.1  # the whole run, not the steps so far
    _, losses = panel.train_curve.getData()
    assert y_low <= losses.min() and losses.max() <= y_high
    for plot in (panel.loss_plot, panel.latent_plot):
        assert plot.getPlotItem().getAxis("left").cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache
    for label in (panel.samples_label, panel.recon_label):
        assert label.pixmap().height() <= label.minimumHeight()
        assert label.size() == sizes[id(label)]
    assert panel.loss_plot.size() == plot_size


def test_reserved_preview_room_holds_grids_of_every_square_tile_size(qtbot):
    from latentlab.ui.train.preview_images import SAMPLE_COLUMNS, grid_image, reserved_height

    for side in (8, 16, 28, 64, 128):
        samples = np.zeros((16, 3, side, side), np.uint8)
        assert grid_image([samples], columns=SAMPLE_COLUMNS).height() <= reserved_height(2, SAMPLE_COLUMNS)
        assert grid_image([samples[:8], samples[8:]], columns=8).height() <= reserved_height(2, 8)
