"""GAN (Goodfellow et al. 2014; DCGAN networks) with Su's regulariser (seed 002, Su 2018).

Generator G = ConvDecoder (images are sigmoid(G(z)) in [0, 1]), discriminator D = ConvEncoder with one
output logit. Alternating updates:
    discriminator:  min_D  -E_{x~data} log D(x) - E_z log(1 - D(G(z)))
    generator:      min_G  E_z[ -log D(G(z)) + lambda ||G(z) - G_old(z)||² ]
The second term approximates KL(q(x) || q_old(x)) and keeps each update from moving the generator too
far (against mode collapse); lambda = 0 (`su_weight`) is the plain non-saturating GAN.

G_old is a frozen copy of the generator (`old_generator`, part of the state dict so resume is exact).
At G_old = G the term and its gradient vanish, so with one generator step per iteration G_old must lag:
each generator step uses the snapshot taken at the previous generator step (the generator before the
previous update) and then refreshes the snapshot to the current, pre-update generator.

A GAN has no encoder (`has_encoder = False`): the latent chain does not apply; the explorer can still
decode, drag and interpolate in its latent space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.aae import neg_log_one_minus_sigmoid, neg_log_sigmoid
from latentlab.models.base import AdversarialModel, ConvModelConfig
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.registry import register


def su_drift(fake: torch.Tensor, fake_old: torch.Tensor) -> torch.Tensor:
    """Su's regulariser without its weight: the batch estimate of E_z ||G(z) - G_old(z)||².

    Seed 002 (Su 2018, "the regulariser" section): KL(q(x) || q_old(x)) ~ lambda ∫ q(z) ||G(z) - G_old(z)||² dz,
    so the complete generator loss is E_z[ -log D(G(z)) + lambda ||G(z) - G_old(z)||² ].
    `fake` = G(z) [B, ...] (carries the gradient), `fake_old` = G_old(z) for the same z (no gradient);
    the squared norm sums every non-batch element and the result is the mean over the batch.
    """
    return (fake - fake_old).pow(2).flatten(1).sum(dim=1).mean()


@torch.no_grad()
def refresh_snapshot(old: nn.Module, new: nn.Module) -> None:
    """old <- new, every state-dict entry (weights and batch-norm statistics): the G_old update."""
    for old_value, new_value in zip(old.state_dict().values(), new.state_dict().values()):
        old_value.copy_(new_value)


@dataclass
class GANConfig(ConvModelConfig):
    """su_weight: lambda of Su's regulariser (0: plain GAN); discriminator_lr: 0 means the run's lr.
    `likelihood` only sets how decode(z) is wrapped (its mean, sigmoid(G(z)), is the image)."""

    su_weight: float = 0.0
    discriminator_lr: float = 0.0

    def validate(self) -> None:
        super().validate()
        if self.su_weight < 0:
            raise ValueError(f"su_weight must be >= 0, got {self.su_weight}")
        if self.discriminator_lr < 0:
            raise ValueError(f"discriminator_lr must be >= 0 (0: the run's lr), got {self.discriminator_lr}")


@register("gan", GANConfig, "DCGAN, optionally with Su's regulariser lambda ||G(z) - G_old(z)||² (no encoder)")
class GAN(AdversarialModel):
    has_encoder = False

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self.generator = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.discriminator = ConvEncoder(self.image_shape, 1, config.base_channels)
        self.old_generator = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.old_generator.load_state_dict(self.generator.state_dict())
        self.old_generator.requires_grad_(False)

    def encode(self, x: torch.Tensor):
        raise NotImplementedError("a GAN has no encoder (has_encoder is False)")

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.generator(z))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}

    def _critic(self, images: torch.Tensor) -> torch.Tensor:
        return self.discriminator(images).squeeze(1)

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.prior.sample(x.shape[0], device=x.device)
        with torch.no_grad():
            fake_images = torch.sigmoid(self.generator(z))
        real = neg_log_sigmoid(self._critic(x))
        fake = neg_log_one_minus_sigmoid(self._critic(fake_images))
        loss = real + fake
        return {"loss": loss, "real": real.detach(), "fake": fake.detach()}

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.prior.sample(x.shape[0], device=x.device)
        images = torch.sigmoid(self.generator(z))
        adversarial = neg_log_sigmoid(self._critic(images))
        terms = {"adversarial": adversarial}
        loss = adversarial
        if self.config.su_weight > 0:
            with torch.no_grad():
                old_images = torch.sigmoid(self.old_generator(z))
            drift = su_drift(images, old_images)
            loss = loss + self.config.su_weight * drift
            terms["drift"] = drift
            if self.training and torch.is_grad_enabled():
                self.refresh_old_generator()
        return {"loss": loss, **{k: v.detach() for k, v in terms.items()}}

    def refresh_old_generator(self) -> None:
        """G_old <- G (weights and batch-norm statistics)."""
        refresh_snapshot(self.old_generator, self.generator)
