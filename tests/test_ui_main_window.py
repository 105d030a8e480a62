"""The main window, driven through its real widgets with pytest-qt."""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest
import torch
from conftest import open_main_window
from PySide6.QtCore import Qt

from latentlab.checkpoints import save_model
from latentlab.models import build_model
from latentlab.ui.widgets.face_panel import PREVIEW_SIDE
from latentlab.ui.widgets.imaging import to_pixmap


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_main_window(qtbot, tmp_path)
    yield win
    win.shutdown()


def wait_for_face(qtbot, window, since: float) -> None:
    qtbot.waitUntil(lambda: window.face_panel.last_shown_at > since, timeout=5000)


def test_loading_a_checkpoint_fills_map_face_and_recent_list(qtbot, window, tiny_checkpoint):
    assert window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    assert len(window.map.atlas.data) == 60 and len(window.map.prior.data) == 500
    assert window.face_panel.current_image.shape == (3, 16, 16)
    assert window.recent_files()[0].endswith("tiny.ckpt")
    assert window.colour_combo.count() > 1  # synthetic faces carry factor labels
    assert "VAE" in window.model_info.text()


def test_the_train_tab_and_pixels_dock_are_built_when_first_shown_not_at_launch(qtbot, window, tiny_checkpoint):
    from latentlab.ui.pixels.panel import PixelPanel
    from latentlab.ui.train.panel import TrainingPanel

    assert window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    assert not window._training_area.built and not window._pixel_area.built  # nothing on screen needs them
    window.tabs.setCurrentIndex(window.tabs.count() - 1)  # Train
    qtbot.waitUntil(lambda: window._training_area.built, timeout=2000)
    panel = window._training_area.widget()
    assert isinstance(panel, TrainingPanel) and panel.isVisible() and window.training is panel
    panel.error_occurred.emit("the folder holds no images")  # its signals reach the window
    assert "no images" in window.banner.message
    window.pixel_dock_action.trigger()  # View → Pixels
    qtbot.waitUntil(lambda: window._pixel_area.built, timeout=2000)
    assert isinstance(window._pixel_area.widget(), PixelPanel) and window.pixels.isVisible()


def test_a_window_closed_before_its_lazy_panels_were_shown_does_not_build_them(qtbot, tmp_path):
    win = open_main_window(qtbot, tmp_path)
    win.shutdown()
    assert not win._training_area.built and not win._pixel_area.built


def test_moving_the_handle_changes_the_decoded_face_and_keeps_off_plane_components(qtbot, window, tiny_checkpoint):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    before_image = window.face_panel.current_image.copy()
    before_z = window.current_z.copy()
    shown = window.face_panel.last_shown_at
    x, y = window.map.handle_position()
    window.map.handle.setPos(x + 3.0, y - 2.0)  # what a mouse drag does to the TargetItem
    wait_for_face(qtbot, window, shown)
    assert not np.array_equal(window.face_panel.current_image, before_image)
    projection = window.projection
    assert np.allclose(projection.project(window.current_z), [x + 3.0, y - 2.0], atol=1e-4)
    off = lambda z: z - projection.project(z) @ projection.axes
    assert np.allclose(off(window.current_z.astype(float)), off(before_z.astype(float)), atol=1e-4)


def test_clicking_a_point_jumps_to_it_and_hover_previews_it(qtbot, window, tiny_checkpoint):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    window.map.point_clicked.emit("atlas", 7)
    assert np.allclose(window.current_z, window.session.atlas_codes[7])
    window.map.point_hovered.emit("prior", 3)
    qtbot.waitUntil(lambda: "prior sample #3" in window.face_panel.hover_caption.text(), timeout=5000)
    assert not window.face_panel.hover_decoded.pixmap().isNull()


def test_interpolating_between_two_picked_faces_draws_the_path(qtbot, window, tiny_checkpoint):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    window.map.point_clicked.emit("atlas", 1)
    qtbot.mouseClick(window.face_panel.a_button, qtbot_button())
    window.map.point_clicked.emit("atlas", 2)
    qtbot.mouseClick(window.face_panel.b_button, qtbot_button())
    path = window.interpolation.path()
    assert path is not None and len(path) == window.interpolation.steps
    assert len(window.map.path.xData) == len(path)
    window.axes_combo.setCurrentIndex(1)
    window.axes_combo.activated.emit(1)  # custom axes A → B
    assert window.projection.labels[0] == "A → B"
    xy = window.projection.project(path)
    assert np.allclose(xy[[0, -1], 1], 0.0, atol=1e-4) and xy[-1, 0] > xy[0, 0] == pytest.approx(0.0, abs=1e-4)


def test_exports_write_files(qtbot, window, tiny_checkpoint, tmp_path):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    assert window.export_face(tmp_path / "face.png").stat().st_size > 0
    assert window.export_map(tmp_path / "map.png").stat().st_size > 0
    window.export_codes(tmp_path / "codes.npz")
    archive = np.load(tmp_path / "codes.npz")
    assert archive["codes"].shape == (60, 6) and archive["coords"].shape == (60, 2)
    window.export_codes(tmp_path / "codes.csv")
    assert (tmp_path / "codes.csv").read_text().splitlines()[0].startswith("z0,")


def test_a_bad_file_shows_a_message_and_the_app_goes_on(qtbot, window, tiny_checkpoint, tmp_path):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    assert not window.open_checkpoint(bad)
    assert window.banner.isVisible() and "broken.ckpt" in window.banner.message
    assert window.session.path == tiny_checkpoint.resolve()  # the loaded model is untouched
    shown = window.face_panel.last_shown_at
    window.map.handle.setPos(1.0, 1.0)
    wait_for_face(qtbot, window, shown)  # still decoding


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_dropping_a_checkpoint_opens_it_and_the_recent_menu_lists_it(qtbot, window, tiny_checkpoint):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tiny_checkpoint))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    wait_for_face(qtbot, window, 0.0)
    assert window.session is not None and window.session.path == tiny_checkpoint.resolve()
    actions = [a.text() for a in window.recent_menu.actions()]
    assert actions and actions[0].endswith("tiny.ckpt")
    window.session = None
    window.recent_menu.actions()[0].trigger()  # reopening from the recent list (on a worker thread)
    qtbot.waitUntil(lambda: window.session is not None, timeout=20000)


def test_switching_to_a_model_with_another_latent_size(qtbot, window, tiny_checkpoint, tmp_path):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    torch.manual_seed(1)
    other = build_model("ae", {"image_shape": [1, 28, 28], "latent_dim": 2, "base_channels": 8}).eval()
    save_model(tmp_path / "other.ckpt", other)
    shown = window.face_panel.last_shown_at
    assert window.open_checkpoint(tmp_path / "other.ckpt")
    wait_for_face(qtbot, window, shown)
    assert window.current_z.shape == (2,) and window.face_panel.current_image.shape == (1, 28, 28)
    assert window.projection.labels == ("z1", "z2")  # a 2-D latent is shown as it is
    assert len(window.map.atlas.data) == 0 and len(window.map.prior.data) == 500  # no atlas: prior only
    window.map.handle.setPos(0.5, -0.5)
    qtbot.waitUntil(lambda: np.allclose(window.current_z, [0.5, -0.5], atol=1e-5))


def test_chain_tab_steps_with_the_keyboard_and_draws_trails_on_the_map(qtbot, window, tiny_checkpoint):
    from PySide6.QtCore import Qt

    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    window.tabs.setCurrentIndex(window.chain_tab)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.chain.step_count == 0 and window.chain.latest_codes is not None, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.chain.step_count == 1, timeout=10000)
    qtbot.waitUntil(lambda: window.map.trails.xData is not None and len(window.map.trails.xData) > 0, timeout=5000)
    n_chains = len(window.chain.latest_codes)
    assert len(window.map.trail_heads.data) == n_chains
    window.axes_combo.setCurrentIndex(2)
    window.axes_combo.activated.emit(2)  # trails survive a change of axes
    assert len(window.map.trail_heads.data) == n_chains
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.chain.step_count == 0, timeout=10000)


@pytest.mark.parametrize("family", ["gan", "aae"])
def test_adversarial_models_open_map_and_drag(qtbot, window, tmp_path, family):
    from latentlab.bundle import bundle
    from latentlab.data import load_dataset

    torch.manual_seed(0)
    model = build_model(family, {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8}).eval()
    dataset = load_dataset("synthetic-faces?size=16&n=100", split="train", limit=30)
    save_model(tmp_path / "raw.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)
    path = bundle(tmp_path / "raw.ckpt", tmp_path / f"{family}.ckpt", atlas_size=30)
    assert window.open_checkpoint(path)
    wait_for_face(qtbot, window, 0.0)
    has_atlas = family != "gan"
    assert (len(window.map.atlas.data) == 30) == has_atlas and len(window.map.prior.data) == 500
    assert window.gaps_box.isEnabled() == has_atlas
    assert window.chain.isEnabled() or not has_atlas  # the chain applies to models with an encoder
    if not has_atlas:
        assert not window.chain.play_button.isEnabled() and "no encoder" in window.chain.note_label.text()
    shown = window.face_panel.last_shown_at
    x, y = window.map.handle_position()
    window.map.handle.setPos(x + 1.0, y)
    wait_for_face(qtbot, window, shown)


def test_chain_trails_show_only_with_the_chain_tab(qtbot, window, tiny_checkpoint):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    assert window.chain.latest_codes is None  # the Chain tab was never shown: no chain set up yet
    window.tabs.setCurrentIndex(window.chain_tab)
    qtbot.waitUntil(lambda: window.chain.latest_codes is not None, timeout=10000)
    window.tabs.setCurrentIndex(0)
    window._trails_changed(np.zeros((3, 2, window.session.latent_dim), np.float32))
    assert len(window.map.trail_heads.data) == 0  # Interpolate tab: no trails
    window.tabs.setCurrentIndex(window.chain_tab)
    assert len(window.map.trail_heads.data) == 3
    window.tabs.setCurrentIndex(0)
    assert len(window.map.trail_heads.data) == 0


def test_random_from_p_hat_jumps_to_a_draw_of_the_fitted_density(qtbot, window, tiny_checkpoint):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    button = window.face_panel.p_hat_button
    assert button.text() == "Random from P̂(Z)" and button.isEnabled() and "P̂(Z)" in button.toolTip()
    for _ in range(2):   # the first click may fit the density on a worker; the second draws at once
        shown = window.face_panel.last_shown_at
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        wait_for_face(qtbot, window, shown)
        qtbot.waitUntil(lambda: "P̂(Z) sample (seed" in window.face_panel.caption.text(), timeout=10000)
    seed = int(window.face_panel.caption.text().split("seed ")[1].split(")")[0])
    np.testing.assert_allclose(window.current_z, window.session.p_hat_draws(1, seed)[0], rtol=1e-6)


def test_random_from_p_hat_is_disabled_with_the_reason_for_a_gan(qtbot, window, tmp_path):
    from latentlab.bundle import bundle
    from latentlab.data import load_dataset

    torch.manual_seed(0)
    model = build_model("gan", {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8}).eval()
    dataset = load_dataset("synthetic-faces?size=16&n=100", split="train", limit=30)
    save_model(tmp_path / "raw.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)
    assert window.open_checkpoint(bundle(tmp_path / "raw.ckpt", tmp_path / "gan.ckpt", atlas_size=30))
    wait_for_face(qtbot, window, 0.0)
    button = window.face_panel.p_hat_button
    assert button.isVisible() and not button.isEnabled() and window.face_panel.random_button.isEnabled()
    assert "no atlas" in button.toolTip() and "no encoder" in button.toolTip()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_fifo_named_like_a_checkpoint_neither_freezes_nor_breaks_the_window(qtbot, window, tiny_checkpoint,
                                                                               tmp_path):
    """Issue 12: a FIFO named x.ckpt used to block the GUI thread for ever. Only regular files are
    opened now, and the menu / drop / recent-list path opens on a worker thread."""
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    fifo = tmp_path / "x.ckpt"
    os.mkfifo(fifo)
    assert not window.open_checkpoint(fifo)  # the direct call returns at once
    assert "x.ckpt: not a regular file (a named pipe)" in window.banner.message
    window.banner.hide()
    window.request_open(fifo)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    assert "x.ckpt: not a regular file" in window.banner.message
    assert window.session.path == tiny_checkpoint.resolve()


def test_opening_from_the_menu_path_runs_off_the_gui_thread_and_shows_the_latest(qtbot, window, tiny_checkpoint,
                                                                                 tmp_path, checkpoint_reader_threads):
    import shutil
    import threading

    second = tmp_path / "second.ckpt"
    shutil.copy(tiny_checkpoint, second)
    window.request_open(tiny_checkpoint)
    window.request_open(second)  # the later request wins, whichever read finishes first
    qtbot.waitUntil(lambda: window.session is not None and window.session.path == second.resolve(), timeout=20000)
    assert checkpoint_reader_threads and threading.get_ident() not in checkpoint_reader_threads


def test_nan_weights_are_refused_with_the_tensor_named_and_the_model_kept(qtbot, window, tiny_checkpoint, tmp_path):
    """Issue 12: NaN weights used to load without a word and show a black face."""
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    model = build_model("vae", {"image_shape": [3, 16, 16], "latent_dim": 6, "base_channels": 8})
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    bad = save_model(tmp_path / "nan.ckpt", model)
    window.request_open(bad)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    assert "nan.ckpt: tensor " in window.banner.message and "NaN or infinite" in window.banner.message
    assert window.session.path == tiny_checkpoint.resolve()


def record_threads(function, calls: list):
    """`function`, noting the thread of every call in `calls`."""

    def recorded(*args, **kwargs):
        calls.append(threading.current_thread())
        return function(*args, **kwargs)

    return recorded


def test_the_hover_preview_is_decoded_off_the_gui_thread(qtbot, window, tiny_checkpoint, monkeypatch):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    session, decodes = window.session, []
    monkeypatch.setattr(session, "decode", record_threads(session.decode, decodes))
    window.map.point_hovered.emit("atlas", 5)
    qtbot.waitUntil(lambda: "training face #5" in window.face_panel.hover_caption.text(), timeout=5000)
    assert decodes and threading.main_thread() not in decodes  # decoded on a worker, never on the GUI thread
    shown = window.face_panel.hover_decoded.pixmap().toImage()
    expected = to_pixmap(session.decode(session.atlas_codes[5][None])[0], PREVIEW_SIDE).toImage()
    assert shown == expected  # what the preview showed when it was decoded on the GUI thread


def test_a_hover_preview_decoded_after_the_pointer_left_is_not_shown(qtbot, window, tiny_checkpoint, monkeypatch):
    window.open_checkpoint(tiny_checkpoint)
    wait_for_face(qtbot, window, 0.0)
    session, release, started = window.session, threading.Event(), threading.Event()
    decode = session.decode

    def slow_decode(z):
        started.set()
        release.wait(5)
        return decode(z)

    monkeypatch.setattr(session, "decode", slow_decode)
    window.map.point_hovered.emit("prior", 2)
    assert started.wait(5) and window.hover_pending
    window.map.point_hovered.emit("prior", -1)  # the pointer left the points while it was decoded
    release.set()
    qtbot.waitUntil(lambda: window.hover_decoder.rendered >= 1, timeout=5000)
    qtbot.wait(100)
    assert window.face_panel.hover_caption.text() == "Hover a point on the map" and not window.hover_pending
    assert window.face_panel.hover_decoded.pixmap().isNull()


def test_the_gap_map_is_fitted_off_the_gui_thread_and_appears_with_its_legend(qtbot, window, tiny_checkpoint,
                                                                             monkeypatch):
    import latentlab.ui.main_window as main_window
    from latentlab.explorer.map_layers import gap_layer
    from latentlab.ui.widgets.latent_map import GAP_CLIP

    fits = []
    monkeypatch.setattr(main_window, "gap_layer", record_threads(gap_layer, fits))
    window.open_checkpoint(tiny_checkpoint)
    qtbot.waitUntil(lambda: window.map.gap_map_shown, timeout=10000)
    assert len(fits) == 1 and threading.main_thread() not in fits and not window.gap_map_pending
    legend = [label.text for _, label in window.map.legend.items]
    assert legend[-2:] == ["gaps: P(Z) > P̂(Z) on this plane", "P̂(Z) > P(Z)"]  # after the point layers
    session, projection = window.session, window.projection
    atlas_xy, prior_xy = projection.project(session.atlas_codes), projection.project(window.prior_codes)
    _, _, values = gap_layer(session, projection, atlas_xy, prior_xy)  # as the GUI thread used to compute it
    np.testing.assert_array_equal(window.map.gap_image.image, np.clip(values, -GAP_CLIP, GAP_CLIP).T)

    window.colour_combo.setCurrentIndex(1)
    window.colour_combo.activated.emit(1)  # new colours, same axes: the gap map stays, not fitted again
    assert window.map.gap_map_shown and len(fits) == 1
    window.gaps_box.setChecked(False)
    assert not window.map.gap_map_shown and "P̂(Z) > P(Z)" not in [label.text for _, label in window.map.legend.items]
    window.gaps_box.setChecked(True)
    assert window.map.gap_map_shown and len(fits) == 1

    window.axes_combo.setCurrentIndex(2)
    window.axes_combo.activated.emit(2)  # new axes: the old map goes at once, the new one follows from the worker
    assert not window.map.gap_map_shown and window.gap_map_pending
    qtbot.waitUntil(lambda: window.map.gap_map_shown, timeout=10000)
    assert len(fits) == 2 and threading.main_thread() not in fits


def test_switching_models_many_times_keeps_only_the_shown_model_alive(qtbot, window, tiny_checkpoint, tmp_path):
    """Nothing holds on to a replaced model (the soak's RSS creep across switches is the allocator's,
    not a leak): after six switches between two models with the chain playing, one session lives."""
    import gc

    from latentlab.explorer.session import ExplorerSession

    torch.manual_seed(1)
    other = build_model("ae", {"image_shape": [1, 28, 28], "latent_dim": 2, "base_channels": 8}).eval()
    save_model(tmp_path / "other.ckpt", other)
    del other
    window.tabs.setCurrentIndex(window.chain_tab)
    for i in range(6):
        shown = window.face_panel.last_shown_at
        assert window.open_checkpoint(tiny_checkpoint if i % 2 == 0 else tmp_path / "other.ckpt")
        wait_for_face(qtbot, window, shown)
        window.chain.play()
        qtbot.waitUntil(lambda: window.chain.step_count >= 1, timeout=10000)
    window.chain.pause()
    qtbot.wait(300)
    gc.collect()
    with warnings.catch_warnings():  # the scan touches torch.distributed's deprecated aliases (FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        alive = [o for o in gc.get_objects() if isinstance(o, ExplorerSession)]
        models = sum(isinstance(o, torch.nn.Module) and hasattr(o, "registry_name") for o in gc.get_objects())
    assert alive == [window.session]
    assert models == 1
