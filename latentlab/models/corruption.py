"""Corruption processes C(x̃|x) for denoising autoencoders (Creswell et al. 2016; Im et al. 2017).

The denoising model encodes x̃ ~ C(x̃|x) and reconstructs the clean x. The latent chain of the
denoising model corrupts before every re-encode:
T(z'|z) = ∫ Q(z'|x̃) C(x̃|x) P(x|z) dx dx̃.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CORRUPTIONS = ("gaussian", "dropout")


@dataclass(frozen=True)
class GaussianNoise:
    """x̃ = x + std * eps, eps ~ N(0, I); the paper uses N(x, 0.25 I), i.e. std 0.5, on [0, 1] images."""

    std: float = 0.5

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + self.std * noise


@dataclass(frozen=True)
class PixelDropout:
    """x̃ = m ⊙ x with m_i ~ Bernoulli(1 - p) per pixel location (all channels of a pixel together)."""

    p: float = 0.25

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        keep = torch.rand((x.shape[0], 1, *x.shape[2:]), generator=generator, device=x.device) >= self.p
        return x * keep.to(x.dtype)


def make_corruption(kind: str, level: float) -> GaussianNoise | PixelDropout:
    """`level` is the noise std for "gaussian" and the drop probability for "dropout"."""
    if kind == "gaussian":
        return GaussianNoise(std=level)
    if kind == "dropout":
        return PixelDropout(p=level)
    raise ValueError(f"unknown corruption {kind!r}; choose one of {', '.join(CORRUPTIONS)}")
