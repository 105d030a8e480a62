"""The 2-D ring toy (latentlab.studies.mode_coverage): ring sampler, VEEGAN mode metrics, the shared
Su regulariser and schedule (latentlab.models.adversarial_losses.su_drift,
latentlab.models.gan.SuAnchoredGenerator) in the MLP GAN trained by the DCGAN's alternating scheme,
and `python -m latentlab.bench modes` end to end."""

import math

import pytest
import torch

from latentlab.studies.mode_coverage import (
    RING_RADIUS,
    RING_STD,
    ToyGAN,
    ToyGANConfig,
    ToyRun,
    mode_coverage,
    ring_centres,
    sample_ring,
    scatter_image,
    train_toy_gan,
)
from latentlab.models.adversarial_losses import su_drift
from latentlab.models.gan import GAN, GANConfig, SuAnchoredGenerator
from trainers.config import TrainConfig
from trainers.schemes import AlternatingAdversarial

TINY = {"latent_dim": 4, "hidden": 8, "generator_layers": 2, "discriminator_layers": 2}


def test_ring_centres_are_eight_equally_spaced_points_on_the_radius_2_circle():
    centres = ring_centres()
    assert centres.shape == (8, 2)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    neighbour = (centres - centres.roll(1, dims=0)).norm(dim=1)
    assert torch.allclose(neighbour, torch.full((8,), 2 * RING_RADIUS * math.sin(math.pi / 8)), atol=1e-5)
    assert torch.allclose(centres[0], torch.tensor([2.0, 0.0])) and torch.allclose(centres[2], torch.tensor([0.0, 2.0]), atol=1e-6)


def test_ring_samples_sit_on_their_modes_with_std_0_02_and_equal_weights():
    x = sample_ring(40_000, torch.Generator().manual_seed(0))
    distance, nearest = torch.cdist(x, ring_centres()).min(dim=1)
    offsets = x - ring_centres()[nearest]
    assert offsets.std(dim=0).sub(RING_STD).abs().max() < 0.001
    assert distance.max() < 6 * RING_STD
    shares = torch.bincount(nearest, minlength=8).float() / len(x)
    assert shares.sub(1 / 8).abs().max() < 0.01
    assert mode_coverage(x).modes == 8 and mode_coverage(x).high_quality > 0.98  # 1 - exp(-9/2) = 0.989


def test_samples_at_three_centres_cover_three_modes_and_are_all_high_quality():
    centres = ring_centres()
    x = centres[[1, 4, 6]].repeat(100, 1)
    result = mode_coverage(x)
    assert result.modes == 3 and result.high_quality == 1.0
    assert result.counts == [0, 100, 0, 0, 100, 0, 100, 0]


def test_far_from_the_ring_nothing_is_high_quality_and_no_mode_is_covered():
    generator = torch.Generator().manual_seed(1)
    inside = (torch.rand(1000, 2, generator=generator) - 0.5) * 2.0  # the square [-1, 1]², radius < 1.5
    result = mode_coverage(inside)
    assert result.modes == 0 and result.high_quality == 0.0
    half = torch.cat([inside, ring_centres()[[0]].repeat(1000, 1)])
    assert mode_coverage(half).modes == 1 and mode_coverage(half).high_quality == 0.5


def test_high_quality_is_within_three_sigma_and_min_count_is_stricter():
    centre = ring_centres()[3]
    direction = centre / centre.norm()
    just_in, just_out = centre + 0.059 * direction, centre + 0.061 * direction
    assert mode_coverage(just_in[None]).modes == 1
    assert mode_coverage(just_out[None]).modes == 0
    x = torch.cat([ring_centres()[[0]].repeat(30, 1), ring_centres()[[5]].repeat(2, 1)])
    assert mode_coverage(x).modes == 2 and mode_coverage(x, min_count=25).modes == 1
    with pytest.raises(ValueError):
        mode_coverage(x, min_count=0)


def test_su_drift_is_the_mean_squared_difference_per_element_and_zero_at_the_anchor():
    fake = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    assert su_drift(fake, fake.clone()).item() == 0.0
    assert su_drift(fake, torch.zeros_like(fake)).item() == pytest.approx((1.0 + 9.0) / 4)
    images = torch.rand(3, 1, 4, 4)
    assert su_drift(images, images + 0.5).item() == pytest.approx(0.25)  # Su's per-element mean


def test_the_anchor_is_the_generator_the_discriminator_saw_and_holds_for_the_iteration():
    torch.manual_seed(0)
    model = ToyGAN(ToyGANConfig(su_weight=1.0, generator_steps=2, **TINY)).train()
    x = sample_ring(16)
    model.begin_phase("generator", x)
    first = model.generator_losses(x)
    assert first["drift"].item() == 0.0  # G is still the anchor
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(0.01)
    second = model.generator_losses(x)  # same z, same anchor, moved generator
    assert second["drift"].item() > 0
    assert second["loss"].item() == pytest.approx(second["adversarial"].item() + second["drift"].item(), rel=1e-6)
    model.end_phase("generator")
    assert model.generator_losses(x)["drift"].item() == 0.0  # outside an iteration: no anchor, no drift
    assert "drift" not in ToyGAN(ToyGANConfig(su_weight=0.0, **TINY)).generator_losses(x)


def test_the_dcgan_takes_generator_steps_per_anchor_from_its_config():
    gan = GAN(GANConfig(image_shape=(1, 16, 16), latent_dim=4, base_channels=8, su_weight=20.0, generator_steps=2))
    assert gan.phase_repeats("generator") == 2 and gan.phase_repeats("discriminator") == 1
    assert isinstance(gan, SuAnchoredGenerator) and isinstance(ToyGAN(ToyGANConfig(**TINY)), SuAnchoredGenerator)


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.generator.parameters()] + \
           [p.detach().clone() for p in model.discriminator.parameters()]


@pytest.mark.parametrize("weight", [0.0, 2.0])
def test_the_toy_trains_through_the_dcgan_trainers_scheme(weight):
    config, run = ToyGANConfig(su_weight=weight, generator_steps=2, **TINY), ToyRun(steps=6, batch_size=16, seed=3)
    trained = train_toy_gan(config, run)
    torch.manual_seed(run.seed)
    model = ToyGAN(config).train()
    scheme = AlternatingAdversarial(model, TrainConfig(model="toy", data="", out="", lr=run.lr, betas=run.betas),
                                    total_steps=run.steps)
    for _ in range(run.steps):
        scheme.step(model, sample_ring(run.batch_size))
    assert all(torch.equal(a, b) for a, b in zip(_weights(trained), _weights(model)))


def test_the_regulariser_acts_only_from_the_second_generator_step_of_an_iteration():
    run = ToyRun(steps=4, batch_size=16, seed=1)
    # One generator step per anchor: the regulariser's gradient is zero at the anchor, so training is
    # exactly the plain GAN's; Su's second step feels it.
    plain = _weights(train_toy_gan(ToyGANConfig(**TINY), run))
    once = _weights(train_toy_gan(ToyGANConfig(su_weight=5.0, **TINY), run))
    assert all(torch.equal(a, b) for a, b in zip(plain, once))
    plain_twice = _weights(train_toy_gan(ToyGANConfig(generator_steps=2, **TINY), run))
    reg_twice = _weights(train_toy_gan(ToyGANConfig(su_weight=5.0, generator_steps=2, **TINY), run))
    assert not all(torch.equal(a, b) for a, b in zip(plain_twice, reg_twice))


def test_bad_toy_settings_are_refused():
    for bad in ({"su_weight": -1.0}, {"generator_steps": 0}, {"hidden": 0}):
        with pytest.raises(ValueError):
            ToyGAN(ToyGANConfig(**{**TINY, **bad}))


def test_scatter_image_has_one_panel_per_model():
    image = scatter_image([("a", ring_centres()), ("b", torch.zeros(5, 2))], size=100)
    assert image.size == (200, 118)
    assert image.getpixel((50, 68)) == (255, 255, 255) and image.getpixel((150, 68)) != (255, 255, 255)


def test_bench_modes_runs_end_to_end_and_prints_the_table(capsys, tmp_path):
    from latentlab.bench.__main__ import main

    png = tmp_path / "modes.png"
    assert main(["modes", "--seeds", "7", "--steps", "3", "--batch-size", "32", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split("|")[0].strip() == "7" for line in lines)
    mean = next(line for line in lines if line.startswith("  mean"))
    assert len(mean.replace("|", " ").split()) == 7
    assert "of 1 seeds" in out and png.stat().st_size > 0
    with pytest.raises(SystemExit):
        main(["modes", "--steps", "0"])
