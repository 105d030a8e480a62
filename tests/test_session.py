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
