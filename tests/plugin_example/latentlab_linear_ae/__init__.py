"""An example LatentLab model plugin: `linear_ae`, a linear autoencoder on images.

z = W_e x + b_e,  x̂ = sigmoid(W_d z + b_d): the smallest model that follows LatentLab's model
protocol (latentlab/models/base.py, docs/plugins.md). Installing this package makes the family
known to LatentLab through the entry point in pyproject.toml; nothing in LatentLab names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.base import ConvModelConfig, LatentVariableModel, mse_per_pixel
from latentlab.models.distributions import PointMass
from latentlab.models.registry import register


@dataclass
class LinearAEConfig(ConvModelConfig):
    """The shared settings (image_shape, latent_dim, likelihood, ...) plus one of its own.

    Every field must survive a JSON round trip (numbers, strings, booleans, tuples of them): the
    checkpoint stores the config as JSON and rebuilds the model from it, never from pickled code."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 8
    tied_init: bool = True  # start the decoder at the encoder's transpose

    # validate() (inherited) raises ValueError for an invalid setting; LatentLab shows its message.


@register("linear_ae", LinearAEConfig, "linear autoencoder (example plugin)")
class LinearAutoencoder(LatentVariableModel):
    def __init__(self, config: LinearAEConfig) -> None:
        super().__init__(config)  # sets config, latent_dim, image_shape and the N(0, I) prior
        pixels = int(torch.tensor(self.image_shape).prod())
        self.encoder = nn.Linear(pixels, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, pixels)
        if config.tied_init:
            with torch.no_grad():
                self.decoder.weight.copy_(self.encoder.weight.t())

    def encode(self, x: torch.Tensor) -> PointMass:
        """Q(z|x): a point mass at W_e x + b_e (its `.mean` is what the explorer's atlas holds)."""
        return PointMass(self.encoder(x.flatten(1)))

    def decode(self, z: torch.Tensor):
        """P(x|z): `.mean` is an image batch [B, C, H, W] in [0, 1]."""
        return self.likelihood(self.decoder(z).view(-1, *self.image_shape))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """"loss" is what the trainer minimises; the other terms are shown."""
        px = self.decode(self.encoder(x.flatten(1)))
        recon = px.nll(x).mean()
        return {"loss": recon, "recon": recon.detach(), "mse": mse_per_pixel(x, px.mean)}
