"""Distributions the model protocol returns: posteriors, image likelihoods, the prior.

Conventions: images are float tensors in [0, 1] shaped [B, C, H, W]; latents are [B, D].
Log-densities are per example (summed over dimensions), in nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class DiagonalGaussian:
    """Q(z|x) = N(mean, diag(exp(logvar))): the VAE posterior (Kingma & Welling 2014)."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised draw z = mean + std * eps, eps ~ N(0, I)."""
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def kl_to_standard_normal(self) -> torch.Tensor:
        """KL(Q || N(0, I)) = 1/2 sum_j (mean_j^2 + sigma_j^2 - log sigma_j^2 - 1), per example."""
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - self.logvar - 1.0).sum(dim=1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (((z - self.mean) ** 2) / self.logvar.exp() + self.logvar + LOG_2PI).sum(dim=-1)


@dataclass
class PointMass:
    """A deterministic encoder's output: Q(z|x) = delta(z - mean)."""

    mean: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.mean


@dataclass
class BernoulliImage:
    """P(x|z) = prod_i Bernoulli(x_i; sigmoid(logits_i)), used with x in [0, 1] (cross-entropy).

    -log P(x|z) = sum_i BCE(x_i, p_i); for non-binary x this is the usual continuous relaxation.
    """

    logits: torch.Tensor

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log P(x|z) per example: sum of binary cross-entropies over pixels."""
        bce = F.binary_cross_entropy_with_logits(self.logits, x, reduction="none")
        return bce.flatten(1).sum(dim=1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(self.mean, generator=generator)


@dataclass
class GaussianImage:
    """P(x|z) = N(x; mu(z), sigma^2 I) with mu = sigmoid(logits) in [0, 1] and one sigma for every pixel.

    -log P(x|z) = ||x - mu||^2 / (2 sigma^2) + D/2 log(2 pi sigma^2).
    sigma is a number, or a scalar tensor when the model learns it (Rybkin et al. 2021, sigma-VAE).
    """

    logits: torch.Tensor
    sigma: float | torch.Tensor

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        squared = (x - self.mean).pow(2).flatten(1).sum(dim=1)
        dims = x[0].numel()
        log_sigma = torch.log(torch.as_tensor(self.sigma, dtype=squared.dtype))
        return squared / (2.0 * self.sigma**2) + 0.5 * dims * (LOG_2PI + 2.0 * log_sigma)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(self.logits.shape, generator=generator, device=self.logits.device)
        return (self.mean + self.sigma * noise).clamp(0.0, 1.0)


class StandardNormalPrior:
    """P(Z) = N(0, I) in `dim` dimensions."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def sample(self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.randn(n, self.dim, generator=generator, device=device)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I) = -1/2 (||z||^2 + D log 2 pi), per example."""
        return -0.5 * (z.pow(2).sum(dim=-1) + self.dim * LOG_2PI)

    def expected_log_prob(self) -> float:
        """E_{z ~ N(0, I)} log N(z; 0, I) = -D/2 (1 + log 2 pi) (minus the entropy)."""
        return -0.5 * self.dim * (1.0 + LOG_2PI)
