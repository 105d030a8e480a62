"""GAN (Goodfellow et al. 2014; DCGAN networks) with Su's regulariser on Su's schedule.

Generator G = ConvDecoder (images are sigmoid(G(z)) in [0, 1]), discriminator D = ConvEncoder with one
output logit. Each iteration (Su 2018, arXiv 1807.05936, and its reference code
bojone/gan vgan/celeba_dcgan_with_regularization.py):
    1. discriminator, once:   min_D  -E_{x~data} log D(x) - E_z log(1 - D(G(z)))
    2. the anchor, once:      z ~ N(0, I) and G_old(z), the generator D was just trained against
    3. generator, k times on that z (`generator_steps`, Su: k = 2):
                              min_G  E_z[ -log D(G(z)) ] + lambda * mean_elements (G(z) - G_old(z))²
The second term approximates KL(q(x) || q_old(x)) and keeps the generator from moving far from the
distribution the discriminator judged (against mode collapse). Its gradient is zero at the anchor
itself, so it acts from the second generator step on: with k = 1 it does nothing. lambda = 0
(`su_weight`) is the plain non-saturating GAN. Su's lambda = 5 on images in [-1, 1] is 20 here,
on images in [0, 1] (the squared difference scales by 4).

A GAN has no encoder (`has_encoder = False`): the latent chain does not apply; the explorer can still
decode, drag and interpolate in its latent space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.adversarial_losses import neg_log_one_minus_sigmoid, neg_log_sigmoid, su_drift
from latentlab.models.base import AdversarialModel, ConvModelConfig, check_discriminator_lr, check_generator_steps
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.registry import register


class SuAnchoredGenerator:
    """Su's generator phase for any GAN following the adversarial protocol (base.py) with
    `generator`, `prior`, `config.su_weight`, `config.generator_steps` and `generate(z)`.

    begin_phase("generator") draws the iteration's z and, with lambda > 0, its anchor G_old(z) under
    no gradient; every one of the k generator steps then uses that z and that anchor. Outside an
    iteration (evaluation, display) the generator terms use a fresh z and no drift."""

    _iteration: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def critic(self, samples: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def phase_repeats(self, phase: str) -> int:
        return int(self.config.generator_steps) if phase == "generator" else 1

    def begin_phase(self, phase: str, x: torch.Tensor) -> None:
        if phase != "generator":
            return
        z = self.prior.sample(x.shape[0], device=x.device)
        anchor = None
        if self.config.su_weight > 0:
            with torch.no_grad():
                anchor = self.generate(z)
        self._iteration = (z, anchor)

    def end_phase(self, phase: str) -> None:
        if phase == "generator":
            self._iteration = None

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.prior.sample(x.shape[0], device=x.device)
        with torch.no_grad():
            fake = self.generate(z)
        real, fake_term = neg_log_sigmoid(self.critic(x)), neg_log_one_minus_sigmoid(self.critic(fake))
        return {"loss": real + fake_term, "real": real.detach(), "fake": fake_term.detach()}

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z, anchor = self._iteration or (self.prior.sample(x.shape[0], device=x.device), None)
        fake = self.generate(z)
        adversarial = neg_log_sigmoid(self.critic(fake))
        loss = adversarial
        terms = {"adversarial": adversarial.detach()}
        if self.config.su_weight > 0:
            drift = su_drift(fake, anchor) if anchor is not None else torch.zeros((), device=fake.device)
            loss = loss + self.config.su_weight * drift
            terms["drift"] = drift.detach()
        return {"loss": loss, **terms}


def validate_schedule(su_weight: float, generator_steps: int) -> None:
    """The checks every GAN config with Su's schedule shares."""
    if su_weight < 0:
        raise ValueError(f"su_weight must be >= 0, got {su_weight}")
    check_generator_steps(generator_steps)


@dataclass
class GANConfig(ConvModelConfig):
    """su_weight: lambda of Su's regulariser on the per-element mean squared difference of [0, 1]
    images (0: plain GAN); generator_steps: generator updates per discriminator update, all against
    one anchor (Su: 2); discriminator_lr: 0 means the run's lr. `likelihood` only sets how decode(z)
    is wrapped (its mean, sigmoid(G(z)), is the image)."""

    su_weight: float = 0.0
    generator_steps: int = 1
    discriminator_lr: float = 0.0

    def validate(self) -> None:
        super().validate()
        validate_schedule(self.su_weight, self.generator_steps)
        check_discriminator_lr(self.discriminator_lr)


@register("gan", GANConfig, "DCGAN, optionally with Su's regulariser lambda ||G(z) - G_old(z)||² (no encoder)")
class GAN(SuAnchoredGenerator, AdversarialModel):
    has_encoder = False

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self.generator = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.discriminator = ConvEncoder(self.image_shape, 1, config.base_channels)

    def encode(self, x: torch.Tensor):
        raise NotImplementedError("a GAN has no encoder (has_encoder is False)")

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.generator(z))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.generator(z))

    def critic(self, samples: torch.Tensor) -> torch.Tensor:
        return self.discriminator(samples).squeeze(1)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}
