"""Cheap image and sample statistics: mean intensity, sharpness, and the unbiased MMD.

Images are [N, C, H, W] in [0, 1] (numpy arrays or torch tensors); results are numpy float64.

- sharpness = variance of the Laplacian of the luminance (Pech-Pacheco et al. 2000, "Diatom
  autofocusing in brightfield microscopy"): blur removes high frequencies, so a blurred or ghosted
  decode has a smaller Laplacian variance than a sharp one.
- MMD (Gretton et al. 2012, "A kernel two-sample test", eq. 3), computed by `latentlab.models.mmd`
  (the training losses' implementation), the unbiased estimator

      MMD²_u = 1/(n(n-1)) Σ_{i≠j} k(a_i, a_j) + 1/(m(m-1)) Σ_{i≠j} k(b_i, b_j) - 2/(nm) Σ_{i,j} k(a_i, b_j)

  with the kernels of WAE (Tolstikhin et al. 2018, "Wasserstein Auto-Encoders", arXiv:1711.01558):
  RBF exp(-||a-b||² / (2 σ_k²)) with σ_k² the median pairwise squared distance of the pooled
  samples, or IMQ Σ_s C_s / (C_s + ||a-b||²)
  over C_s = 2 · D · σ_p² · s, s ∈ {.1, .2, .5, 1, 2, 5, 10}, σ_p² the prior variance (1 for N(0, I)).
  Unbiased: its expectation is the population MMD², so it is 0 on average (and can be negative) for
  equal distributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ITU-R BT.601 luma weights for RGB.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _images(x: Any) -> np.ndarray:
    x = _numpy(x)
    if x.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {x.shape}")
    return x


def mean_intensity(x: Any) -> np.ndarray:
    """Mean pixel value of each image, [N]."""
    x = _images(x)
    return x.reshape(len(x), -1).mean(axis=1)


def luminance(x: Any) -> np.ndarray:
    """[N, H, W]: the single channel of gray images, BT.601 luma of RGB, the channel mean otherwise."""
    x = _images(x)
    if x.shape[1] == 1:
        return x[:, 0]
    if x.shape[1] == 3:
        return np.einsum("nchw,c->nhw", x, LUMA_WEIGHTS)
    return x.mean(axis=1)


def laplacian(x: Any) -> np.ndarray:
    """The 3x3 Laplacian [[0,1,0],[1,-4,1],[0,1,0]] of the luminance, 'valid' region: [N, H-2, W-2]."""
    y = luminance(x)
    if y.shape[1] < 3 or y.shape[2] < 3:
        raise ValueError(f"images must be at least 3x3 for the Laplacian, got {y.shape[1]}x{y.shape[2]}")
    return (y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2] + y[:, 1:-1, 2:] - 4.0 * y[:, 1:-1, 1:-1])


def sharpness(x: Any) -> np.ndarray:
    """Variance of the Laplacian of each image's luminance, [N] (higher = sharper)."""
    lap = laplacian(x)
    return lap.reshape(len(lap), -1).var(axis=1)


def mmd_unbiased(a: Any, b: Any, kernel: str = "rbf", sigma2: float | None = None,
                 prior_var: float = 1.0) -> float:
    """Unbiased MMD² between samples a [N, D] and b [M, D] (N, M >= 2) as a float; see the module
    docstring. One implementation serves training and evaluation: `latentlab.models.mmd`, run here
    in float64 without gradients."""
    import torch

    from latentlab.models import mmd

    with torch.no_grad():
        value = mmd.mmd_unbiased(torch.from_numpy(_numpy(a)), torch.from_numpy(_numpy(b)), kernel, sigma2, prior_var)
    return float(value)
