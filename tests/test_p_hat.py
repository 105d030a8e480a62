"""P̂(Z) as a sampler: `fit_p_hat` / `sample_p_hat` (the one estimate the explorer, the benches and the
chain study share) draw from the fitted mixture, reproducibly, and land where the codes are."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.analysis.density import P_HAT, GaussianMixture, PHatSettings, fit_p_hat, sample_p_hat

CENTRES = np.array([[6.0, 0.0, 0.0], [-6.0, 0.0, 0.0], [0.0, 6.0, -6.0]])


def toy_atlas(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior means in three tight clusters far from the origin (weights 1/2, 1/3, 1/6), each
    image with posterior std 0.3: an atlas whose P̂(Z) is nothing like N(0, I)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[1 / 2, 1 / 3, 1 / 6])
    means = CENTRES[labels] + 0.2 * rng.standard_normal((n, 3))
    return means.astype(np.float32), np.full((n, 3), 0.3, np.float32), labels


def nearest_centre(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(z[:, None, :] - CENTRES[None], axis=2)
    return d.argmin(axis=1), d.min(axis=1)


@pytest.mark.parametrize("settings", [P_HAT, PHatSettings(3, "full"), PHatSettings(10, "diag", "means")])
def test_samples_land_in_the_atlas_clusters_with_their_weights(settings):
    means, stds, labels = toy_atlas()
    density = fit_p_hat(means, stds, settings)
    z = sample_p_hat(density, 3000, seed=5)
    assert z.shape == (3000, 3) and z.dtype == np.float32
    which, distance = nearest_centre(z)
    # cluster spread: means 0.2 and (for draws) posterior 0.3 per axis -> radius about 0.36 * sqrt(3)
    assert np.quantile(distance, 0.99) < 2.0          # prior draws would sit ~6 away from every centre
    # as often as the atlas has codes there (its share of each cluster; 3000 draws: ±0.009 standard error)
    np.testing.assert_allclose(np.bincount(which, minlength=3) / len(z), np.bincount(labels) / len(labels), atol=0.03)


def test_draws_widen_the_density_by_the_posterior_spread_and_means_do_not():
    means, stds, labels = toy_atlas()
    on_draws = sample_p_hat(fit_p_hat(means, stds, PHatSettings(3, "diag", "draws")), 4000, seed=1)
    on_means = sample_p_hat(fit_p_hat(means, stds, PHatSettings(3, "diag", "means")), 4000, seed=1)
    first = lambda z: z[nearest_centre(z)[0] == 0]  # noqa: E731
    # per-axis variance of cluster 0: 0.2^2 from the means, + 0.3^2 from Q(z|x) with draws
    assert first(on_means).var(axis=0).mean() == pytest.approx(0.04, rel=0.2)
    assert first(on_draws).var(axis=0).mean() == pytest.approx(0.04 + 0.09, rel=0.2)


def test_seeded_draws_repeat_and_seeds_differ():
    means, stds, _ = toy_atlas(300)
    density = fit_p_hat(means, stds)
    assert np.array_equal(sample_p_hat(density, 50, seed=3), sample_p_hat(density, 50, seed=3))
    assert not np.array_equal(sample_p_hat(density, 50, seed=3), sample_p_hat(density, 50, seed=4))
    # the fit itself is deterministic: a refit gives the same draws
    assert np.array_equal(sample_p_hat(fit_p_hat(means, stds), 50, seed=3), sample_p_hat(density, 50, seed=3))


def test_the_fit_is_the_explorer_mixture_on_posterior_draws():
    from latentlab.analysis.density import posterior_draws

    means, stds, _ = toy_atlas(300)
    density = fit_p_hat(means, stds)
    same = GaussianMixture(P_HAT.n_components, P_HAT.covariance_type, seed=P_HAT.seed).fit(
        posterior_draws(means, stds, P_HAT.draws, P_HAT.seed))
    np.testing.assert_allclose(density.means_, same.means_)
    assert fit_p_hat(means[:4], None).n_components == 4    # a tiny atlas: K lowered to the point count


def test_settings_are_checked():
    with pytest.raises(ValueError, match="covariance_type"):
        PHatSettings(10, "spherical")
    with pytest.raises(ValueError, match="source"):
        PHatSettings(10, "diag", "codes")
    assert PHatSettings(50, "full", "means").label == "50 full, means"
