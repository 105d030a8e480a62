"""The Nearest training faces dock, driven in the real main window with pytest-qt."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import open_main_window

from latentlab.explorer import ExplorerSession
from latentlab.resources import bundled_models


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_main_window(qtbot, tmp_path)
    win.nearest_dock.panel.held_out_faces = 20
    yield win
    win.shutdown()


def wait_for_report(qtbot, panel, check, timeout=60_000):
    qtbot.waitUntil(lambda: panel.report is not None and not panel.pending and check(panel.report), timeout=timeout)


def test_the_dock_searches_the_face_on_screen_only_once_shown(qtbot, window, tiny_checkpoint):
    panel = window.nearest_dock.panel
    assert window.open_checkpoint(tiny_checkpoint)
    qtbot.waitUntil(lambda: window.face_panel.current_image is not None, timeout=10_000)
    assert panel.report is None and panel.worker.rendered == 0 and not panel.preparing  # hidden: no work
    assert window.nearest_dock.toggle_action in window.menuBar().actions()[1].menu().actions()
    window.nearest_dock.toggle_action.trigger()  # View → Nearest training faces
    assert window.nearest_dock.isVisible()
    wait_for_report(qtbot, panel, lambda r: r.verdict is not None)
    report = panel.report
    # the start face is atlas face 0: its nearest code is itself, shown with its training image
    assert report.latent_indices[0] == 0 and report.latent_distances[0] == pytest.approx(0, abs=1e-5)
    np.testing.assert_array_equal(report.latent_originals[0], panel.nearest.faces.train[0])
    assert not panel.latent_rows.images[1][0].pixmap().isNull()
    assert panel.pixel_rows.captions[0][0].text() == "this face"
    assert panel.pixel_rows.captions[0][1].text().startswith(f"#{report.pixel_indices[0]} · ")
    assert "the typical held-out distance" in panel.verdict.text()
    assert "20 held-out reconstructions" in panel.status.text()

    window.map.point_clicked.emit("atlas", 7)  # a new face: the panel follows
    wait_for_report(qtbot, panel, lambda r: r.latent_indices[0] == 7)
    assert np.allclose(panel.report.z, window.session.atlas_codes[7])


def test_the_latest_face_wins_while_faces_change_fast(qtbot, window, tiny_checkpoint):
    panel = window.nearest_dock.panel
    window.nearest_dock.toggle_action.trigger()
    window.open_checkpoint(tiny_checkpoint)
    wait_for_report(qtbot, panel, lambda r: r.verdict is not None)
    for index in range(10, 30):
        window.map.point_clicked.emit("atlas", index)
    wait_for_report(qtbot, panel, lambda r: r.latent_indices[0] == 29)
    assert panel.worker.rendered < 22  # overwritten requests were never computed


def test_missing_training_images_are_explained_and_latent_neighbours_still_shown(qtbot, window, tiny_checkpoint,
                                                                              tmp_path):
    panel = window.nearest_dock.panel
    window.nearest_dock.toggle_action.trigger()
    loaded = ExplorerSession.from_checkpoint(tiny_checkpoint)
    gone = f"folder:{tmp_path}/moved-away"
    meta = {**loaded.meta, "dataset": {"spec": gone}, "atlas": {**loaded.meta["atlas"], "data": gone}}
    window.set_session(ExplorerSession(loaded.model, tiny_checkpoint, meta, atlas_codes=loaded.atlas_codes,
                                       atlas_std=loaded.atlas_std))
    wait_for_report(qtbot, panel, lambda r: r.notes and "showing decodes only" in r.notes[0])
    assert "training images not on disk" in panel.status.text() and "moved-away" in panel.status.text()
    assert panel.report.latent_indices[0] == 0 and not panel.latent_rows.images[0][0].pixmap().isNull()
    assert panel.latent_rows.images[1][0].text() == "not on disk"
    assert panel.pixel_rows.images[0][0].text() == "not on disk" and panel.verdict.text() == ""


def _bundled(name: str):
    path = next((p for p in bundled_models() if p.stem == name), None)
    if path is None:
        pytest.skip(f"{name} is not bundled")
    return path


@pytest.mark.slow
def test_a_bundled_celeba_model_with_its_data_on_disk(qtbot, window, shared_data):
    """The default VAE: 9,000 CelebA training faces searched, a reference of held-out reconstructions;
    a decoded prior sample is not a copy, the training image shown as the face is."""
    panel = window.nearest_dock.panel
    window.nearest_dock.toggle_action.trigger()
    window.open_checkpoint(_bundled("vae-celeba"))
    wait_for_report(qtbot, panel, lambda r: r.verdict is not None, timeout=600_000)
    assert panel.nearest.faces.train.shape == (9000, 3, 64, 64)
    assert panel.nearest.reference.what == "held-out reconstructions"
    np.testing.assert_array_equal(panel.report.latent_originals[0], panel.nearest.faces.train[0])
    window.face_panel.random_requested.emit()  # a prior sample
    wait_for_report(qtbot, panel, lambda r: r.latent_distances[0] > 0.5, timeout=120_000)
    assert not panel.report.copy
    report = panel.nearest.report(window.current_z, panel.nearest.faces.train[123])  # a planted copy
    assert report.pixel_indices[0] == 123 and report.copy and report.verdict.endswith("possible copy")
    # the Chain tab's job measures its own reference on a 64x64 model: on a loaded machine that outlasts
    # the fixture's wait, so wait for it here
    assert window.chain.shutdown(timeout=600)
