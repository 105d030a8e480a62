"""Mode coverage on the 2-D ring of Gaussians: the toy that shows mode collapse, and a small MLP GAN
with Su's regulariser to run on it.

Data (Metz et al. 2017, "Unrolled Generative Adversarial Networks", the 2-D mixture experiment; the
same "2D Ring" in Srivastava et al. 2017, VEEGAN): a mixture of K = 8 equally weighted Gaussians
with means mu_k = r (cos 2 pi k / K, sin 2 pi k / K) on a circle of radius r = 2 and isotropic
standard deviation sigma = 0.02. (The unrolled-GAN authors' public demo notebook uses r = 1,
sigma = 0.01 and says its settings differ from the paper; we follow the r = 2, sigma = 0.02 setting.)

Metrics (VEEGAN, section 5.1, the definitions used for its 2D Ring / 2D Grid tables):
    a generated sample x is *high quality* if it lies within 3 sigma of the nearest mode,
        min_k ||x - mu_k|| <= 3 sigma;
    the *number of modes captured* is the number of mixture components whose mean is the nearest
        mode of at least one high-quality sample (`min_count` = 1; a larger `min_count` is a stricter
        variant: a mode then needs that many high-quality samples);
    the *high-quality fraction* is the share of all samples that are high quality.
VEEGAN evaluates 2500 samples per trained model (`EVAL_SAMPLES`).

Model (`ToyGAN`): generator and discriminator are MLPs; the losses, Su's anchor and the generator
steps are the DCGAN's own (`latentlab.models.gan.SuAnchoredGenerator`):
    discriminator:  min_D  -E_{x~data} log D(x) - E_z log(1 - D(G(z)))
    generator:      min_G  E_z[ -log D(G(z)) ] + lambda * mean (G(z) - G_old(z))²,  k steps per D step,
                    G_old(z) the generator the discriminator was just trained against
and `train_toy_gan` runs the DCGAN trainer's scheme (`trainers.schemes.AlternatingAdversarial`) on a
fresh batch of ring samples every iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from latentlab.models.base import AlternatingUpdates
from latentlab.models.distributions import StandardNormalPrior
from latentlab.models.gan import SuAnchoredGenerator, validate_schedule

RING_MODES = 8
RING_RADIUS = 2.0
RING_STD = 0.02
HIGH_QUALITY_SIGMAS = 3.0
EVAL_SAMPLES = 2500


def ring_centres(modes: int = RING_MODES, radius: float = RING_RADIUS) -> torch.Tensor:
    """The K mode centres mu_k = r (cos 2 pi k / K, sin 2 pi k / K), shape [K, 2]."""
    angles = 2.0 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def sample_ring(n: int, generator: torch.Generator | None = None, modes: int = RING_MODES,
                radius: float = RING_RADIUS, std: float = RING_STD) -> torch.Tensor:
    """n samples of the ring mixture: a uniformly chosen centre mu_k plus N(0, std² I) noise, [n, 2]."""
    which = torch.randint(modes, (n,), generator=generator)
    return ring_centres(modes, radius)[which] + std * torch.randn(n, 2, generator=generator)


@dataclass
class ModeCoverage:
    """modes: modes captured (of len(counts)); high_quality: fraction of high-quality samples;
    counts: high-quality samples whose nearest mode is each centre."""

    modes: int
    high_quality: float
    counts: list[int] = field(default_factory=list)


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor | None = None, std: float = RING_STD,
                  sigmas: float = HIGH_QUALITY_SIGMAS, min_count: int = 1) -> ModeCoverage:
    """VEEGAN's metrics (module docstring): x is high quality if min_k ||x - mu_k|| <= sigmas * std;
    a mode is captured when at least `min_count` high-quality samples have it as nearest mode."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    centres = ring_centres() if centres is None else centres
    samples = samples.detach().float().reshape(-1, centres.shape[1])
    distance, nearest = torch.cdist(samples, centres.float()).min(dim=1)
    good = distance <= sigmas * std
    counts = torch.bincount(nearest[good], minlength=centres.shape[0])
    fraction = good.float().mean().item() if len(samples) else 0.0
    return ModeCoverage(int((counts >= min_count).sum()), fraction, counts.tolist())


def mlp(inputs: int, hidden: int, layers: int, outputs: int) -> nn.Sequential:
    """`layers` hidden Linear + ReLU layers of width `hidden`, then a linear output layer."""
    parts: list[nn.Module] = []
    for i in range(layers):
        parts += [nn.Linear(inputs if i == 0 else hidden, hidden), nn.ReLU()]
    parts.append(nn.Linear(hidden if layers else inputs, outputs))
    return nn.Sequential(*parts)


@dataclass
class ToyGANConfig:
    """The 2-D GAN: latent size, MLP widths and depths, and Su's schedule as in
    `latentlab.models.gan.GANConfig`: lambda of the regulariser (0: plain GAN) on the per-element mean
    squared difference, and the generator steps per discriminator step, all against one anchor."""

    latent_dim: int = 256
    hidden: int = 128
    generator_layers: int = 4
    discriminator_layers: int = 4
    su_weight: float = 0.0
    generator_steps: int = 1

    def validate(self) -> None:
        if self.latent_dim < 1 or self.hidden < 1:
            raise ValueError(f"latent_dim and hidden must be >= 1, got {self.latent_dim}, {self.hidden}")
        if self.generator_layers < 1 or self.discriminator_layers < 1:
            raise ValueError("generator_layers and discriminator_layers must be >= 1")
        validate_schedule(self.su_weight, self.generator_steps)


class ToyGAN(SuAnchoredGenerator, AlternatingUpdates, nn.Module):
    """MLP GAN on 2-D points: the DCGAN's code path (`latentlab.models.gan.SuAnchoredGenerator`: its
    losses, Su's anchor and generator steps; the adversarial protocol's defaults) with MLPs, trained
    by `AlternatingAdversarial`."""

    def __init__(self, config: ToyGANConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.prior = StandardNormalPrior(config.latent_dim)
        self.generator = mlp(config.latent_dim, config.hidden, config.generator_layers, 2)
        self.discriminator = mlp(2, config.hidden, config.discriminator_layers, 1)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def critic(self, points: torch.Tensor) -> torch.Tensor:
        return self.discriminator(points).squeeze(1)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated points G(z), z ~ N(0, I), shape [n, 2]."""
        return self.generator(self.prior.sample(n, generator=generator))


@dataclass
class ToyRun:
    """How one toy GAN is trained: iterations (`steps`), batch size, Adam (lr, betas) and the seed."""

    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0


def train_toy_gan(config: ToyGANConfig, run: ToyRun) -> ToyGAN:
    """Build a ToyGAN and train it with the DCGAN's trainer scheme (`trainers.schemes.AlternatingAdversarial`:
    one discriminator step, the anchor, `config.generator_steps` generator steps) on a fresh ring batch
    every iteration.

    `torch.manual_seed(run.seed)` fixes the initial weights and every draw (data and z), so runs that
    differ only in `config.su_weight` start from the same networks and see the same batches (the
    regulariser draws no random numbers)."""
    from trainers.config import TrainConfig
    from trainers.schemes import AlternatingAdversarial

    torch.manual_seed(run.seed)
    model = ToyGAN(config).train()
    settings = TrainConfig(model="toy-gan", data="ring-of-8", out="", lr=run.lr, betas=run.betas)
    scheme = AlternatingAdversarial(model, settings, total_steps=run.steps)
    for _ in range(run.steps):
        scheme.step(model, sample_ring(run.batch_size))
    return model.eval()


def scatter_image(panels: list[tuple[str, torch.Tensor]], size: int = 360, extent: float = 2.6):
    """One PIL image: a square panel per (title, points [n, 2]) side by side, the view [-extent, extent]²,
    the 8 mode centres as grey circles of radius 3 sigma (the high-quality zone), points in blue."""
    from PIL import Image, ImageDraw, ImageFont

    title_h = 18
    image = Image.new("RGB", (size * len(panels), size + title_h), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    scale = size / (2 * extent)
    for i, (title, points) in enumerate(panels):
        left = i * size

        def pixel(x: float, y: float) -> tuple[float, float]:
            return left + (x + extent) * scale, title_h + (extent - y) * scale

        draw.rectangle([left, title_h, left + size - 1, title_h + size - 1], outline=(160, 160, 160))
        draw.text((left + 4, 3), title, fill=(20, 20, 20), font=font)
        ring = max(2.0, HIGH_QUALITY_SIGMAS * RING_STD * scale)
        for cx, cy in ring_centres().tolist():
            px, py = pixel(cx, cy)
            draw.ellipse([px - ring, py - ring, px + ring, py + ring], outline=(150, 150, 150), width=2)
        for x, y in points.detach().float().tolist():
            px, py = pixel(x, y)
            draw.rectangle([px, py, px + 1, py + 1], fill=(25, 90, 200))
    return image


def save_scatter(path: str, panels: list[tuple[str, torch.Tensor]]) -> None:
    """Write `scatter_image(panels)` as a PNG."""
    scatter_image(panels).save(path)
