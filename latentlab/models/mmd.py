"""The unbiased MMD in torch: the WAE's training loss, and (in float64, through
`latentlab.analysis.image_stats.mmd_unbiased`) the evaluation metric.

Unbiased estimator over samples a [n, D] (codes) and b [m, D] (prior draws):
    MMD²_u = 1/(n(n-1)) Σ_{i≠j} k(a_i, a_j) + 1/(m(m-1)) Σ_{i≠j} k(b_i, b_j) - 2/(n m) Σ_{i,j} k(a_i, b_j)
Kernels (Tolstikhin et al. 2018):
    RBF  k(a, b) = exp(-||a - b||² / (2 σ_k²)), σ_k² by the median heuristic (median of the squared
         distances over distinct pairs of the pooled sample), treated as a constant (no gradient);
    IMQ  k(a, b) = Σ_s C_s / (C_s + ||a - b||²), C_s = 2 · D · σ_p² · s, s ∈ {.1, .2, .5, 1, 2, 5, 10}.
"""

from __future__ import annotations

import torch

KERNELS = ("rbf", "imq")
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a_i - b_j||², [len(a), len(b)], computed by differences (exact zero on the diagonal)."""
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(dim=-1)


def median_sigma2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Median heuristic σ_k² over distinct pairs of the pooled samples (numpy's median: the mean of
    the two middle values for an even count), detached."""
    pooled = torch.cat([a, b]).detach()
    d2 = squared_distances(pooled, pooled)
    i, j = torch.triu_indices(len(pooled), len(pooled), offset=1, device=pooled.device)
    return torch.quantile(d2[i, j].double(), 0.5).to(pooled.dtype)


def rbf_kernel(a: torch.Tensor, b: torch.Tensor, sigma2: torch.Tensor | float) -> torch.Tensor:
    return torch.exp(-squared_distances(a, b) / (2.0 * sigma2))


def imq_kernel(a: torch.Tensor, b: torch.Tensor, prior_var: float = 1.0,
               scales: tuple[float, ...] = IMQ_SCALES) -> torch.Tensor:
    d2 = squared_distances(a, b)
    base = 2.0 * a.shape[1] * prior_var
    return sum(base * s / (base * s + d2) for s in scales)


def mmd_unbiased(a: torch.Tensor, b: torch.Tensor, kernel: str = "rbf", sigma2: float | None = None,
                 prior_var: float = 1.0) -> torch.Tensor:
    """Unbiased MMD² (a differentiable scalar) between a [n, D] and b [m, D], n, m >= 2."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"samples must be [N, D] and [M, D] with the same D, got {tuple(a.shape)} and {tuple(b.shape)}")
    n, m = len(a), len(b)
    if n < 2 or m < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {n} and {m}")
    if kernel == "rbf":
        s2 = median_sigma2(a, b) if sigma2 is None else torch.tensor(float(sigma2), dtype=a.dtype, device=a.device)
        s2 = s2.clamp_min(1e-12)
        k_aa, k_bb, k_ab = rbf_kernel(a, a, s2), rbf_kernel(b, b, s2), rbf_kernel(a, b, s2)
    elif kernel == "imq":
        k_aa, k_bb, k_ab = (imq_kernel(u, v, prior_var) for u, v in ((a, a), (b, b), (a, b)))
    else:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    aa = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    bb = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return aa + bb - 2.0 * k_ab.mean()
