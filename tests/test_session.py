"""ExplorerSession: P̂(Z) from draws of Q(z|x), gap scores that separate prior samples from encoded faces."""

import numpy as np
import pytest
import torch

from latentlab.bundle import bundle
from latentlab.checkpoints import save_model
from latentlab.data import load_dataset
from latentlab.explorer import ExplorerSession
from latentlab.models import build_model


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("session")
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [3, 16, 16], "latent_dim": 6, "base_channels": 8}).eval()
    dataset = load_dataset("synthetic-faces?size=16&n=300", split="train", limit=200)
    save_model(folder / "raw.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)
    return ExplorerSession.from_checkpoint(bundle(folder / "raw.ckpt", folder / "b.ckpt", atlas_size=200))


def test_p_hat_samples_are_draws_of_each_posterior(session):
    assert session.atlas_std is not None and session.atlas_std.shape == session.atlas_codes.shape
    draws = session.p_hat_samples(draws=50, seed=1).reshape(50, 200, 6)
    assert np.allclose(draws.mean(axis=0), session.atlas_codes, atol=4 * session.atlas_std.max() / np.sqrt(50))
    assert np.allclose(draws.std(axis=0), session.atlas_std, rtol=0.35)


def test_gap_scores_are_higher_for_prior_samples_than_for_p_hat_draws(session):
    prior = session.gap_scores(session.prior_samples(500, seed=3))
    p_hat = session.gap_scores(session.p_hat_samples(draws=1, seed=4))
    assert prior.shape == (500,) and prior.mean() > p_hat.mean()
