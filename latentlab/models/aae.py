"""Adversarial autoencoder (Makhzani et al. 2016), trained by the alternating adversarial scheme.

Deterministic encoder z = E(x), decoder G, and a latent discriminator D(z) (an MLP giving the
probability that z was drawn from the prior P(Z) = N(0, I)). Alternating updates:
    discriminator:        min_D  -E_{z~P(Z)} log D(z) - E_x log(1 - D(E(x)))
    encoder + decoder:    min_{G,E}  E_x[ -w_adv log D(E(x)) + lambda * (-log P(x | G(E(x)))) ]
With the Gaussian likelihood the reconstruction term is ||x - G(E(x))||² / (2 sigma²) + const, the
brief's lambda ||x - G(E(x))||²; with the Bernoulli likelihood it is the cross-entropy. Su (seed 002)
derives the same pair from variational inference. Past 2 latent dimensions the AAE is hard to train.

Adversarial-model interface (see base.py): `scheme = "adversarial"`, `parameter_groups()`,
`discriminator_losses(x)`, `generator_losses(x)`, `forward(x, phase)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.base import AdversarialModel, ConvModelConfig, mse_per_pixel
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import PointMass
from latentlab.models.registry import register


@dataclass
class AAEConfig(ConvModelConfig):
    """recon_weight: lambda on the reconstruction term; adversarial_weight: weight of -log D(E(x)).
    disc_hidden: width of the latent discriminator's two hidden layers.
    discriminator_lr: Adam learning rate of the discriminator; 0 means the run's lr.
    encoder_batchnorm: batch-norm on the encoder output (seed 002: helps past 2 latent dimensions)."""

    recon_weight: float = 1.0
    adversarial_weight: float = 1.0
    disc_hidden: int = 256
    discriminator_lr: float = 0.0
    encoder_batchnorm: bool = False

    def validate(self) -> None:
        super().validate()
        if self.recon_weight < 0 or self.adversarial_weight < 0:
            raise ValueError("recon_weight and adversarial_weight must be >= 0")
        if not 8 <= self.disc_hidden <= 4096:
            raise ValueError(f"disc_hidden must be between 8 and 4096, got {self.disc_hidden}")
        if self.discriminator_lr < 0:
            raise ValueError(f"discriminator_lr must be >= 0 (0: the run's lr), got {self.discriminator_lr}")


class LatentDiscriminator(nn.Module):
    """D(z): an MLP [D] -> hidden -> hidden -> 1 logit (LeakyReLU 0.2); sigmoid(logit) = P(z ~ prior)."""

    def __init__(self, latent_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


def neg_log_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """-log D with D = sigmoid(logits), computed stably (softplus(-l)), averaged over the batch."""
    return F.softplus(-logits).mean()


def neg_log_one_minus_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - D) with D = sigmoid(logits) (softplus(l)), averaged over the batch."""
    return F.softplus(logits).mean()


class LatentAdversarialAutoencoder(AdversarialModel):
    """Shared by the AAE and the WAE-GAN: encoder, decoder and a latent discriminator."""

    def __init__(self, config: AAEConfig) -> None:
        super().__init__(config)
        self.encoder: nn.Module = ConvEncoder(self.image_shape, config.latent_dim, config.base_channels)
        if getattr(config, "encoder_batchnorm", False):
            self.encoder = nn.Sequential(self.encoder, nn.BatchNorm1d(config.latent_dim))
        self.decoder = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.discriminator = LatentDiscriminator(config.latent_dim, config.disc_hidden)

    def encode(self, x: torch.Tensor) -> PointMass:
        return PointMass(self.encoder(x))

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.encoder.parameters()) + list(self.decoder.parameters())}

    def weights(self) -> tuple[float, float]:
        """(reconstruction weight, adversarial weight) of the encoder/decoder objective."""
        return self.config.recon_weight, self.config.adversarial_weight

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z_prior = self.prior.sample(x.shape[0], device=x.device)
        with torch.no_grad():
            z_code = self.encoder(x)
        real = neg_log_sigmoid(self.discriminator(z_prior))
        fake = neg_log_one_minus_sigmoid(self.discriminator(z_code))
        loss = real + fake
        return {"loss": loss, "real": real.detach(), "fake": fake.detach()}

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encoder(x)
        px = self.decode(z)
        recon = px.nll(x).mean()
        adversarial = neg_log_sigmoid(self.discriminator(z))
        w_recon, w_adv = self.weights()
        loss = w_recon * recon + w_adv * adversarial
        return {"loss": loss, "recon": recon.detach(), "adversarial": adversarial.detach(),
                "mse": mse_per_pixel(x, px.mean)}


@register("aae", AAEConfig, "adversarial autoencoder (reconstruction + latent discriminator on E(x) vs N(0, I))")
class AAE(LatentAdversarialAutoencoder):
    pass
