"""Model protocol: shapes at every supported size, decoder range, losses, registry round-trips."""

import json

import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.models import available_models, build_model, config_from_dict, config_to_dict
from latentlab.models.corruption import GaussianNoise, PixelDropout
from latentlab.models.distributions import BernoulliImage, DiagonalGaussian, GaussianImage, StandardNormalPrior

FAMILIES = ["ae", "vae", "dvae"]
SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("shape", SHAPES)
def test_protocol_shapes_and_ranges(name, shape):
    torch.manual_seed(0)
    model = build_model(name, {"image_shape": list(shape), "latent_dim": 8})
    assert model.latent_dim == 8 and model.image_shape == shape
    x = torch.rand(5, *shape)
    posterior = model.encode(x)
    assert posterior.mean.shape == (5, 8) and posterior.sample().shape == (5, 8)
    likelihood = model.decode(posterior.mean)
    assert likelihood.mean.shape == (5, *shape)
    assert likelihood.mean.min() >= 0 and likelihood.mean.max() <= 1
    losses = model(x)
    assert losses["loss"].requires_grad and losses["loss"].dim() == 0
    assert all(torch.isfinite(v) for v in losses.values())
    z = model.prior.sample(3)
    assert z.shape == (3, 8) and model.prior.log_prob(z).shape == (3,)


@pytest.mark.parametrize("latent", [2, 256])
def test_latent_size_limits_build(latent):
    model = build_model("vae", {"latent_dim": latent, "image_shape": [3, 32, 32]})
    assert model.encode(torch.rand(2, 3, 32, 32)).mean.shape == (2, latent)


@pytest.mark.parametrize("bad", [{"latent_dim": 1}, {"latent_dim": 257}, {"likelihood": "poisson"},
                                 {"image_shape": [2, 32, 32]}, {"no_such_setting": 3}, {"latent_dim": "abc"}])
def test_invalid_configs_are_refused_with_a_message(bad):
    with pytest.raises(ConfigError) as err:
        build_model("vae", bad)
    assert str(err.value)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ConfigError, match="known models: .*vae"):
        build_model("flow", {})


@pytest.mark.parametrize("name", FAMILIES)
def test_config_round_trips_through_json(name):
    config = config_from_dict(name, {"image_shape": [1, 28, 28], "latent_dim": 12, "likelihood": "gaussian"})
    again = config_from_dict(name, json.loads(json.dumps(config_to_dict(config))))
    assert again == config and again.image_shape == (1, 28, 28)


def test_every_registered_model_is_described():
    models = available_models()
    assert set(FAMILIES) <= set(models) and all(models.values())


def test_kl_matches_closed_form_and_monte_carlo():
    torch.manual_seed(1)
    q = DiagonalGaussian(torch.randn(4, 3), torch.randn(4, 3) * 0.3)
    z = torch.stack([q.sample() for _ in range(20000)])  # [S, 4, 3]
    prior = StandardNormalPrior(3)
    mc = (q.log_prob(z) - prior.log_prob(z)).mean(0)
    assert torch.allclose(q.kl_to_standard_normal(), mc, atol=0.05)


def test_likelihood_nll_values():
    logits = torch.zeros(1, 1, 2, 2)
    x = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert torch.allclose(BernoulliImage(logits).nll(x), torch.tensor([4 * torch.log(torch.tensor(2.0))]))
    g = GaussianImage(torch.zeros(1, 1, 2, 2), sigma=1.0)  # mean 0.5
    expected = 4 * 0.25 / 2 + 2 * torch.log(torch.tensor(2 * torch.pi))
    assert torch.allclose(g.nll(x), expected.reshape(1))


def test_corruptions_change_inputs_as_described():
    torch.manual_seed(0)
    x = torch.full((64, 3, 16, 16), 0.5)
    noisy = GaussianNoise(0.5)(x)
    assert abs(float((noisy - x).std()) - 0.5) < 0.02
    dropped = PixelDropout(0.25)(x)
    zero = dropped == 0
    assert abs(float(zero.float().mean()) - 0.25) < 0.02
    assert bool((zero.all(dim=1) == zero.any(dim=1)).all())  # whole pixels drop, all channels together


def test_denoising_vae_encodes_corrupted_inputs():
    torch.manual_seed(0)
    model = build_model("dvae", {"image_shape": [1, 28, 28], "latent_dim": 4, "corruption": "dropout",
                                 "corruption_level": 0.5})
    x = torch.rand(8, 1, 28, 28)
    assert not torch.equal(model.encoder_input(x), x)
    assert torch.equal(build_model("vae", {"image_shape": [1, 28, 28], "latent_dim": 4}).encoder_input(x), x)


@pytest.mark.parametrize("name", FAMILIES)
def test_loss_decreases_on_a_tiny_batch(name):
    torch.manual_seed(0)
    model = build_model(name, {"image_shape": [1, 28, 28], "latent_dim": 8, "base_channels": 8})
    x = (torch.rand(16, 1, 28, 28) > 0.5).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(60):
        loss = model(x)["loss"]
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(model(x)["loss"].detach()) < 0.9 * first


def test_sigma_vae_learns_its_decoder_sigma_toward_the_reconstruction_error():
    """Rybkin et al. 2021: with one learned sigma, -log P(x|z) is minimised in sigma at sigma² = MSE."""
    with pytest.raises(ConfigError, match="learn_sigma needs likelihood"):
        config_from_dict("vae", {"image_shape": [1, 12, 12], "latent_dim": 3, "learn_sigma": True})
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [1, 12, 12], "latent_dim": 3, "base_channels": 4,
                                "likelihood": "gaussian", "learn_sigma": True, "gaussian_sigma": 0.5})
    x = torch.rand(16, 1, 12, 12)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        losses = model.losses(x)
        first = first if first is not None else losses["loss"].detach().item()
        optimiser.zero_grad()
        losses["loss"].backward()
        optimiser.step()
    sigma = model.log_sigma.detach().exp().item()
    mse = losses["mse"].detach().item()
    assert losses["loss"].detach().item() < first and sigma < 0.5
    assert sigma == pytest.approx(mse ** 0.5, rel=0.3)
    px = model.decode(torch.zeros(2, 3))
    assert px.sigma.detach().item() == pytest.approx(sigma)  # the likelihood the explorer samples uses the learned sigma
