"""Linear 2-D projections of latent codes, and their inverse for the drag handle.

A projection is an origin o [D] and two orthonormal axes A [2, D]: coords(z) = (z - o) A^T.
Only linear projections can be inverted, which dragging needs: moving the handle to `xy` from a
start code z0 gives
    z = z0 + (xy - coords(z0)) A,
so coords(z) = xy exactly and every component of z0 orthogonal to the plane is kept.

- identity: for 2-D latents, the latent plane itself.
- PCA: the two leading principal directions of the codes (eigenvectors of their covariance), with
  the fraction of variance each explains.
- custom axes: x along a direction the user picks (e.g. from face A to face B), y along a second
  direction (or the leading principal direction) made orthogonal to x (Gram-Schmidt).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearProjection:
    origin: np.ndarray                 # [D]
    axes: np.ndarray                   # [2, D], orthonormal rows
    labels: tuple[str, str] = ("x", "y")
    explained: tuple[float, float] | None = None  # variance fraction per axis (PCA only)

    def project(self, z: np.ndarray) -> np.ndarray:
        """[N, D] (or [D]) -> [N, 2] (or [2])."""
        return (np.asarray(z, dtype=np.float64) - self.origin) @ self.axes.T

    def lift(self, xy: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The code whose projection is `xy`, keeping `start`'s components off the plane."""
        start = np.asarray(start, dtype=np.float64)
        return (start + (np.asarray(xy, dtype=np.float64) - self.project(start)) @ self.axes).astype(np.float32)


def identity_projection() -> LinearProjection:
    return LinearProjection(np.zeros(2), np.eye(2), ("z1", "z2"), None)


PCA_MAX_POINTS = 20_000  # PCA axes are found on at most this many codes (a seeded subsample)


def principal_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean [D], variances [D] in decreasing order, directions [D, D] as rows) of `points` [N, D]:
    the eigen-decomposition of the sample covariance (1/N) Σ (z - m)(z - m)^T. Same directions as
    the SVD of the centred points (Jolliffe 2002, "Principal Component Analysis", §3.5), but one
    O(N D²) product and a D x D eigenproblem: for tall point sets several times faster than the SVD,
    which multithreaded BLAS makes erratic on a busy machine. Each direction's sign is fixed so that
    its largest component is positive (the SVD's sign is arbitrary)."""
    mean = points.mean(axis=0)
    centred = points - mean
    variances, vectors = np.linalg.eigh(centred.T @ centred / max(len(points), 1))
    order = np.argsort(variances)[::-1]
    variances, directions = np.clip(variances[order], 0.0, None), vectors[:, order].T
    signs = np.sign(directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)])
    return mean, variances, directions * np.where(signs == 0, 1.0, signs)[:, None]


def pca_projection(codes: np.ndarray, max_points: int | None = PCA_MAX_POINTS) -> LinearProjection:
    """Leading two principal directions of `codes` [N, D] (N >= 2, D >= 2), found on a seeded
    uniform subsample of at most `max_points` codes (None: all): the leading directions of 20,000
    draws are those of 200,000 up to sampling noise, at a tenth of the SVD's cost; every code is
    then projected with one matrix product."""
    from latentlab.analysis.density import subsample_indices

    codes = np.asarray(codes)
    codes = np.asarray(codes[subsample_indices(len(codes), max_points)], dtype=np.float64)
    mean, variance, directions = principal_axes(codes)
    ratio = variance[:2] / max(variance.sum(), 1e-12)
    return LinearProjection(mean, directions[:2].copy(), ("PC1", "PC2"), (float(ratio[0]), float(ratio[1])))


def narrowest_projection(samples: np.ndarray) -> LinearProjection:
    """The two directions along which `samples` (draws of P̂(Z)) vary least: the last two principal
    directions. The prior N(0, I) has unit variance along every direction, so where P̂ is narrowest
    it leaves the widest gaps: this plane shows them."""
    samples = np.asarray(samples, dtype=np.float64)
    mean, variance, directions = principal_axes(samples)
    std = np.sqrt(variance * len(samples) / max(len(samples) - 1, 1))
    return LinearProjection(mean, directions[[-1, -2]].copy(), (f"narrowest direction of P̂ (std {std[-1]:.2f})",
                                                         f"2nd narrowest (std {std[-2]:.2f})"), None)


def default_projection(codes: np.ndarray | None, latent_dim: int) -> LinearProjection:
    """Identity for 2-D latents, PCA of `codes` otherwise (PCA of a standard normal has no preferred
    axes, so without codes the first two latent coordinates are used)."""
    if latent_dim == 2:
        return identity_projection()
    if codes is None or len(codes) < 3:
        axes = np.zeros((2, latent_dim))
        axes[0, 0] = axes[1, 1] = 1.0
        return LinearProjection(np.zeros(latent_dim), axes, ("z1", "z2"), None)
    return pca_projection(codes)


def custom_projection(origin: np.ndarray, x_direction: np.ndarray, y_direction: np.ndarray,
                      labels: tuple[str, str] = ("A → B", "y")) -> LinearProjection:
    """Axes along `x_direction` and the part of `y_direction` orthogonal to it."""
    x = np.asarray(x_direction, dtype=np.float64)
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("the x direction is zero: pick two different points")
    x = x / np.linalg.norm(x)
    y = np.asarray(y_direction, dtype=np.float64)
    y = y - (y @ x) * x
    if np.linalg.norm(y) < 1e-9:
        raise ValueError("the y direction is parallel to the x direction")
    y = y / np.linalg.norm(y)
    return LinearProjection(np.asarray(origin, dtype=np.float64), np.stack([x, y]), labels, None)
