"""Fréchet distance between two sets of images in the feature space of a network trained here.

The Fréchet (2-Wasserstein) distance between two Gaussians fitted to features
(Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a local Nash
equilibrium", eq. 6; Dowson & Landau 1982):

    FD = ||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2})

It is 0 for equal Gaussians, symmetric, and grows with a mean shift or a change of spread.

The feature network is NOT the Inception network of the usual "FID": LatentLab ships no network
trained elsewhere. `FeatureNetwork` is a deterministic autoencoder trained by the project's own
trainer on the CelebA-10k training split (000001-009000; never the held-out 009001-010000), and
the feature map is its encoder's code φ(x) = E(x) ∈ R^128 (the point-mass posterior mean).
Scores in this space are comparable only with scores computed with the same network, sample sizes
and seed, so every score should be reported with `FeatureNetwork.name` and both sample sizes.
The network was made with (see resources/features/README.md):

    latentlab-train ae --data celeba:../shared/data/celeba_10k --size 64 --latent 128 --epochs 10 --out runs/features-ae
    python -m latentlab.bundle runs/features-ae/last.ckpt --out resources/features/celeba-ae128.ckpt --atlas 0
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.errors import LatentLabError
from latentlab.resources import FEATURES

DEFAULT_FEATURE_NETWORK = FEATURES / "celeba-ae128.ckpt"
FEATURE_IMAGE_SHAPE = (3, 64, 64)
DEFAULT_NAME = "celeba-ae128 (AE encoder code, 128-d; latentlab-train ae seed 0, CelebA-10k train split, 10 epochs)"


def _as_mean(mu: Any, name: str) -> np.ndarray:
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"{name} must be a vector [D], got shape {mu.shape}")
    return mu


def _as_cov(cov: Any, dim: int, name: str) -> np.ndarray:
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    if cov.shape != (dim, dim):
        raise ValueError(f"{name} must be [{dim}, {dim}], got shape {cov.shape}")
    return cov


def frechet_distance(mu1: Any, cov1: Any, mu2: Any, cov2: Any, eps: float = 1e-6) -> float:
    """||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2}) for N(μ1, Σ1) and N(μ2, Σ2).

    (Σ1 Σ2)^{1/2} is scipy.linalg.sqrtm's principal square root, real part. When the product is
    singular (fewer samples than dimensions, or a constant feature: scipy warns, or the root is
    not finite) the computation is repeated with eps·I added to both covariances, as in the reference FID code
    (Heusel et al.'s TTUR repository). Rounding can leave a tiny negative result for equal
    Gaussians; it is clamped at 0.
    """
    from scipy import linalg

    mu1 = _as_mean(mu1, "mu1")
    mu2 = _as_mean(mu2, "mu2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the means have different sizes: {mu1.shape[0]} and {mu2.shape[0]}")
    dim = mu1.shape[0]
    cov1, cov2 = _as_cov(cov1, dim, "cov1"), _as_cov(cov2, dim, "cov2")
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov1 @ cov2)
    singular = any(issubclass(w.category, linalg.LinAlgWarning) for w in caught)
    if singular or not np.all(np.isfinite(covmean)):
        offset = np.eye(dim) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    covmean = np.real(covmean)  # imaginary parts are rounding noise for PSD inputs
    value = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] (float64) of features [N, D], N >= 2."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("features contain NaN or infinite values")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def fid_against(features_a: Any, features_b: Any) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets [N, D] and [M, D]."""
    mu_a, cov_a = gaussian_stats(features_a)
    mu_b, cov_b = gaussian_stats(features_b)
    return frechet_distance(mu_a, cov_a, mu_b, cov_b)


class FeatureNetwork:
    """φ(x): the 128-d code of the shipped CelebA autoencoder's encoder (see the module docstring).

    `features(images)` takes float images [N, 3, 64, 64] in [0, 1] (numpy or torch) and returns
    float64 features [N, 128]. The network runs in eval mode (batch-norm uses its running
    statistics), so the features of an image do not depend on the batch it is in.
    """

    def __init__(self, model: Any, name: str, path: Path | None = None, batch_size: int = 250) -> None:
        self.model = model.eval()
        self.name = name
        self.path = path
        self.batch_size = int(batch_size)
        self.image_shape = tuple(int(v) for v in model.image_shape)
        self.dim = int(model.latent_dim)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, name: str | None = None) -> FeatureNetwork:
        """The network in `path` (default: resources/features/celeba-ae128.ckpt)."""
        from latentlab.checkpoints import load_model

        target = Path(path) if path is not None else DEFAULT_FEATURE_NETWORK
        if not target.is_file():
            raise LatentLabError(
                f"{target}: feature network not found; it ships in resources/features/ "
                "(see resources/features/README.md for how to train and bundle it)")
        model = load_model(target)
        if not callable(getattr(model, "encode", None)):
            raise LatentLabError(f"{target}: model {model.registry_name!r} has no encoder to use as a feature map")
        if name is None:
            name = DEFAULT_NAME if path is None else f"{target.name} ({model.registry_name} encoder mean, " \
                                                     f"{model.latent_dim}-d)"
        return cls(model, name, target)

    def features(self, images: Any) -> np.ndarray:
        import torch

        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images))
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            c, h, w = self.image_shape
            raise LatentLabError(
                f"the feature network {self.name} takes {c}x{h}x{w} images [N, {c}, {h}, {w}] in [0, 1]; "
                f"got shape {tuple(x.shape)}")
        x = x.to(torch.float32)
        if len(x) and (float(x.min()) < -1e-4 or float(x.max()) > 1.0 + 1e-4):
            raise LatentLabError(f"the feature network {self.name} takes images in [0, 1]; got values in "
                                 f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
        out = []
        with torch.no_grad():
            for start in range(0, len(x), self.batch_size):
                out.append(self.model.encode(x[start:start + self.batch_size]).mean.to(torch.float64).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path) if self.path else None, "dim": self.dim,
                "image_shape": list(self.image_shape)}

    def __call__(self, images: Any) -> np.ndarray:
        return self.features(images)


def shipped_feature_networks() -> list[Path]:
    """Every feature network in resources/features/, the default (celeba-ae128) first: the quality
    benches score in each of them, side by side."""
    found = sorted(FEATURES.glob("*.ckpt")) if FEATURES.is_dir() else []
    return sorted(found, key=lambda p: p != DEFAULT_FEATURE_NETWORK)


def load_feature_networks(paths: list[str] | None = None) -> list[FeatureNetwork]:
    """The feature networks at `paths`, or every shipped one; with none shipped, the default's load
    raises LatentLabError saying it is missing."""
    return [FeatureNetwork.load(path) for path in paths or shipped_feature_networks() or [None]]


__all__ = ["DEFAULT_FEATURE_NETWORK", "FeatureNetwork", "fid_against", "frechet_distance", "gaussian_stats",
           "load_feature_networks", "shipped_feature_networks"]
