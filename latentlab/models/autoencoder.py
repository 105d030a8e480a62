"""Deterministic autoencoder: z = E(x), loss = -log P(x | D(z)) (no prior term).

Without a prior-matching term nothing makes the aggregate posterior P̂(Z) resemble P(Z) = N(0, I),
which is exactly what the latent map shows for this model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.models.base import ConvModelConfig, LatentVariableModel, mse_per_pixel
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import PointMass
from latentlab.models.registry import register


@dataclass
class AutoencoderConfig(ConvModelConfig):
    pass


@register("ae", AutoencoderConfig, "deterministic autoencoder (reconstruction only)")
class Autoencoder(LatentVariableModel):
    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(self.image_shape, config.latent_dim, config.base_channels)
        self.decoder = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)

    def encode(self, x: torch.Tensor) -> PointMass:
        return PointMass(self.encoder(x))

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """loss = E_x[-log P(x | D(E(x)))], per image, averaged over the batch."""
        px = self.decode(self.encoder(x))
        recon = px.nll(x).mean()
        return {"loss": recon, "recon": recon.detach(), "mse": mse_per_pixel(x, px.mean)}
