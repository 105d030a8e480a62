"""Cheap image and sample statistics: mean intensity, sharpness, and the unbiased MMD.

Images are [N, C, H, W] in [0, 1] (numpy arrays or torch tensors); results are numpy float64.

- sharpness = variance of the Laplacian of the luminance (Pech-Pacheco et al. 2000, "Diatom
  autofocusing in brightfield microscopy"): blur removes high frequencies, so a blurred or ghosted
  decode has a smaller Laplacian variance than a sharp one.
- MMD (Gretton et al. 2012, "A kernel two-sample test", eq. 3), the unbiased estimator

      MMD²_u = 1/(n(n-1)) Σ_{i≠j} k(a_i, a_j) + 1/(m(m-1)) Σ_{i≠j} k(b_i, b_j) - 2/(nm) Σ_{i,j} k(a_i, b_j)

  with the kernels of WAE (Tolstikhin et al. 2018; BRIEF §3): RBF exp(-||a-b||² / (2 σ_k²)) with
  σ_k² the median pairwise squared distance of the pooled samples, or IMQ Σ_s C_s / (C_s + ||a-b||²)
  over C_s = 2 · D · σ_p² · s, s ∈ {.1, .2, .5, 1, 2, 5, 10}, σ_p² the prior variance (1 for N(0, I)).
  Unbiased: its expectation is the population MMD², so it is 0 on average (and can be negative) for
  equal distributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# ITU-R BT.601 luma weights for RGB.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
KERNELS = ("rbf", "imq")


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


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||², [len(a), len(b)], clamped at 0 against rounding."""
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


def median_sigma2(a: Any, b: Any) -> float:
    """The median heuristic σ_k²: median of ||u - v||² over distinct pairs of the pooled samples."""
    pooled = np.concatenate([_numpy(a), _numpy(b)])
    d2 = squared_distances(pooled, pooled)
    return float(np.median(d2[np.triu_indices(len(pooled), k=1)]))


def rbf_kernel(a: Any, b: Any, sigma2: float) -> np.ndarray:
    """exp(-||a_i - b_j||² / (2 σ²)), [len(a), len(b)]."""
    return np.exp(-squared_distances(_numpy(a), _numpy(b)) / (2.0 * sigma2))


def imq_kernel(a: Any, b: Any, prior_var: float = 1.0, scales: tuple[float, ...] = IMQ_SCALES) -> np.ndarray:
    """Σ_s C_s / (C_s + ||a_i - b_j||²) with C_s = 2 · D · σ_p² · s, [len(a), len(b)]."""
    a, b = _numpy(a), _numpy(b)
    d2 = squared_distances(a, b)
    base = 2.0 * a.shape[1] * prior_var
    return sum(base * s / (base * s + d2) for s in scales)


def mmd_unbiased(a: Any, b: Any, kernel: str = "rbf", sigma2: float | None = None,
                 prior_var: float = 1.0) -> float:
    """Unbiased MMD² between samples a [N, D] and b [M, D] (N, M >= 2); see the module docstring.

    kernel "rbf": σ_k² = `sigma2`, or the median heuristic over the pooled samples when None.
    kernel "imq": multi-scale, with the prior variance σ_p² = `prior_var`.
    """
    a, b = _numpy(a), _numpy(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"samples must be [N, D] and [M, D] with the same D, got {a.shape} and {b.shape}")
    n, m = len(a), len(b)
    if n < 2 or m < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {n} and {m}")
    if kernel == "rbf":
        s2 = median_sigma2(a, b) if sigma2 is None else float(sigma2)
        s2 = max(s2, 1e-12)  # all points equal: any bandwidth gives MMD 0
        k_aa, k_bb, k_ab = rbf_kernel(a, a, s2), rbf_kernel(b, b, s2), rbf_kernel(a, b, s2)
    elif kernel == "imq":
        k_aa, k_bb, k_ab = (imq_kernel(u, v, prior_var) for u, v in ((a, a), (b, b), (a, b)))
    else:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    # Σ_{i≠j}: the full sum minus the diagonal.
    aa = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    bb = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(aa + bb - 2.0 * k_ab.mean())


__all__ = [
    "IMQ_SCALES", "KERNELS", "imq_kernel", "laplacian", "luminance", "mean_intensity", "median_sigma2",
    "mmd_unbiased", "rbf_kernel", "sharpness", "squared_distances",
]
