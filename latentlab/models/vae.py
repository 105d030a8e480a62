"""Variational autoencoder (Kingma & Welling 2014).

Loss per example (the negative ELBO, in nats):
    -ELBO(x) = E_{Q(z|x)}[-log P(x|z)] + beta * KL(Q(z|x) || N(0, I)),
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1),
with one reparameterised sample z = mu + sigma * eps. beta = 1 is the true ELBO.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.models.base import ConvModelConfig, LatentVariableModel, mse_per_pixel
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import DiagonalGaussian
from latentlab.models.registry import register

LOGVAR_RANGE = (-12.0, 8.0)  # keeps exp(logvar) finite early in training


@dataclass
class VAEConfig(ConvModelConfig):
    beta: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")


@register("vae", VAEConfig, "variational autoencoder (ELBO: reconstruction + KL to N(0, I))")
class VAE(LatentVariableModel):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(self.image_shape, 2 * config.latent_dim, config.base_channels)
        self.decoder = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)

    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar.clamp(*LOGVAR_RANGE))

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z))

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees during training: x itself (the denoising VAE corrupts it)."""
        return x

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        qz = self.encode(self.encoder_input(x))
        px = self.decode(qz.sample())
        recon = px.nll(x).mean()
        kl = qz.kl_to_standard_normal().mean()
        loss = recon + self.config.beta * kl
        return {"loss": loss, "recon": recon.detach(), "kl": kl.detach(), "mse": mse_per_pixel(x, px.mean)}
