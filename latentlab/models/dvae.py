"""Denoising VAE (Im et al. 2017; the denoising generative autoencoder of Creswell et al. 2016).

The encoder sees a corrupted x̃ ~ C(x̃|x) and the decoder reconstructs the clean x:
    loss(x) = E_{C(x̃|x)} E_{Q(z|x̃)}[-log P(x|z)] + beta * KL(Q(z|x̃) || N(0, I)).
Corruption: additive Gaussian noise (the paper's N(x, 0.25 I): level = std 0.5) or pixel dropout
(level = drop probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.models.corruption import CORRUPTIONS, make_corruption
from latentlab.models.registry import register
from latentlab.models.vae import VAE, VAEConfig


@dataclass
class DenoisingVAEConfig(VAEConfig):
    corruption: str = "gaussian"
    corruption_level: float = 0.5

    def validate(self) -> None:
        super().validate()
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {', '.join(CORRUPTIONS)}, got {self.corruption!r}")
        if self.corruption == "dropout" and not 0.0 <= self.corruption_level < 1.0:
            raise ValueError(f"dropout corruption_level must be in [0, 1), got {self.corruption_level}")
        if self.corruption_level < 0:
            raise ValueError(f"corruption_level must be >= 0, got {self.corruption_level}")


@register("dvae", DenoisingVAEConfig, "denoising VAE (encoder sees corrupted images)")
class DenoisingVAE(VAE):
    def __init__(self, config: DenoisingVAEConfig) -> None:
        super().__init__(config)
        self.corruption = make_corruption(config.corruption, config.corruption_level)

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.corruption(x)
