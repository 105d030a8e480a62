"""Diversity of generated images: figures that catch mode collapse, which a Fréchet distance blurs.

Both work in a feature space φ (the one FD uses) and take their scale from real images, so a
reader can set a model's figure against what real faces give:

- *Clusters reached* (the "number of modes" of Srivastava et al. 2017, VEEGAN, and Metz et al. 2017,
  moved from a known mixture to k-means clusters of real data, as in Richardson & Weiss 2018,
  "On GANs and GMMs", NDB): k-means with k centres on the features of reference images (the held-out
  faces); each generated image is assigned to its nearest centre; the figure is how many of the k
  clusters receive at least one generated image. A collapsed generator reaches few clusters; n real
  images reach almost all.
- *Near-duplicate rate*: the share of generated images whose nearest other generated image is
  closer (Euclidean, in φ) than `quantile` of the nearest-neighbour distances among the reference
  images themselves (default the 1 % quantile). Real images score about `quantile`; a generator that
  repeats itself scores far above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_CLUSTERS = 50
DEFAULT_QUANTILE = 0.01


@dataclass
class Diversity:
    """clusters: k-means clusters of the reference reached (of `k`); near_duplicates: share of the
    samples with a nearest neighbour closer than `threshold` (the reference's `quantile`)."""

    clusters: int
    k: int
    near_duplicates: float
    threshold: float


def _nearest_other(features: np.ndarray) -> np.ndarray:
    """Distance from each row to its nearest other row."""
    from scipy.spatial import cKDTree

    distances, _ = cKDTree(features).query(features, k=2)
    return distances[:, 1]


@dataclass
class DiversityReference:
    """What the figures are measured against: k-means centres of reference features and the
    near-duplicate threshold (a quantile of the reference's nearest-neighbour distances)."""

    centres: np.ndarray
    threshold: float

    @classmethod
    def fit(cls, reference: Any, k: int = DEFAULT_CLUSTERS, quantile: float = DEFAULT_QUANTILE,
            seed: int = 0) -> DiversityReference:
        """k-means (scipy, k-means++ start, seeded) on reference features [N, F], N > k."""
        from scipy.cluster.vq import kmeans2

        features = np.asarray(reference, dtype=np.float64)
        if len(features) <= k:
            raise ValueError(f"need more than k = {k} reference images, got {len(features)}")
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        centres, _ = kmeans2(features, k, minit="++", seed=seed)
        return cls(centres, float(np.quantile(_nearest_other(features), quantile)))

    def score(self, samples: Any) -> Diversity:
        """The diversity figures of sample features [M, F] (M >= 2)."""
        features = np.asarray(samples, dtype=np.float64)
        if len(features) < 2:
            raise ValueError("need at least 2 samples")
        squared = ((features[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        reached = len(np.unique(squared.argmin(axis=1)))
        duplicates = float((_nearest_other(features) < self.threshold).mean())
        return Diversity(reached, len(self.centres), duplicates, self.threshold)
