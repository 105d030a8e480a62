"""Adversarial families (AAE, WAE-MMD, WAE-GAN, GAN with Su's regulariser, ALI), the alternating
scheme (exact resume, non-finite losses) and the torch MMD (unbiased, matches the numpy twin)."""

import json
import math

import numpy as np
import pytest
import torch
from conftest import whole_and_resumed

import latentlab
from latentlab.analysis import image_stats
from latentlab.errors import ConfigError
from latentlab.models import build_model, config_from_dict, config_to_dict, mmd
from latentlab.models.gan import GAN
from trainers.config import TrainConfig
from trainers.events import Finished, Step
from trainers.loop import Trainer
from trainers.schemes import AlternatingAdversarial, NonFiniteLoss, SingleObjective, make_scheme

DATA = "synthetic-faces?size=16"
FAMILIES = {
    "aae": {"disc_hidden": 16},
    "wae": {"kernel": "rbf"},
    "wae-gan": {"disc_hidden": 16, "discriminator_lr": 1e-3},
    "gan": {"su_weight": 0.5, "generator_steps": 2},
    "ali": {"disc_hidden": 16, "loss": "nonminimax", "generator_steps": 2, "disc_spectral_norm": True},
}
ADVERSARIAL = ("aae", "wae-gan", "gan", "ali")


def small(name: str, **kw) -> dict:
    return {"latent_dim": 4, "base_channels": 8, **FAMILIES[name], **kw}


def config(out, name: str, **kw) -> TrainConfig:
    values = {"model": name, "data": DATA, "out": str(out), "model_config": small(name), "epochs": 2,
              "batch_size": 8, "limit": 32, "max_steps": 3, "eval_limit": 0, "preview_every": 100,
              "checkpoint_every": 100, "lr": 1e-3}
    values.update(kw)
    return TrainConfig(**values)


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 64, 64)])
def test_every_family_builds_and_gives_finite_losses(name, shape):
    torch.manual_seed(0)
    model = build_model(name, {**small(name), "image_shape": list(shape)})
    x = torch.rand(4, *shape)
    terms = model.losses(x)
    assert "loss" in terms and all(torch.isfinite(v) for v in terms.values())
    assert model.decode(model.prior.sample(3)).mean.shape == (3, *shape)
    if model.has_encoder:
        assert model.encode(x).mean.shape == (4, 4)
    scheme = make_scheme(model, config("unused", name), total_steps=3)
    assert isinstance(scheme, AlternatingAdversarial if name in ADVERSARIAL else SingleObjective)
    if name in ADVERSARIAL:
        groups = model.parameter_groups()
        d_ids, g_ids = {id(p) for p in groups["discriminator"]}, {id(p) for p in groups["generator"]}
        assert d_ids and g_ids and not d_ids & g_ids


@pytest.mark.parametrize("name", list(FAMILIES))
def test_configs_round_trip_and_bad_settings_are_named(name):
    config = config_from_dict(name, {**small(name), "image_shape": [1, 28, 28], "likelihood": "gaussian"})
    assert config_from_dict(name, json.loads(json.dumps(config_to_dict(config)))) == config


@pytest.mark.parametrize("name, setting", [("wae", {"kernel": "laplace"}), ("ali", {"loss": "hinge"}),
                                           ("gan", {"su_weight": -1}), ("aae", {"disc_hidden": 2})])
def test_invalid_settings_raise_config_error(name, setting):
    with pytest.raises(ConfigError, match=next(iter(setting))):
        build_model(name, {**small(name), **setting})


def test_aae_encoder_batchnorm_option():
    model = build_model("aae", small("aae", image_shape=[1, 16, 16], encoder_batchnorm=True))
    codes = model.encode(torch.rand(8, 1, 16, 16)).mean
    assert torch.allclose(codes.mean(0), torch.zeros(4), atol=1e-5)  # batch-normalised in training mode


def test_gan_has_no_encoder():
    model = build_model("gan", small("gan", image_shape=[1, 28, 28]))
    assert model.has_encoder is False and GAN.has_encoder is False
    with pytest.raises(NotImplementedError):
        model.encode(torch.rand(2, 1, 28, 28))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_three_training_steps_and_the_checkpoint_round_trips(tmp_path, isolated_cache, name):
    trainer = Trainer(config(tmp_path / name, name))
    events = list(trainer.run())
    steps = [e for e in events if isinstance(e, Step)]
    assert [e.step for e in steps] == [1, 2, 3] and isinstance(events[-1], Finished)
    assert all(math.isfinite(v) for e in steps for v in e.losses.values())
    if name in ADVERSARIAL:
        assert "d_loss" in steps[-1].losses and "loss" in steps[-1].losses
    if name == "gan":
        assert "drift" in steps[-1].losses and steps[-1].losses["drift"] > 0  # the 2nd step moved off the anchor
    loaded = latentlab.load(tmp_path / name / "last.ckpt")
    assert type(loaded) is type(trainer.model) and not loaded.training
    saved = trainer.model.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in loaded.state_dict().items())
    g = torch.Generator().manual_seed(1)
    trainer.model.eval()
    assert torch.equal(loaded.sample_images(2, generator=g),
                       trainer.model.sample_images(2, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("name", ["gan"])  # Su's schedule: two generator steps per anchor
def test_resume_of_the_alternating_scheme_matches_an_uninterrupted_run_exactly(tmp_path, isolated_cache, name):
    # 6 steps cross the epoch boundary at step 4
    a, b = whole_and_resumed(lambda out, **kw: config(out, name, **kw), tmp_path, total=6)
    assert a.training["scheme"]["groups"] == ["discriminator", "generator"]
    for opt_a, opt_b in zip(a.training["scheme"]["optimizers"], b.training["scheme"]["optimizers"]):
        assert opt_a["state"] and opt_a["state"].keys() == opt_b["state"].keys()
        for k in opt_a["state"]:
            assert torch.equal(opt_a["state"][k]["exp_avg"], opt_b["state"][k]["exp_avg"])
            assert torch.equal(opt_a["state"][k]["exp_avg_sq"], opt_b["state"][k]["exp_avg_sq"])


def test_a_non_finite_discriminator_loss_raises_before_any_weight_moves(monkeypatch):
    torch.manual_seed(0)
    model = build_model("aae", small("aae", image_shape=[1, 16, 16]))
    scheme = make_scheme(model, config("unused", "aae"), total_steps=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    original = type(model).discriminator_losses

    def nan_losses(self, x):
        terms = original(self, x)
        terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(type(model), "discriminator_losses", nan_losses)
    with pytest.raises(NonFiniteLoss, match="non-finite"):
        scheme.step(model, torch.rand(8, 1, 16, 16))
    params = dict(model.named_parameters())
    assert all(torch.equal(params[k], before[k]) for k in params)


def test_discriminator_lr_comes_from_the_model_config():
    model = build_model("wae-gan", small("wae-gan", image_shape=[1, 16, 16]))
    scheme = make_scheme(model, config("unused", "wae-gan", lr=3e-4), total_steps=3)
    assert scheme.optimizers["discriminator"].param_groups[0]["lr"] == 1e-3
    assert scheme.optimizers["generator"].param_groups[0]["lr"] == 3e-4


def direct_mmd(a: np.ndarray, b: np.ndarray, k) -> float:
    """The unbiased MMD² estimator (Gretton et al. 2012, "A Kernel Two-Sample Test", eq. 3; the WAE-MMD
    penalty of Tolstikhin et al. 2018, arXiv:1711.01558) written out with loops over pairs."""
    n, m = len(a), len(b)
    aa = sum(k(a[i], a[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    bb = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    ab = sum(k(a[i], b[j]) for i in range(n) for j in range(m)) / (n * m)
    return aa + bb - 2 * ab


def test_torch_mmd_matches_a_direct_computation_and_the_numpy_entry_point():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(9, 3))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    pooled = np.concatenate([a, b])
    d2 = [((pooled[i] - pooled[j]) ** 2).sum() for i in range(16) for j in range(i + 1, 16)]
    sigma2 = float(np.median(d2))
    assert float(mmd.median_sigma2(ta, tb)) == pytest.approx(sigma2, rel=1e-12)

    def rbf(u, v):
        return math.exp(-((u - v) ** 2).sum() / (2 * sigma2))

    def imq(u, v):
        return sum(2 * 3 * s / (2 * 3 * s + ((u - v) ** 2).sum()) for s in (0.1, 0.2, 0.5, 1, 2, 5, 10))

    for kernel, k in (("rbf", rbf), ("imq", imq)):
        expected = direct_mmd(a, b, k)
        assert float(mmd.mmd_unbiased(ta, tb, kernel)) == pytest.approx(expected, rel=1e-10)
        assert image_stats.mmd_unbiased(a, b, kernel) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_torch_mmd_is_unbiased_and_detects_a_shift(kernel):
    g = torch.Generator().manual_seed(0)
    same = [float(mmd.mmd_unbiased(torch.randn(16, 4, generator=g), torch.randn(16, 4, generator=g), kernel))
            for _ in range(300)]
    shifted = [float(mmd.mmd_unbiased(torch.randn(16, 4, generator=g), torch.randn(16, 4, generator=g) + 1.0,
                                      kernel)) for _ in range(50)]
    mean, se = np.mean(same), np.std(same) / math.sqrt(len(same))
    assert abs(mean) < 4 * se  # unbiased: no systematic offset for equal distributions
    assert min(same) < 0  # an unbiased estimator of a zero MMD² must go negative sometimes
    assert np.mean(shifted) > 10 * se and np.mean(shifted) > mean


def test_wae_mmd_gradient_reaches_the_encoder():
    torch.manual_seed(0)
    model = build_model("wae", small("wae", image_shape=[1, 16, 16], kernel="imq"))
    model.losses(torch.rand(8, 1, 16, 16))["loss"].backward()
    assert model.encoder.head.weight.grad is not None and model.encoder.head.weight.grad.abs().sum() > 0


def test_a_gan_run_previews_and_evaluates_without_an_encoder(tmp_path, isolated_cache):
    from trainers.config import TrainConfig
    from trainers.events import EpochEnd, Preview
    from trainers.loop import Trainer

    run = TrainConfig(model="gan", data="synthetic-faces?size=16", out=str(tmp_path / "gan"), batch_size=8,
                      model_config={"latent_dim": 4, "base_channels": 8}, limit=16, epochs=1, preview_every=1,
                      eval_limit=8)
    events = list(Trainer(run).run())
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and previews[0].codes is None and len(previews[0].reconstructions) == 0
    held = [e.held_out for e in events if isinstance(e, EpochEnd)][-1]
    assert "recon_mse" not in held and all(np.isfinite(v) for v in held.values())


def test_evaluate_draws_a_grid_for_a_model_without_an_encoder(tmp_path, isolated_cache, capsys):
    from latentlab.evaluate import main as evaluate
    from trainers.config import TrainConfig
    from trainers.loop import Trainer

    run = TrainConfig(model="gan", data="synthetic-faces?size=16", out=str(tmp_path / "gan"), batch_size=8,
                      model_config={"latent_dim": 4, "base_channels": 8}, limit=16, max_steps=2, eval_limit=8)
    list(Trainer(run).run())
    assert evaluate([str(tmp_path / "gan" / "last.ckpt"), "--limit", "8", "--columns", "4",
                     "--grid", str(tmp_path / "grid.png")]) == 0
    assert "rows: originals / samples" in capsys.readouterr().out
    assert (tmp_path / "grid.png").stat().st_size > 0
