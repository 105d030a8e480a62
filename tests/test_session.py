"""ExplorerSession: P̂(Z) from draws of Q(z|x), gap scores that separate prior samples from encoded faces."""

import numpy as np
import pytest
from conftest import make_tiny_bundle

from latentlab.explorer import ExplorerSession


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return ExplorerSession.from_checkpoint(make_tiny_bundle(tmp_path_factory.mktemp("session"), latent_dim=6,
                                                            atlas_size=200, faces=300))


def test_p_hat_samples_are_draws_of_each_posterior(session):
    assert session.atlas_std is not None and session.atlas_std.shape == session.atlas_codes.shape
    draws = session.p_hat_samples(draws=50, seed=1).reshape(50, 200, 6)
    assert np.allclose(draws.mean(axis=0), session.atlas_codes, atol=4 * session.atlas_std.max() / np.sqrt(50))
    assert np.allclose(draws.std(axis=0), session.atlas_std, rtol=0.35)


def test_gap_scores_are_higher_for_prior_samples_than_for_p_hat_draws(session):
    prior = session.gap_scores(session.prior_samples(500, seed=3))
    p_hat = session.gap_scores(session.p_hat_samples(draws=1, seed=4))
    assert prior.shape == (500,) and prior.mean() > p_hat.mean()


def test_p_hat_draws_come_from_the_fitted_density_fitted_once(tmp_path, monkeypatch):
    """`p_hat_draws`: seeded draws of `density()`, which is fitted once even when two workers ask at once."""
    import threading

    import latentlab.analysis.density as density_module

    fresh = ExplorerSession.from_checkpoint(make_tiny_bundle(tmp_path, latent_dim=3, atlas_size=40, faces=60))
    calls = []
    real_fit = density_module.fit_p_hat

    def counting_fit(*args, **kwargs):
        calls.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(density_module, "fit_p_hat", counting_fit)
    assert not fresh.density_fitted
    threads = [threading.Thread(target=fresh.density) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and fresh.density_fitted
    draws = fresh.p_hat_draws(20, seed=2)
    assert draws.shape == (20, 3) and draws.dtype == np.float32
    assert np.array_equal(draws, fresh.p_hat_draws(20, seed=2))
    fresh.atlas_codes = None
    fresh._density = None
    assert fresh.p_hat_draws(5) is None and fresh.density() is None and fresh.chain_bias("mean") is None
