"""The latent adversary's recipes (AAE, WAE-GAN): the p-trick discriminator, encoder pre-training, the
AAE's own encoder phase and the gated discriminator (Creswell's balance rule), several discriminator
steps; the diversity figures; kept checkpoints over training."""

import numpy as np
import pytest
import torch
from conftest import whole_and_resumed

from latentlab.analysis.diversity import DiversityReference
from latentlab.errors import ConfigError
from latentlab.models import build_model
from latentlab.models.aae import LatentDiscriminator, moment_matching_loss
from latentlab.models.distributions import StandardNormalPrior
from trainers.config import TrainConfig
from trainers.events import Step
from trainers.loop import Trainer
from trainers.pretrain import pretrain_encoder
from trainers.schemes import AlternatingAdversarial

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = {"latent_dim": 4, "base_channels": 8, "disc_hidden": 16, "image_shape": [1, 16, 16]}


def config(out, name="aae", model_config=None, **kw) -> TrainConfig:
    values = {"model": name, "data": "synthetic-faces?size=16&channels=1", "out": str(out),
              "model_config": {k: v for k, v in {**SMALL, **(model_config or {})}.items()
                               if k != "image_shape" and (name != "gan" or k != "disc_hidden")},
              "epochs": 2, "batch_size": 8, "limit": 32, "max_steps": 3, "eval_limit": 0, "preview_every": 100,
              "checkpoint_every": 100, "lr": 1e-3}
    values.update(kw)
    return TrainConfig(**values)


def test_the_p_trick_adds_the_centred_prior_log_density_to_the_logit():
    torch.manual_seed(0)
    prior = StandardNormalPrior(3)
    plain, tricked = LatentDiscriminator(3, 8, 2), LatentDiscriminator(3, 8, 2, prior=prior)
    tricked.net.load_state_dict(plain.net.state_dict())
    z = torch.randn(5, 3) * 3
    expected = plain(z) - (z.pow(2).sum(1) - 3) / 2  # log N(z; 0, I) - E[log N]
    assert torch.allclose(tricked(z), expected, atol=1e-5)
    # With a zero network the tricked discriminator is the density ratio test p_Z vs nothing learned:
    # prior draws sit near logit 0 on average, far codes get very negative logits.
    for p in tricked.net.parameters():
        torch.nn.init.zeros_(p)
    assert abs(tricked(torch.randn(20_000, 3)).mean().item()) < 0.05
    assert tricked(torch.full((1, 3), 5.0)).item() < -30


def test_moment_matching_is_zero_for_equal_moments_and_grows_with_scale():
    z = torch.randn(256, 4)
    assert moment_matching_loss(z, z).item() == pytest.approx(0.0, abs=1e-9)
    assert moment_matching_loss(3 * z, z).item() > moment_matching_loss(1.2 * z, z).item() > 0
    assert moment_matching_loss(z + 2, z).item() == pytest.approx(4.0, rel=1e-4)


def test_encoder_pretraining_pulls_far_codes_to_the_priors_moments():
    torch.manual_seed(0)
    model = build_model("wae-gan", {**SMALL, "encoder_pretrain_steps": 60}).train()
    with torch.no_grad():  # codes far from N(0, I): shifted by 3 and scaled up
        model.encoder.head.bias.fill_(3.0)
        model.encoder.head.weight.mul_(20.0)
    images = (torch.rand(64, 1, 16, 16) * 255).to(torch.uint8)
    x = images.float() / 255
    before = moment_matching_loss(model.encoder(x), torch.randn(64, 4)).item()
    taken, after = pretrain_encoder(model, images, 60, torch.device("cpu"), 1e-2, (0.5, 0.999))
    assert before > 1.0 and 1 <= taken <= 60 and after < before / 5
    assert model.encoder_pretrain_steps() == 60


def test_a_run_reports_its_encoder_pretraining(tmp_path, isolated_cache):
    trainer = Trainer(config(tmp_path / "run", "wae-gan", {"encoder_pretrain_steps": 5, "prior_trick": True}))
    events = list(trainer.run())
    assert any(note.startswith("encoder pre-trained for ") for note in trainer.notes)
    assert [e.step for e in events if isinstance(e, Step)] == [1, 2, 3]


def test_the_aae_encoder_phase_has_its_own_adam_on_the_encoder_alone():
    model = build_model("aae", {**SMALL, "encoder_phase": True})
    assert model.phases() == ("discriminator", "encoder", "generator")
    groups = model.parameter_groups()
    assert {id(p) for p in groups["encoder"]} == {id(p) for p in model.encoder.parameters()}
    scheme = AlternatingAdversarial(model, TrainConfig(model="aae", data="", out=""), total_steps=2)
    losses = scheme.step(model, torch.rand(8, 1, 16, 16))
    assert {"loss", "recon", "e_loss", "e_adversarial", "d_loss"} <= set(losses)
    assert list(losses)[0] == "loss"  # the generator's terms first
    # the reconstruction step no longer carries the adversarial term
    terms = model.generator_losses(torch.rand(8, 1, 16, 16))
    assert terms["loss"].item() == pytest.approx(terms["recon"].item(), rel=1e-6)
    assert build_model("aae", SMALL).phases() == ("discriminator", "generator")


def test_the_gated_discriminator_waits_while_the_encoder_loses():
    torch.manual_seed(0)
    model = build_model("aae", {**SMALL, "encoder_phase": True, "balance_bound": 0.75})
    assert model.discriminator_gate() == ("e_adversarial", 0.75)
    scheme = AlternatingAdversarial(model, TrainConfig(model="aae", data="", out=""), total_steps=4)
    x = torch.rand(8, 1, 16, 16)
    first = scheme.step(model, x)
    assert first["d_updated"] == 1.0  # no previous iteration: train
    scheme.gate_value = 5.0  # the encoder's adversarial loss was high: the discriminator is winning
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    skipped = scheme.step(model, x)
    assert skipped["d_updated"] == 0.0 and "d_loss" in skipped
    assert all(torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters()))
    scheme.gate_value = 0.1
    assert scheme.step(model, x)["d_updated"] == 1.0
    assert not all(torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters()))
    assert scheme.state_dict()["gate_value"] == scheme.gate_value


@pytest.mark.parametrize("name", ["aae", "wae-gan"])
def test_encoder_output_batchnorm_gives_each_batch_the_codes_own_mean_and_scale(name):
    model = build_model(name, {**SMALL, "encoder_batchnorm": True}).train()
    codes = model.encode(torch.rand(16, 1, 16, 16) * 3).mean
    assert torch.allclose(codes.mean(0), torch.zeros(4), atol=1e-5)  # affine shift starts at 0
    assert torch.allclose(codes.std(0, unbiased=False), torch.ones(4), atol=1e-2)  # and the scale at 1
    bn = model.encoder[1]
    assert isinstance(bn, torch.nn.BatchNorm1d) and bn.affine


def test_several_discriminator_steps_per_iteration():
    model = build_model("wae-gan", {**SMALL, "discriminator_steps": 3})
    assert model.phase_repeats("discriminator") == 3 and model.phase_repeats("generator") == 1
    scheme = AlternatingAdversarial(model, TrainConfig(model="wae-gan", data="", out=""), total_steps=1)
    scheme.step(model, torch.rand(8, 1, 16, 16))
    assert scheme.optimizers["discriminator"].state_dict()["state"][0]["step"].item() == 3
    assert scheme.optimizers["generator"].state_dict()["state"][0]["step"].item() == 1


@pytest.mark.parametrize("bad", [{"disc_layers": 0}, {"input_noise": -0.1}, {"encoder_pretrain_steps": -1},
                                 {"discriminator_steps": 0}, {"balance_bound": -1}])
def test_bad_latent_adversary_settings_are_named(bad):
    from latentlab.errors import ConfigError

    with pytest.raises(ConfigError, match=next(iter(bad))):
        build_model("aae", {**SMALL, **bad})


def test_the_three_phase_aae_with_its_gate_resumes_exactly(tmp_path, isolated_cache):
    settings = {"encoder_phase": True, "balance_bound": 0.75, "prior_trick": True, "input_noise": 0.01,
                "encoder_pretrain_steps": 3, "disc_layers": 3}
    a, _ = whole_and_resumed(lambda out, **kw: config(out, "aae", settings, **kw), tmp_path, total=6)
    assert a.training["scheme"]["groups"] == ["discriminator", "encoder", "generator"]


def test_kept_checkpoints_over_training(tmp_path, isolated_cache):
    list(Trainer(config(tmp_path / "run", "gan", {"su_weight": 20.0, "generator_steps": 2}, keep_every=2,
                        max_steps=5)).run())
    kept = sorted(p.name for p in (tmp_path / "run").glob("step-*.ckpt"))
    assert kept == ["step-000002.ckpt", "step-000004.ckpt"]


def test_diversity_sees_collapse_and_duplicates():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 5)) * 10
    reference_points = centres[rng.integers(10, size=2000)] + rng.normal(size=(2000, 5))
    reference = DiversityReference.fit(reference_points, k=10, seed=0)
    varied = reference.score(centres[rng.integers(10, size=500)] + rng.normal(size=(500, 5)))
    collapsed = reference.score(centres[[3]] + 0.001 * rng.normal(size=(500, 5)))
    assert varied.clusters >= 9 and collapsed.clusters == 1
    assert varied.near_duplicates < 0.1 and collapsed.near_duplicates == 1.0
    with pytest.raises(ValueError):
        DiversityReference.fit(reference_points[:5], k=10)


def test_ali_discriminator_dropout_is_a_setting_and_absent_at_zero():
    plain = build_model("ali", {**{k: v for k, v in SMALL.items() if k != "disc_hidden"}, "disc_hidden": 16})
    dropped = build_model("ali", {**{k: v for k, v in SMALL.items() if k != "disc_hidden"}, "disc_hidden": 16,
                                  "disc_dropout": 0.2})
    assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())  # older checkpoints' layout
    assert sum(isinstance(m, torch.nn.Dropout) for m in dropped.discriminator.modules()) >= 4
    x, z = torch.rand(6, 1, 16, 16), torch.randn(6, 4)
    dropped.train()
    assert not torch.equal(dropped.discriminator(x, z), dropped.discriminator(x, z))  # dropout acts in training
    dropped.eval()
    assert torch.equal(dropped.discriminator(x, z), dropped.discriminator(x, z))


def test_ali_stochastic_encoder_samples_around_its_mean():
    settings = {**{k: v for k, v in SMALL.items() if k != "disc_hidden"}, "disc_hidden": 16,
                "stochastic_encoder": True}
    model = build_model("ali", settings).eval()
    x = torch.rand(5, 1, 16, 16)
    posterior = model.encode(x)
    assert posterior.mean.shape == (5, 4) and posterior.logvar.shape == (5, 4)
    torch.manual_seed(0)
    draws = torch.stack([model._codes(x) for _ in range(400)])
    assert torch.allclose(draws.mean(0), posterior.mean, atol=0.3)
    assert torch.allclose(draws.std(0), posterior.std, rtol=0.2)
    assert build_model("ali", {**settings, "stochastic_encoder": False}).encode(x).sample().shape == (5, 4)


def test_ali_repeats_its_generator_phase_generator_steps_times():
    settings = {**{k: v for k, v in SMALL.items() if k != "disc_hidden"}, "disc_hidden": 16}
    assert build_model("ali", settings).phase_repeats("generator") == 1
    twice = build_model("ali", {**settings, "generator_steps": 2})
    assert (twice.phase_repeats("generator"), twice.phase_repeats("discriminator")) == (2, 1)
    with pytest.raises(ConfigError, match="generator_steps"):
        build_model("ali", {**settings, "generator_steps": 0})


def test_ali_spectral_norm_bounds_every_discriminator_layer_and_drops_its_batch_norm():
    settings = {**{k: v for k, v in SMALL.items() if k != "disc_hidden"}, "disc_hidden": 16}
    model = build_model("ali", {**settings, "disc_spectral_norm": True}).train()
    modules = list(model.discriminator.modules())
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in modules)
    weighted = [m for m in modules if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert weighted and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in weighted)
    x, z = torch.rand(6, 1, 16, 16), torch.randn(6, 4)
    for _ in range(30):  # power iterations converge during training forwards
        model.discriminator(x, z)
    for m in weighted:
        matrix = m.weight.flatten(1) if isinstance(m, torch.nn.Conv2d) else m.weight
        assert torch.linalg.matrix_norm(matrix, ord=2) < 1.05
    plain = build_model("ali", settings)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.discriminator.modules())
