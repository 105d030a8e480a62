"""Interpolation paths (Qt-free): lerp / slerp maths."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.sampling import angle, interpolate, interpolation_path, lerp, slerp


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    return rng.standard_normal(8), rng.standard_normal(8)


@pytest.mark.parametrize("mode", ["slerp", "linear"])
def test_endpoints_exact_and_shape(pair, mode):
    a, b = pair
    path = interpolation_path(a, b, 7, mode=mode)
    assert path.shape == (7, 8)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)


def test_scalar_and_vector_t(pair):
    a, b = pair
    assert slerp(a, b, 0.3).shape == (8,)
    assert lerp(a, b, [0.1, 0.5]).shape == (2, 8)
    np.testing.assert_allclose(slerp(a, b, [0.3])[0], slerp(a, b, 0.3))
    np.testing.assert_allclose(lerp(a, b, 0.25), 0.75 * a + 0.25 * b)


@pytest.mark.parametrize("mode", ["slerp", "linear"])
def test_angle_to_a_grows_monotonically(pair, mode):
    a, b = pair
    path = interpolation_path(a, b, 20, mode=mode)
    from_a = np.array([angle(a, z) for z in path])
    to_b = np.array([angle(z, b) for z in path])
    assert np.all(np.diff(from_a) > 0)
    assert np.all(np.diff(to_b) < 0)


def test_slerp_angles_are_evenly_spaced_for_equal_norms(pair):
    a, b = pair
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    path = interpolation_path(a, b, 11, mode="slerp")
    from_a = np.array([angle(a, z) for z in path])
    np.testing.assert_allclose(np.diff(from_a), angle(a, b) / 10, atol=1e-9)


def test_slerp_keeps_norm_for_equal_norm_endpoints(pair):
    a, b = pair
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    norms = np.linalg.norm(interpolation_path(a, b, 25, mode="slerp"), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-12)


def test_midpoint_norm_linear_vs_slerp_for_gaussian_pairs():
    """Typical 64-D Gaussian codes sit near |z| = sqrt(64) = 8; the linear midpoint falls to ≈ sqrt(32)."""
    rng = np.random.default_rng(1)
    d = 64
    linear, spherical = [], []
    for _ in range(200):
        a, b = rng.standard_normal(d), rng.standard_normal(d)
        linear.append(np.linalg.norm(lerp(a, b, 0.5)))
        spherical.append(np.linalg.norm(slerp(a, b, 0.5)))
    assert np.mean(linear) == pytest.approx(np.sqrt(d / 2), rel=0.05)
    assert np.mean(spherical) == pytest.approx(np.sqrt(d), rel=0.05)
    assert np.all(np.array(spherical) > np.array(linear))


def test_degenerate_endpoints():
    a = np.array([1.0, -2.0, 0.5])
    path = interpolation_path(a, a.copy(), 5, mode="slerp")
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, np.tile(a, (5, 1)))
    # parallel endpoints of different length and a zero endpoint: lerp fallback, no NaN
    np.testing.assert_allclose(slerp(a, 3 * a, 0.5), 2 * a)
    np.testing.assert_allclose(slerp(np.zeros(3), a, 0.5), 0.5 * a)
    # antipodal: no unique great circle; still finite, ends exact
    anti = interpolation_path(a, -a, 3, mode="slerp")
    assert np.all(np.isfinite(anti))
    np.testing.assert_array_equal(anti[-1], -a)


def test_invalid_arguments(pair):
    a, b = pair
    with pytest.raises(ValueError):
        interpolation_path(a, b, 1)
    with pytest.raises(ValueError):
        interpolate(a, b, 0.5, mode="cubic")
    with pytest.raises(ValueError):
        lerp(a, b[:3], 0.5)
