"""The Compare window driven through pytest-qt with tiny real models (16x16 RGB): a VAE and a WAE with
6-D latents, a GAN with a 6-D latent (no encoder) and a VAE with a 4-D latent (refused)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings, Qt

from latentlab.bundle import bundle
from latentlab.checkpoints import save_model
from latentlab.data import load_dataset
from latentlab.explorer.compare_decodes import draw_codes
from latentlab.export import LABEL_BAND
from latentlab.models import build_model
from latentlab.sampling import interpolate
from latentlab.ui.compare.window import DEFAULT_SAMPLES, EXPORT_SCALE, CompareWindow, show_compare_window

LATENT = 6
SIDE = 16


def _bundled(folder, name: str, family: str, latent_dim: int, seed: int) -> str:
    torch.manual_seed(seed)
    model = build_model(family, {"image_shape": [3, SIDE, SIDE], "latent_dim": latent_dim, "base_channels": 8}).eval()
    dataset = load_dataset(f"synthetic-faces?size={SIDE}&n=100", split="train", limit=30)
    save_model(folder / f"raw-{name}.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)
    return str(bundle(folder / f"raw-{name}.ckpt", folder / f"{name}.ckpt", atlas_size=30))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {"vae": _bundled(folder, "vae", "vae", LATENT, 0), "wae": _bundled(folder, "wae", "wae", LATENT, 1),
            "gan": _bundled(folder, "gan", "gan", LATENT, 2), "small": _bundled(folder, "small", "vae", 4, 3)}


@pytest.fixture
def window(qtbot):
    win = CompareWindow()
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    yield win
    win.shutdown()


def wait_ready(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.maps_ready() and window.decodes_ready(), timeout=30000)


@pytest.fixture
def pair(qtbot, window, models):
    """The window comparing the VAE and the WAE, maps drawn and samples decoded."""
    assert window.add_model(models["vae"]) and window.add_model(models["wae"])
    wait_ready(qtbot, window)
    return window


def test_two_models_show_two_maps_and_two_rows_of_decodes(pair):
    columns = list(pair.columns.values())
    assert [c.name for c in columns] == ["vae", "wae"]
    for column in columns:
        assert len(column.map.atlas.data) == 30 and len(column.map.prior.data) == 500
        assert column.map.gap_image.isVisible()
        assert column.images.shape == (DEFAULT_SAMPLES, 3, SIDE, SIDE)
        assert len(column.marks.points.data) == DEFAULT_SAMPLES
        assert column.current_image is not None  # sample #1 shown large
    assert pair.chooser.is_checked(columns[0].session.path) and pair.chooser.is_checked(columns[1].session.path)


def test_every_model_decodes_the_same_codes(qtbot, pair, monkeypatch):
    seen: dict[str, list[np.ndarray]] = {}
    for key, column in pair.columns.items():
        decode = column.session.decode
        monkeypatch.setattr(column.session, "decode",
                            lambda z, key=key, decode=decode: seen.setdefault(key, []).append(np.array(z)) or decode(z))
    pair.seed_spin.setValue(5)
    wait_ready(qtbot, pair)
    codes = pair.sample_codes
    assert np.array_equal(codes, draw_codes(DEFAULT_SAMPLES, LATENT, 5))
    first, second = (seen[key] for key in pair.columns)
    assert len(first) == len(second) == 1 and np.array_equal(first[0], second[0])
    assert np.array_equal(first[0], codes)
    vae, wae = pair.columns.values()
    # What each column shows is its own model's decode of those codes, and the models differ.
    for column in (vae, wae):
        assert np.array_equal(column.images, column.session.decode(codes))
    assert not np.array_equal(vae.images, wae.images)
    # The main window's "prior sample (seed s)" draws the same codes.
    assert np.array_equal(codes, vae.session.prior_samples(DEFAULT_SAMPLES, seed=5))


def test_new_samples_and_a_new_seed_change_the_codes(qtbot, pair):
    before_codes, before_images = pair.sample_codes.copy(), pair.columns[next(iter(pair.columns))].images.copy()
    before_marks = [c.marks.points.data["x"].copy() for c in pair.columns.values()]
    pair.seed_spin.setValue(11)
    wait_ready(qtbot, pair)
    assert not np.array_equal(pair.sample_codes, before_codes)
    assert not np.array_equal(next(iter(pair.columns.values())).images, before_images)
    assert all(not np.array_equal(c.marks.points.data["x"], x) for c, x in zip(pair.columns.values(), before_marks))
    seeded = pair.sample_codes.copy()
    pair.new_button.click()
    wait_ready(qtbot, pair)
    assert pair.seed_spin.value() != 11
    assert np.array_equal(pair.sample_codes, draw_codes(DEFAULT_SAMPLES, LATENT, pair.seed_spin.value()))
    assert not np.array_equal(pair.sample_codes, seeded)
    pair.count_spin.setValue(5)
    wait_ready(qtbot, pair)
    assert all(c.images.shape[0] == 5 for c in pair.columns.values())


def test_clicking_a_sample_shows_it_large_in_every_column(qtbot, pair):
    next(iter(pair.columns.values())).tiles.tile_clicked.emit(3)
    for column in pair.columns.values():
        assert np.array_equal(column.current_image, column.images[3])
        assert np.allclose(column.map.handle_position(), column.projection.project(pair.sample_codes[3]), atol=1e-5)
        assert "sample #4" in column.caption.text()


def test_the_path_slider_moves_both_handles_and_faces(qtbot, pair):
    pair.set_mode("path")
    wait_ready(qtbot, pair)
    path = pair.path_codes()
    assert path.shape == (10, LATENT)
    assert np.allclose(path[0], pair.sample_codes[0]) and np.allclose(path[-1], pair.sample_codes[1])
    columns = list(pair.columns.values())
    for column in columns:
        assert np.array_equal(column.images, column.session.decode(path))
        assert len(column.map.path.xData) == 10
    before = [c.map.handle_position() for c in columns]
    pair.slider.setValue(700)
    z = interpolate(pair.sample_codes[0], pair.sample_codes[1], 0.7, "slerp").astype(np.float32)
    qtbot.waitUntil(lambda: all(c.current_image is not None and np.array_equal(c.current_image, c.session.decode(z)[0])
                                for c in columns), timeout=10000)
    for column, old in zip(columns, before):
        assert column.map.handle_position() != old
        assert np.allclose(column.map.handle_position(), column.projection.project(z), atol=1e-4)
        assert "t = 0.70" in column.caption.text()
        assert len(column.marks.points.data) == 2  # the path's ends, A and B
    columns[1].mark_clicked.emit(1)  # clicking B's star walks to the end
    assert pair.slider.value() == pair.slider.maximum()


def test_dragging_one_handle_decodes_the_dragged_code_with_every_model(qtbot, pair):
    vae, wae = pair.columns.values()
    x, y = vae.map.handle_position()
    vae.map.handle.setPos(x + 1.5, y - 0.5)  # what a mouse drag does to the TargetItem
    z = vae.projection.lift(np.array([x + 1.5, y - 0.5]), pair.sample_codes[0])
    qtbot.waitUntil(lambda: wae.current_image is not None and np.array_equal(wae.current_image, wae.session.decode(z)[0]),
                    timeout=10000)
    assert np.allclose(wae.map.handle_position(), wae.projection.project(z), atol=1e-4)
    assert "dragged on vae's map" in wae.caption.text()


def test_a_model_with_another_latent_size_is_refused_with_a_message(qtbot, pair, models):
    assert not pair.add_model(models["small"])
    assert len(pair.columns) == 2
    assert "latent space has 4 dimensions" in pair.banner.message and "small.ckpt" in pair.banner.message
    small_key = next(k for k in pair.sessions if k.endswith("small.ckpt"))
    assert not pair.chooser.is_checked(small_key) and "4 dimensions" in pair.chooser.note(small_key)
    for key in list(pair.columns):
        pair.remove_model(key)
    assert pair.chooser.note(small_key) == ""  # nothing to clash with any more
    assert pair.add_model(models["small"])
    wait_ready(qtbot, pair)
    assert pair.sample_codes.shape == (DEFAULT_SAMPLES, 4)


def test_the_chain_runs_only_for_models_with_an_encoder(qtbot, window, models):
    assert window.add_model(models["gan"])
    wait_ready(qtbot, window)
    assert not window.chain_box.isEnabled() and "encoder" in window.chain_note.text()
    assert len(window.columns[next(iter(window.columns))].map.atlas.data) == 0  # prior samples only
    assert window.add_model(models["vae"])
    wait_ready(qtbot, window)
    assert window.chain_box.isEnabled() and "gan" in window.chain_note.text()
    window.chain_spin.setValue(3)
    window.chain_box.setChecked(True)
    wait_ready(qtbot, window)
    gan, vae = window.columns.values()
    assert "no encoder" in gan.note.text() and gan.decodes.trails is None
    assert np.array_equal(gan.images, gan.session.decode(window.sample_codes))
    assert vae.decodes.trails.shape == (DEFAULT_SAMPLES, 4, LATENT) and "after 3 chain steps" in vae.note.text()
    assert np.array_equal(vae.decodes.trails[:, 0], window.sample_codes)
    assert not np.array_equal(vae.images, vae.session.decode(window.sample_codes))
    assert len(vae.map.trail_heads.data) == DEFAULT_SAMPLES


def test_export_writes_a_png_of_the_expected_size(qtbot, pair, tmp_path):
    written = pair.export_png(tmp_path / "comparison.png")
    rows, tile = 2, SIDE
    width = EXPORT_SCALE * (DEFAULT_SAMPLES * (tile + 2) + 2)
    height = rows * (LABEL_BAND + EXPORT_SCALE * (tile + 4)) + (rows - 1) * 6 * EXPORT_SCALE
    with Image.open(written) as image:
        assert image.size == (width, height)
    pair.set_mode("path")
    wait_ready(qtbot, pair)
    with Image.open(pair.export_png(tmp_path / "path.png")) as image:
        assert image.width == EXPORT_SCALE * (10 * (tile + 2) + 2)


def test_export_before_any_decode_explains(window, tmp_path):
    assert window.export_png(tmp_path / "nothing.png") is None
    assert "Nothing to save" in window.banner.message and not (tmp_path / "nothing.png").exists()


def test_the_main_window_opens_it_on_its_current_model(qtbot, tmp_path, models):
    from latentlab.ui.main_window import MainWindow

    main = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    main.show()
    try:
        assert main.open_checkpoint(models["vae"])
        action = next(a for menu in main.menuBar().actions() for a in menu.menu().actions()
                      if a.text().startswith("&Compare"))
        action.trigger()
        compare = next(w for w in main.findChildren(CompareWindow) if w.isVisible())
        assert list(compare.columns) == [models["vae"]]  # the bundled models have 64-D latents: not ticked
        assert show_compare_window(main) is compare  # a second trigger raises the same window
        wait_ready(qtbot, compare)
        main.close()
        assert not compare.isVisible() and not compare.grid_worker.alive
    finally:
        main.shutdown()


def test_each_model_can_decode_draws_of_its_own_p_hat(qtbot, pair, models):
    """Codes = "draws of each model's own P̂(Z)": every model decodes N seeded draws of its own fitted
    density (different codes per model), marked on its own map; the same seed repeats them."""
    from latentlab.ui.compare.window import SOURCES

    window = pair
    index = window.source_combo.findData("p_hat")
    assert window.source_combo.itemText(index) == dict(SOURCES)["p_hat"]
    assert window.source_combo.model().item(index).isEnabled()
    window.seed_spin.setValue(5)
    wait_ready(qtbot, window)
    window.source_combo.setCurrentIndex(index)
    qtbot.waitUntil(lambda: window.decodes_ready() and all(c.decodes.codes is not None
                                                           for c in window.columns.values()), timeout=30000)
    vae, wae = (window.columns[str(Path(models[k]).resolve())] for k in ("vae", "wae"))
    n = window.count_spin.value()
    for column in (vae, wae):
        expected = column.session.p_hat_draws(n, seed=5)
        np.testing.assert_allclose(column.decodes.codes, expected, rtol=1e-6)
        np.testing.assert_array_equal(column.decodes.images, column.session.decode(expected))
        assert "own P̂(Z), seed 5" in column.note.text()
        assert len(column.marks.points.data) == n
    assert not np.allclose(vae.decodes.codes, wae.decodes.codes)   # each model's own density
    window._sample_clicked(2)
    qtbot.waitUntil(lambda: "sample #3" in vae.caption.text(), timeout=5000)
    np.testing.assert_array_equal(vae.current_image, vae.decodes.images[2])


def test_without_any_atlas_the_p_hat_option_is_disabled_with_the_reason(qtbot, window, models):
    assert window.add_model(models["gan"])
    wait_ready(qtbot, window)
    index = window.source_combo.findData("p_hat")
    assert window.source_combo.isVisible() and not window.source_combo.model().item(index).isEnabled()
    tip = window.source_combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "no compared model carries an atlas" in tip and "no encoder" in tip
    window.source_combo.setCurrentIndex(index)   # even if chosen, a disabled option draws prior codes
    assert window.codes_source == "prior"
    assert window.add_model(models["vae"])       # a model with an atlas joins: the option comes back
    assert window.source_combo.model().item(index).isEnabled()
    window.source_combo.setCurrentIndex(index)
    qtbot.waitUntil(lambda: window.decodes_ready() and any(c.decodes.codes is not None
                                                           for c in window.columns.values()), timeout=30000)
    gan = next(c for c in window.columns.values() if c.session.atlas_codes is None)
    assert gan.decodes.codes is None and "no atlas" in gan.note.text()


def test_added_checkpoints_are_read_off_the_gui_thread_and_bad_ones_explained(qtbot, window, models, tmp_path,
                                                                              checkpoint_reader_threads):
    """Issue 12: "Add checkpoint…" and ticking an unread candidate read the file on a worker, so no
    file can freeze the window; a file that cannot be read is explained and left unticked."""
    import threading

    window.request_add(models["vae"])
    qtbot.waitUntil(lambda: len(window.columns) == 1, timeout=20000)
    assert checkpoint_reader_threads and threading.get_ident() not in checkpoint_reader_threads
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    window.request_add(bad)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20000)
    key = str(bad.resolve())
    assert "bad.ckpt" in window.banner.message and not window.chooser.is_checked(key)
    assert "could not be read" in window.chooser.note(key) and len(window.columns) == 1
