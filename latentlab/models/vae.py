"""Variational autoencoder (Kingma & Welling 2014).

Loss per example (the negative ELBO, in nats):
    -ELBO(x) = E_{Q(z|x)}[-log P(x|z)] + beta * KL(Q(z|x) || N(0, I)),
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1),
with one reparameterised sample z = mu + sigma * eps. beta = 1 is the true ELBO.

With `learn_sigma` and the Gaussian likelihood, the decoder's variance is one learned scalar
(the sigma-VAE of Rybkin, Daniilidis & Levine 2021, "Simple and Effective VAE Training with Calibrated
Decoders"): -log P(x|z) = ||x - mu||^2 / (2 sigma^2) + D log sigma + const, whose optimum in sigma is
sigma^2 = the mean squared error per pixel. The reconstruction/KL balance is thereby learned instead of
fixed by the likelihood's choice; with faces it lands near sigma = 0.1, weighting the reconstruction far
more than the Bernoulli cross-entropy does, so decodes are sharper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from latentlab.models.base import ConvModelConfig, LatentVariableModel, mse_per_pixel
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import DiagonalGaussian, GaussianImage
from latentlab.models.registry import register

LOGVAR_RANGE = (-12.0, 8.0)  # keeps exp(logvar) finite early in training
LOG_SIGMA_MIN = math.log(1e-3)  # a learned decoder sigma below 1/1000 of the pixel range would only overfit


@dataclass
class VAEConfig(ConvModelConfig):
    beta: float = 1.0
    learn_sigma: bool = False  # Gaussian likelihood only: learn its sigma (starts at gaussian_sigma)

    def validate(self) -> None:
        super().validate()
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if self.learn_sigma and self.likelihood != "gaussian":
            raise ValueError("learn_sigma needs likelihood='gaussian' (a Bernoulli likelihood has no variance)")


@register("vae", VAEConfig, "variational autoencoder (ELBO: reconstruction + KL to N(0, I))")
class VAE(LatentVariableModel):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(self.image_shape, 2 * config.latent_dim, config.base_channels)
        self.decoder = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        if config.learn_sigma:
            self.log_sigma = torch.nn.Parameter(torch.tensor(math.log(config.gaussian_sigma)))

    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar.clamp(*LOGVAR_RANGE))

    def decode(self, z: torch.Tensor):
        logits = self.decoder(z)
        if self.config.learn_sigma:
            return GaussianImage(logits, self.log_sigma.clamp(min=LOG_SIGMA_MIN).exp())
        return self.likelihood(logits)

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
