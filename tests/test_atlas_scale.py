"""Large atlases: the point index, the map overview, bounded fits off the GUI thread, and `bench scale`."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import make_tiny_bundle

from latentlab.analysis import density as density_module
from latentlab.analysis.density import PHatSettings, fit_p_hat, subsample_indices
from latentlab.explorer.map_overview import density_tile, plan_view
from latentlab.explorer.point_index import NO_POINT, TREE_MIN, PointIndex, brute_force_nearest

# ------------------------------------------------------------------ headless


@pytest.mark.parametrize("pixel_size", [(0.01, 0.01), (0.002, 0.03), (0.05, 0.004)])
def test_point_index_finds_the_same_nearest_point_as_a_scan(pixel_size):
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(size=(20_000, 2)) * (3.0, 0.5), np.repeat([[0.25, 0.25]], 3, axis=0)])
    index = PointIndex(xy)
    assert index._tree is not None  # a tree, not the scan it is compared with
    queries = np.concatenate([rng.normal(size=(300, 2)) * (3.5, 0.8), [[0.25, 0.25], [40.0, 40.0]]])
    found_any = missed_any = False
    for x, y in queries:
        got = index.nearest(x, y, pixel_size, radius=6.0)
        assert got == brute_force_nearest(xy, x, y, pixel_size, radius=6.0)
        found_any |= got[0] != NO_POINT
        missed_any |= got[0] == NO_POINT
    assert found_any and missed_any
    assert index.nearest(0.25, 0.25, pixel_size, 6.0)[0] == 20_000  # three equal points: the lowest index


def test_small_sets_are_scanned_without_a_tree():
    xy = np.random.default_rng(1).normal(size=(TREE_MIN - 1, 2))
    index = PointIndex(xy)
    assert index._tree is None
    assert index.nearest(*xy[17], (0.01, 0.01), 6.0) == (17, 0.0)


def test_density_tile_counts_the_points_in_view_and_averages_the_colour_variable():
    xy = np.array([[0.1, 0.1], [0.15, 0.12], [0.9, 0.9], [2.0, 2.0]])
    values = np.array([1.0, 3.0, 10.0, 99.0])
    tile = density_tile(xy, (0.0, 1.0, 0.0, 1.0), (2, 2), values)
    assert tile.counts.tolist() == [[2, 0], [0, 1]]  # row 0 is the bottom (small y)
    assert tile.mean_values[0, 0] == 2.0 and tile.mean_values[1, 1] == 10.0 and np.isnan(tile.mean_values[0, 1])
    assert tile.shading.max() == 1.0 and tile.shading[0, 1] == 0.0


def test_the_overview_draws_a_density_until_few_enough_points_are_in_view():
    xy = np.random.default_rng(2).normal(size=(50_000, 2))
    full = plan_view(xy, (-5, 5, -5, 5), (600, 400), point_cap=1000)
    assert full.mode == "density" and full.tile.counts.shape == (133, 200) and full.tile.counts.sum() == full.in_view
    zoomed = plan_view(xy, (2.0, 2.3, 0.0, 0.3), (600, 400), point_cap=1000)
    assert zoomed.mode == "points" and 0 < zoomed.in_view <= 1000
    assert set(np.flatnonzero((np.abs(xy[:, 0] - 2.15) <= 0.15) & (np.abs(xy[:, 1] - 0.15) <= 0.15))) <= set(zoomed.indices)


def test_p_hat_is_fitted_on_a_bounded_seeded_subsample():
    rng = np.random.default_rng(3)
    means, stds = rng.normal(size=(12_000, 4)), np.full((12_000, 4), 0.1)
    settings = PHatSettings(3, "diag", max_faces=500)
    keep = subsample_indices(12_000, 500, settings.seed)
    assert len(keep) == 500 and np.array_equal(keep, subsample_indices(12_000, 500, settings.seed))
    big = fit_p_hat(means, stds, settings)
    small = fit_p_hat(means[keep], stds[keep], PHatSettings(3, "diag", max_faces=None))
    assert np.allclose(big.means_, small.means_)


# ------------------------------------------------------------------ the real window


@pytest.fixture(scope="module")
def large_atlas(tmp_path_factory):
    """A tiny VAE whose atlas is grown to 50,000 codes (posterior draws around its 60 encoded faces)."""
    from latentlab.bundle import grow_atlas

    folder = tmp_path_factory.mktemp("large")
    tiny = make_tiny_bundle(folder, latent_dim=6, atlas_size=60, faces=200)
    return grow_atlas(tiny, folder / "large.ckpt", 50_000)


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from latentlab.ui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    win.shutdown()


def test_large_atlas_overview_hover_click_and_fits(qtbot, window, large_atlas, monkeypatch):
    fits = []  # (thread is the GUI thread, points) of every mixture fitted
    original_fit = density_module.GaussianMixture.fit

    def recording_fit(self, codes):
        fits.append((threading.current_thread() is threading.main_thread(), len(codes)))
        return original_fit(self, codes)

    monkeypatch.setattr(density_module.GaussianMixture, "fit", recording_fit)
    layer = window.map.atlas_layer
    layer.point_cap = 2000
    assert window.open_checkpoint(large_atlas)
    assert layer.index is None  # built when the pointer first moves over the map, not at launch
    layer.request_index()
    qtbot.waitUntil(lambda: not window.gap_map_pending and layer.index_ready, timeout=60_000)
    assert layer.count == 50_000 and layer.plan.mode == "density"
    assert len(window.map.atlas.data) == 0 and layer.density.isVisible()

    # Hover and click through the index: the same face a scan finds, reported and decoded.
    view = window.map.plot.getPlotItem().getViewBox()
    from PySide6.QtCore import QPointF

    target = layer.xy[123]
    hovered = []
    window.map.point_hovered.connect(lambda name, index: hovered.append((name, index)))
    window.map._mouse_moved(view.mapViewToScene(QPointF(*target)))
    expected = brute_force_nearest(layer.xy, *target, view.viewPixelSize(), 6.0)[0]
    assert hovered[-1] == ("atlas", expected)
    qtbot.waitUntil(lambda: f"training face #{expected}" in window.face_panel.hover_caption.text(), timeout=10_000)
    window.map.point_clicked.emit(*hovered[-1])
    assert np.allclose(window.current_z, window.session.atlas_codes[expected])

    # Zoomed in, the faces in view are dots again.
    full_range = view.viewRange()
    x, y = target
    view.setRange(xRange=(x - 0.02, x + 0.02), yRange=(y - 0.02, y + 0.02), padding=0)
    qtbot.waitUntil(lambda: layer.plan.mode == "points", timeout=5000)
    assert 0 < len(window.map.atlas.data) and layer.plan.in_view <= 2000 and not layer.density.isVisible()
    assert expected in set(window.map.atlas.data["data"].tolist())
    # Zoomed out again: the density.
    view.setRange(xRange=full_range[0], yRange=full_range[1], padding=0)
    qtbot.waitUntil(lambda: layer.plan.mode == "density", timeout=5000)

    # Colour by a factor: each bin's mean of it.
    window.colour_combo.setCurrentIndex(1)
    window.colour_combo.activated.emit(1)
    assert layer.plan.mode == "density" and layer.plan.tile.mean_values is not None
    label = window.colour_combo.currentText()
    tile = layer.plan.tile
    values = window.session.atlas_labels[label].astype(float)
    inside = density_tile(layer.xy, tile.extent, tile.counts.shape, values)
    assert np.allclose(np.nan_to_num(inside.mean_values), np.nan_to_num(tile.mean_values))

    # P̂(Z): drawn on a worker, on at most 5,000 faces (x 2 posterior draws).
    window._jump_to_p_hat(seed=0)
    qtbot.waitUntil(lambda: window.session.density_fitted and "P̂(Z) sample" in window._current_caption, timeout=60_000)
    assert fits, "no mixture was fitted"
    assert all(not on_gui for on_gui, _ in fits), fits
    assert all(points <= 2 * density_module.P_HAT_MAX_FACES for _, points in fits), fits
    assert max(points for _, points in fits) == 2 * density_module.P_HAT_MAX_FACES


def test_bench_scale_on_tiny_arguments(large_atlas, capsys, tmp_path, monkeypatch):
    import tempfile

    from latentlab.bench.scale import main

    scratch = tmp_path / "tmp"  # the bench's and its child processes' temporary folder
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    tiny = large_atlas.parent / "tiny.ckpt"
    assert main(["--checkpoint", str(tiny), "--sizes", "2500", "--launches", "1", "--moves", "5", "--hovers", "5",
                 "--frames", "4", "--point-cap", "1000"]) == 0
    out = capsys.readouterr().out
    assert "| 2,500 |" in out and "density" in out and "goals at 2,500 codes" in out
    assert list(scratch.iterdir()) == []  # the grown atlases and each session's settings are removed
