"""Projections: PCA finds the dominant directions, lift inverts project and keeps off-plane parts."""

import numpy as np
import pytest

from latentlab.analysis.projection import custom_projection, default_projection, identity_projection, pca_projection


def test_pca_finds_the_high_variance_plane():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(2000, 6)) * np.array([5.0, 0.1, 3.0, 0.1, 0.1, 0.1])
    projection = pca_projection(codes)
    assert np.allclose(projection.axes @ projection.axes.T, np.eye(2), atol=1e-9)
    assert abs(abs(projection.axes[0, 0]) - 1) < 0.01 and abs(abs(projection.axes[1, 2]) - 1) < 0.01
    assert projection.explained[0] > projection.explained[1] > 0.2


@pytest.mark.parametrize("make", [lambda c: pca_projection(c), lambda c: custom_projection(c[0], c[1] - c[0], c[2])])
def test_lift_inverts_project_and_keeps_off_plane_components(make):
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(50, 8))
    projection = make(codes)
    start = codes[3]
    target = np.array([0.7, -1.2])
    moved = projection.lift(target, start)
    assert np.allclose(projection.project(moved), target, atol=1e-5)
    off_plane = lambda z: z - projection.project(z) @ projection.axes
    assert np.allclose(off_plane(moved.astype(np.float64)), off_plane(start), atol=1e-5)


def test_defaults():
    assert default_projection(None, 2).labels == identity_projection().labels == ("z1", "z2")
    z = np.array([[1.5, -2.0]])
    assert np.allclose(default_projection(None, 2).project(z), z)
    assert default_projection(np.random.default_rng(0).normal(size=(100, 5)), 5).labels == ("PC1", "PC2")
    with pytest.raises(ValueError):
        custom_projection(np.zeros(3), np.zeros(3), np.ones(3))


def test_narrowest_projection_finds_the_low_variance_plane():
    from latentlab.analysis.projection import narrowest_projection

    rng = np.random.default_rng(2)
    samples = rng.normal(size=(4000, 5)) * np.array([3.0, 0.2, 2.0, 0.3, 1.5])
    projection = narrowest_projection(samples)
    assert abs(abs(projection.axes[0, 1]) - 1) < 0.02 and abs(abs(projection.axes[1, 3]) - 1) < 0.02
    assert "0.20" in projection.labels[0]
