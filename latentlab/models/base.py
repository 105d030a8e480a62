"""The protocol every latent-variable model follows (see docs/architecture.md).

    latent_dim, image_shape
    encode(x) -> posterior (.mean, .sample())      decode(z) -> likelihood (.mean in [0, 1], .sample())
    prior (.sample(n), .log_prob(z))               corruption: x -> x̃, or None
    losses(x) -> dict of named scalar terms; "loss" is the objective the single-objective trainer
                 minimises, the others are shown.  forward(x) == losses(x), so DistributedDataParallel
                 (which only synchronises gradients through forward) wraps any model unchanged.

Adversarial models (AAE, WAE-GAN, GAN, ALI; subclasses of `AdversarialModel` below) add what the
alternating scheme (`trainers.schemes.AlternatingAdversarial`) needs:
    scheme = "adversarial"          make_scheme picks the alternating scheme for such models
    phases() -> the update phases of one iteration, in order; ("discriminator", "generator") unless
                 a model adds its own (the AAE's separate "encoder" phase)
    parameter_groups() -> {phase: [...]}: one parameter list per phase, one Adam each ("generator"
                 is whatever plays against the discriminator: the encoder + decoder of the AAE /
                 WAE-GAN, the generator of the GAN, E and G of ALI); every trainable parameter is in
                 at least one list, and the discriminator's in no other
    <phase>_losses(x) -> dict of named terms, "loss" being the objective of that phase
    forward(x, phase) == <phase>_losses(x), so the scheme calls `module(x, phase=...)` and a
                 DistributedDataParallel wrapper still sees every forward
    phase_lr(phase) -> learning rate of that phase's Adam (None: the run's lr); by default the
                 discriminator's is `discriminator_lr()`
    phase_repeats(phase) -> updates of that phase per iteration (Su's schedule: 2 generator steps)
    begin_phase(phase, x) / end_phase(phase) -> called around a phase's repeats (the GAN draws the
                 iteration's z and its anchor G_old(z) there)
    discriminator_gate() -> None, or (logged term, bound): the discriminator is updated only while
                 that term of the previous iteration is below the bound (Creswell's balance rule)
    losses(x) -> the generator terms plus the discriminator terms prefixed "d_" (evaluation/display)
A model without an encoder (the GAN) sets `has_encoder = False` and raises from `encode`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from latentlab.models.distributions import BernoulliImage, GaussianImage, StandardNormalPrior

LIKELIHOODS = ("bernoulli", "gaussian")


@dataclass
class ConvModelConfig:
    """Shared hyper-parameters of the convolutional latent-variable models.

    image_shape: (channels, side, side) of the training images, e.g. (3, 64, 64) or (1, 28, 28).
    latent_dim: size of z, 2..256.
    likelihood: "bernoulli" (cross-entropy, as Creswell et al.) or "gaussian" (squared error with a
        fixed `gaussian_sigma`).
    base_channels: width of the first convolution; doubles per layer up to 8x.
    """

    image_shape: tuple[int, int, int] = (3, 64, 64)
    latent_dim: int = 64
    likelihood: str = "bernoulli"
    gaussian_sigma: float = 0.1
    base_channels: int = 32

    def validate(self) -> None:
        channels, side, width = self.image_shape
        if channels not in (1, 3):
            raise ValueError(f"image_shape channels must be 1 or 3, got {channels}")
        if side != width or side < 8:
            raise ValueError(f"image_shape must be square with side >= 8, got {side}x{width}")
        if not 2 <= self.latent_dim <= 256:
            raise ValueError(f"latent_dim must be between 2 and 256, got {self.latent_dim}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {self.likelihood!r}")
        if self.gaussian_sigma <= 0:
            raise ValueError(f"gaussian_sigma must be positive, got {self.gaussian_sigma}")
        if not 4 <= self.base_channels <= 512:
            raise ValueError(f"base_channels must be between 4 and 512, got {self.base_channels}")


class LatentVariableModel(nn.Module):
    """Base class: holds the config, the prior and the image likelihood; subclasses encode/decode."""

    has_encoder: bool = True
    corruption: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __init__(self, config: ConvModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = tuple(config.image_shape)
        self.prior = StandardNormalPrior(config.latent_dim)

    def likelihood(self, logits: torch.Tensor) -> BernoulliImage | GaussianImage:
        if self.config.likelihood == "bernoulli":
            return BernoulliImage(logits)
        return GaussianImage(logits, self.config.gaussian_sigma)

    def encode(self, x: torch.Tensor) -> Any:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> BernoulliImage | GaussianImage:
        raise NotImplementedError

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.losses(x)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean: the deterministic reconstruction shown to users."""
        return self.decode(self.encode(x).mean).mean

    @torch.no_grad()
    def sample_images(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoder means of n prior samples."""
        device = next(self.parameters()).device
        return self.decode(self.prior.sample(n, generator=generator, device=device)).mean


class AlternatingUpdates:
    """The adversarial protocol's defaults (see the module docstring), for any nn.Module fitted by
    `trainers.schemes.AlternatingAdversarial`: the face models through `AdversarialModel`, and the
    ring-of-8 toy GAN. Subclasses implement parameter_groups and one `<phase>_losses` per phase."""

    scheme = "adversarial"
    PHASES: tuple[str, ...] = ("discriminator", "generator")

    def phases(self) -> tuple[str, ...]:
        return self.PHASES

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        raise NotImplementedError

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def discriminator_lr(self) -> float | None:
        lr = float(getattr(self.config, "discriminator_lr", 0.0) or 0.0)
        return lr if lr > 0 else None

    def phase_lr(self, phase: str) -> float | None:
        return self.discriminator_lr() if phase == "discriminator" else None

    def phase_repeats(self, phase: str) -> int:
        return 1

    def begin_phase(self, phase: str, x: torch.Tensor) -> None:
        """Called by the scheme before a phase's updates of one iteration."""

    def end_phase(self, phase: str) -> None:
        """Called by the scheme after a phase's updates of one iteration."""

    def discriminator_gate(self) -> tuple[str, float] | None:
        return None

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = {k: v.detach() for k, v in self.generator_losses(x).items()}
        terms.update({f"d_{k}": v.detach() for k, v in self.discriminator_losses(x).items()})
        return terms

    def forward(self, x: torch.Tensor, phase: str | None = None) -> dict[str, torch.Tensor]:
        if phase is None:
            return self.losses(x)
        if phase not in self.phases():
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(self.phases())}")
        return getattr(self, f"{phase}_losses")(x)


class AdversarialModel(AlternatingUpdates, LatentVariableModel):
    """Base of the latent-variable models fitted by alternating updates (AAE, WAE-GAN, GAN, ALI)."""


def check_discriminator_lr(discriminator_lr: float) -> None:
    """ValueError unless `discriminator_lr` (the `discriminator_lr()` of the configs that have one)
    is >= 0; 0 means the run's lr."""
    if discriminator_lr < 0:
        raise ValueError(f"discriminator_lr must be >= 0 (0: the run's lr), got {discriminator_lr}")


def check_generator_steps(generator_steps: int) -> None:
    """ValueError unless `generator_steps` (the generator's updates per discriminator update,
    `phase_repeats("generator")` of the GAN and ALI) is between 1 and 20."""
    if not 1 <= generator_steps <= 20:
        raise ValueError(f"generator_steps must be between 1 and 20, got {generator_steps}")


def mse_per_pixel(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel value, averaged over the batch (a display metric, not a loss)."""
    return (x - mean.detach()).pow(2).mean()
