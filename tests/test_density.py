"""Estimates of P̂(Z): the EM Gaussian mixture, the Gaussian KDE, gap scores and the 2-D gap map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from latentlab.analysis.density import (
    Gaussian,
    GaussianKDE,
    GaussianMixture,
    StandardNormal,
    fit_projected_density,
    gap_map,
    gap_score,
    projected_prior,
)
from latentlab.analysis.projection import pca_projection


def two_blobs(n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = rng.random(n) < 0.3
    a = rng.normal([-3.0, 0.0], [0.5, 1.0], size=(n, 2))
    b = rng.normal([3.0, 1.0], [1.0, 0.4], size=(n, 2))
    return np.where(first[:, None], a, b)


def ring(n: int = 2000, radius: float = 2.0, width: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    r = radius + width * rng.standard_normal(n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gmm_recovers_a_known_two_component_mixture(covariance_type):
    gmm = GaussianMixture(2, covariance_type, seed=1).fit(two_blobs())
    order = np.argsort(gmm.means_[:, 0])
    np.testing.assert_allclose(gmm.means_[order], [[-3.0, 0.0], [3.0, 1.0]], atol=0.15)
    np.testing.assert_allclose(gmm.weights_[order], [0.3, 0.7], atol=0.03)
    variances = gmm.covariances_ if covariance_type == "diag" else np.diagonal(gmm.covariances_, axis1=1, axis2=2)
    np.testing.assert_allclose(variances[order], [[0.25, 1.0], [1.0, 0.16]], rtol=0.15)
    assert gmm.converged_


def test_single_component_is_the_gaussian_mle_and_matches_scipy():
    rng = np.random.default_rng(2)
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], [[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]], 500)
    queries = rng.normal(size=(50, 3)) * 2
    mean, cov = codes.mean(axis=0), np.cov(codes, rowvar=False, bias=True)

    full = GaussianMixture(1, "full").fit(codes)
    np.testing.assert_allclose(full.means_[0], mean, atol=1e-10)
    np.testing.assert_allclose(full.covariances_[0], cov, atol=1e-10)
    np.testing.assert_allclose(full.log_prob(queries), multivariate_normal(mean, cov).logpdf(queries), rtol=1e-9)

    diag = GaussianMixture(1, "diag").fit(codes)
    np.testing.assert_allclose(diag.log_prob(queries),
                               multivariate_normal(mean, np.diag(np.diag(cov))).logpdf(queries), rtol=1e-9)


def test_mixture_density_integrates_to_one():
    gmm = GaussianMixture(3, "full", seed=0).fit(two_blobs(600))
    xs, ys = np.linspace(-9, 9, 301), np.linspace(-7, 9, 301)
    gx, gy = np.meshgrid(xs, ys)
    p = np.exp(gmm.log_prob(np.stack([gx.ravel(), gy.ravel()], 1))).reshape(gx.shape)
    assert np.trapezoid(np.trapezoid(p, xs, axis=1), ys) == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_em_log_likelihood_never_decreases(covariance_type):
    rng = np.random.default_rng(3)
    codes = np.concatenate([rng.normal(c, 1.0, size=(150, 4)) for c in (-1.0, 0.0, 0.7, 2.0)])
    gmm = GaussianMixture(5, covariance_type, max_iter=60, tol=0.0, seed=4).fit(codes)
    history = np.array(gmm.log_likelihood_)
    assert len(history) == 61 and not gmm.converged_   # tol = 0: every iteration recorded
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1]))
    assert history[-1] > history[0]
    assert history[-1] == pytest.approx(np.mean(gmm.log_prob(codes)), rel=1e-12)


def test_variance_floor_keeps_duplicate_codes_finite():
    codes = np.concatenate([np.zeros((50, 3)), np.random.default_rng(0).normal(size=(50, 3))])
    gmm = GaussianMixture(3, "diag", var_floor=1e-4).fit(codes)
    assert np.all(gmm.covariances_ >= 1e-4)
    assert np.all(np.isfinite(gmm.log_prob(codes)))


def test_gmm_json_round_trip_and_sampling():
    gmm = GaussianMixture(2, "full", seed=5).fit(two_blobs(800))
    again = GaussianMixture.from_dict(json.loads(json.dumps(gmm.to_dict())))
    queries = np.random.default_rng(0).normal(size=(20, 2)) * 3
    np.testing.assert_array_equal(again.log_prob(queries), gmm.log_prob(queries))
    samples = gmm.sample(4000, np.random.default_rng(1))
    assert samples.shape == (4000, 2)
    assert abs(np.mean(samples[:, 0] < 0) - 0.3) < 0.03   # the weights show in the samples
    np.testing.assert_array_equal(gmm.sample(5, 7), gmm.sample(5, 7))
    with pytest.raises(ValueError):
        GaussianMixture.from_dict({"kind": "kde"})


def test_gmm_refuses_bad_input():
    with pytest.raises(ValueError, match="at least"):
        GaussianMixture(10).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, "spherical")
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianMixture(2).log_prob(np.zeros((1, 2)))


def test_kde_matches_direct_computation_and_scott_rule():
    rng = np.random.default_rng(6)
    points, queries = rng.normal(size=(20, 3)), rng.normal(size=(7, 3)) * 1.5
    kde = GaussianKDE().fit(points)
    scott = np.sqrt(np.mean(points.var(axis=0, ddof=1))) * 20 ** (-1 / 7)
    assert kde.bandwidth_ == pytest.approx(scott)
    direct = [np.log(np.mean([multivariate_normal(p, scott**2 * np.eye(3)).pdf(q) for p in points])) for q in queries]
    np.testing.assert_allclose(kde.log_prob(queries), direct, rtol=1e-10)
    chunked = GaussianKDE(chunk_size=3).fit(points)
    np.testing.assert_allclose(chunked.log_prob(queries), kde.log_prob(queries), rtol=1e-12)
    # Far from every point log-sum-exp keeps it finite where exp() would underflow to log(0).
    assert np.isfinite(GaussianKDE(bandwidth=0.01).fit(points).log_prob(np.full((1, 3), 50.0))).all()


def test_kde_large_in_64_dimensions():
    rng = np.random.default_rng(7)
    kde = GaussianKDE().fit(rng.normal(size=(3000, 64)))
    out = kde.log_prob(rng.normal(size=(3000, 64)))
    assert out.shape == (3000,) and np.all(np.isfinite(out))


def test_gap_score_positive_in_the_hole_of_a_ring_and_negative_on_it():
    codes = ring()
    prior = StandardNormal(2)
    hole = np.array([[0.0, 0.0], [0.3, -0.2]])
    on_ring = ring(50, seed=1)
    for density in (GaussianMixture(10, seed=0).fit(codes), GaussianKDE().fit(codes)):
        assert np.all(gap_score(hole, prior, density) > 2.0)
        assert np.all(gap_score(on_ring, prior, density) < 0.0)


def test_standard_normal_matches_scipy():
    z = np.random.default_rng(8).normal(size=(10, 4))
    np.testing.assert_allclose(StandardNormal(4).log_prob(z), multivariate_normal(np.zeros(4)).logpdf(z), rtol=1e-12)


def test_projected_prior_is_the_law_of_projected_prior_samples():
    rng = np.random.default_rng(9)
    codes = rng.normal(size=(500, 6)) * np.array([3, 2, 1, 1, 1, 1]) + 0.8
    projection = pca_projection(codes)
    prior_2d = projected_prior(projection)
    np.testing.assert_allclose(prior_2d.mean, -projection.origin @ projection.axes.T, atol=1e-12)
    np.testing.assert_allclose(prior_2d.cov, np.eye(2), atol=1e-12)
    xy = projection.project(rng.normal(size=(40000, 6)))
    np.testing.assert_allclose(xy.mean(axis=0), prior_2d.mean, atol=0.03)
    np.testing.assert_allclose(np.cov(xy, rowvar=False), np.eye(2), atol=0.03)
    q = rng.normal(size=(5, 2))
    np.testing.assert_allclose(Gaussian(prior_2d.mean, np.eye(2)).log_prob(q),
                               multivariate_normal(prior_2d.mean).logpdf(q), rtol=1e-12)


@pytest.mark.parametrize("method", ["gmm", "kde"])
def test_gap_map_grid(method):
    rng = np.random.default_rng(10)
    codes = rng.normal(size=(400, 5)) * np.array([2, 1, 0.5, 0.5, 0.5])
    projection = pca_projection(codes)
    density_2d = fit_projected_density(codes, projection, method)
    grid_x, grid_y, values = gap_map(projection, density_2d, None, (-4, 4, -3, 3), resolution=24)
    assert grid_x.shape == (24,) and grid_y.shape == (24,) and values.shape == (24, 24)
    assert grid_x[0] == -4 and grid_x[-1] == 4 and grid_y[0] == -3 and grid_y[-1] == 3
    assert np.all(np.isfinite(values))
    i, j = 5, 17   # values[i, j] is at (grid_x[j], grid_y[i])
    expected = gap_score(np.array([[grid_x[j], grid_y[i]]]), projected_prior(projection), density_2d)
    assert values[i, j] == pytest.approx(expected[0])
    with pytest.raises(ValueError):
        gap_map(projection, density_2d, None, (1, -1, 0, 1))
