"""Nearest neighbours and a memorisation figure: is a generated face closer to a training face than
faces the model never saw are?

A generative model that copies its training data puts samples much nearer to some training image
than an unseen image of the same kind lies to its own nearest training image. The test statistic is
therefore the *nearest-training distance* d(x) = min_i ‖x − t_i‖ of a generated face x, set against
the distribution of the same statistic for held-out faces h_j (never trained on): the held-out
faces' distances are what "an independent face from the same distribution" gives. This is the
comparison of Meehan, Chaudhuri & Dasgupta (2020), "A non-parametric test to detect data-copying in
generative models" (AISTATS), which compares the generated-to-train and held-out-to-train distance
distributions; a sample far below the held-out distances (here: below their 1 % quantile) is a
likely copy, as in the near-copy criterion of Carlini et al. (2023), "Extracting training data from
diffusion models", which also uses pixel-space L2.

Distances are exact Euclidean distances over the flattened values, computed with the expansion
‖q − r‖² = ‖q‖² − 2 q·r + ‖r‖² as matrix products in chunks (torch), so memory stays at one chunk of
the reference set at a time. scipy's cKDTree, used for the low-dimensional nearest neighbours in
`analysis.diversity`, is no help at 12,288 dimensions (64x64 RGB): for 20 held-out CelebA faces
among 2,000 training faces (`python -m latentlab.bench nearest --compare-search`, on a loaded
2-core machine) the tree took 22.4 s to build and 28.0 s to query, the chunked products 4.0 s for
the same distances (a k-d tree prunes nothing in high dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: the held-out quantile below which a face counts as a possible copy
COPY_QUANTILE = 0.01
#: rows of the reference set turned into floats at a time (64x64 RGB: 12,288 values per row)
REFERENCE_CHUNK = 1024


def _flat(values: Any) -> torch.Tensor:
    """A float32 tensor [N, D] of N items of any shape (uint8 images are divided by 255)."""
    tensor = torch.as_tensor(np.asarray(values))
    scale = 255.0 if tensor.dtype == torch.uint8 else 1.0
    tensor = tensor.reshape(len(tensor), -1).to(torch.float32)
    return tensor / scale if scale != 1.0 else tensor


@torch.no_grad()
def nearest_neighbours(queries: Any, references: Any, k: int = 1,
                       chunk: int = REFERENCE_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest references of each query by Euclidean distance over the flattened values.

    `queries` [M, ...] and `references` [N, ...] are arrays of the same item shape (uint8 images are
    read as values / 255, so distances are in the units of images in [0, 1]). Returns (distances
    [M, k] ascending, indices [M, k] into `references`). Exact: every pair is computed, with
    ‖q − r‖² = ‖q‖² − 2 q·r + ‖r‖² over `chunk` references at a time (round-off below 0 clamped to 0).
    """
    q = _flat(queries)
    count = len(references)
    if count == 0:
        raise ValueError("no references to search")
    if len(q) and q.shape[1] != int(np.prod(np.asarray(references[:1]).shape[1:])):
        raise ValueError(f"queries have {q.shape[1]} values each, references {np.asarray(references[:1]).shape[1:]}")
    k = min(k, count)
    q_norms = (q * q).sum(dim=1, keepdim=True)
    best_d = torch.full((len(q), k), float("inf"))
    best_i = torch.zeros((len(q), k), dtype=torch.long)
    for start in range(0, count, chunk):
        r = _flat(references[start:start + chunk])
        squared = (q_norms - 2.0 * (q @ r.T) + (r * r).sum(dim=1)[None]).clamp_(min=0.0)
        d, i = torch.topk(squared, min(k, len(r)), dim=1, largest=False)
        merged_d = torch.cat([best_d, d], dim=1)
        merged_i = torch.cat([best_i, i + start], dim=1)
        order = torch.argsort(merged_d, dim=1)[:, :k]
        best_d, best_i = merged_d.gather(1, order), merged_i.gather(1, order)
    return best_d.sqrt().numpy(), best_i.numpy()


def rms_distance(distance: Any, values_per_item: int) -> np.ndarray:
    """Euclidean distances between items of `values_per_item` values as root-mean-square differences
    per value (‖x − y‖ / √D): for images in [0, 1], the typical per-pixel difference."""
    return np.asarray(distance, dtype=np.float64) / np.sqrt(values_per_item)


def nearest_distances(queries: Any, references: Any, batch: int = 250,
                      progress: Any = None) -> np.ndarray:
    """Each query's distance to its nearest reference, float64 [M] (`nearest_neighbours` with k = 1,
    `batch` queries at a time; `progress(done, total)` after each batch)."""
    out = []
    for start in range(0, len(queries), batch):
        out.append(nearest_neighbours(queries[start:start + batch], references, k=1)[0][:, 0])
        if progress is not None:
            progress(min(start + batch, len(queries)), len(queries))
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


@dataclass(frozen=True)
class HeldOutReference:
    """The nearest-training distances of held-out faces: what an unseen face of the data gives.

    `distances` is sorted ascending. `ratio(d)` = d / median (1 is typical of an unseen face);
    `share_farther(d)` = the share of held-out faces whose nearest training face is farther than d
    ("closer than 97 % of held-out faces"); a distance below `copy_threshold` (the `COPY_QUANTILE`
    quantile) is closer than all but 1 % of held-out faces come, a possible copy."""

    distances: np.ndarray
    what: str = "held-out faces"

    @classmethod
    def of(cls, distances: Any, what: str = "held-out faces") -> HeldOutReference:
        values = np.sort(np.asarray(distances, dtype=np.float64).ravel())
        if len(values) == 0 or not np.all(np.isfinite(values)):
            raise ValueError("the held-out reference needs at least one finite distance")
        return cls(values, what)

    @property
    def median(self) -> float:
        return float(np.median(self.distances))

    @property
    def copy_threshold(self) -> float:
        return float(np.quantile(self.distances, COPY_QUANTILE))

    def ratio(self, distance: float) -> float:
        median = self.median
        return float(distance) / median if median > 0 else float("inf")

    def share_farther(self, distance: Any) -> np.ndarray | float:
        """Share of the held-out distances strictly greater than `distance` (elementwise)."""
        below_or_equal = np.searchsorted(self.distances, np.asarray(distance, dtype=np.float64), side="right")
        share = 1.0 - below_or_equal / len(self.distances)
        return float(share) if np.ndim(share) == 0 else share

    def is_possible_copy(self, distance: float) -> bool:
        return float(distance) < self.copy_threshold

    def describe(self, distance: float) -> str:
        """One line a user reads at a glance, e.g. "0.42× the typical held-out distance — closer than
        97 % of held-out faces: possible copy"."""
        share = self.share_farther(distance)
        verdict = ("possible copy" if self.is_possible_copy(distance)
                   else "nearer than most unseen faces" if share >= 0.9
                   else "as near as an unseen face" if share >= 0.1 else "farther than most unseen faces")
        return (f"{self.ratio(distance):.2f}× the typical held-out distance — closer than {100 * share:.0f} % of "
                f"{self.what}: {verdict}")


@dataclass(frozen=True)
class CopyFigures:
    """How a set of samples' nearest-training distances compare with the held-out reference:
    `copy_rate`, the share below the reference's 1 % quantile (about 0.01 for a model that draws
    unseen-like faces; far above it for a model that copies), and `median_ratio`, the samples'
    median distance over the held-out median."""

    count: int
    copy_rate: float
    median_ratio: float
    median: float


def copy_figures(sample_distances: Any, reference: HeldOutReference) -> CopyFigures:
    """`CopyFigures` of samples' nearest-training distances against `reference`."""
    d = np.asarray(sample_distances, dtype=np.float64)
    if len(d) == 0:
        raise ValueError("no sample distances")
    return CopyFigures(len(d), float(np.mean(d < reference.copy_threshold)), reference.ratio(float(np.median(d))),
                       float(np.median(d)))
