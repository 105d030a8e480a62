"""Estimates of the encoded distribution P̂(Z) and its "gaps" against the prior P(Z).

P̂(Z) = ∫ Q_phi(Z|X) P(X) dX is the aggregate posterior: the distribution of the codes of the
training data. A generative autoencoder trains it toward P(Z) = N(0, I) but never matches exactly
(Creswell, Arulkumaran & Bharath 2016, "Improving Sampling from Generative Autoencoders with Markov
Chains", arXiv:1610.09296); where the prior has mass and P̂ has little, decoded prior samples look
wrong. We estimate P̂ from a set of encoded codes, non-parametrically (`GaussianKDE`) or with a
Gaussian mixture fitted by EM (`GaussianMixture`; Su 2018, arXiv:1807.05936, derives EM as the
alternating optimisation of the variational objective), and score

    gap(z) = log P(z) - log P̂(z)          (nats; high = prior mass where no data was encoded)

Densities here are plain numpy (float64 inside); anything with `log_prob(z [N, D]) -> [N]` can be
used as the prior or the density.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)
COVARIANCE_TYPES = ("diag", "full")


class Density(Protocol):
    def log_prob(self, z: np.ndarray) -> np.ndarray: ...


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(a) along `axis`, shifted by the max so nothing overflows; rows of -inf give -inf."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


def _as_points(z: np.ndarray, dim: int | None = None, name: str = "z") -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2:
        raise ValueError(f"{name} must be [N, D], got shape {z.shape}")
    if dim is not None and z.shape[1] != dim:
        raise ValueError(f"{name} has {z.shape[1]} dimensions, expected {dim}")
    return z


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# --------------------------------------------------------------------------------------- priors


class StandardNormal:
    """P(Z) = N(0, I_d): log P(z) = -1/2 (||z||^2 + d log 2π)."""

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        z = _as_points(z, self.dim)
        return -0.5 * (np.sum(z * z, axis=1) + self.dim * LOG_2PI)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return _rng(rng).standard_normal((n, self.dim))


class Gaussian:
    """N(mean, cov) with a full covariance: log p(z) = -1/2 (m^T cov^-1 m + log|cov| + d log 2π),
    m = z - mean."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self.dim = self.mean.shape[0]
        chol = np.linalg.cholesky(self.cov)
        self._prec_chol = np.linalg.inv(chol).T  # (z - mean) @ P has identity covariance
        self._log_det = 2.0 * np.sum(np.log(np.diag(chol)))

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        y = (_as_points(z, self.dim) - self.mean) @ self._prec_chol
        return -0.5 * (np.sum(y * y, axis=1) + self._log_det + self.dim * LOG_2PI)


def projected_prior(projection: Any) -> Gaussian:
    """The distribution of the 2-D map coordinates of z ~ N(0, I_D).

    The map is coords(z) = (z - o) A^T with origin o [D] and axes A [2, D]
    (latentlab.analysis.projection). An affine map of a Gaussian is Gaussian:
        E[coords] = (E[z] - o) A^T = -o A^T,
        Cov[coords] = A Cov[z] A^T = A A^T = I_2   (orthonormal rows),
    so coords ~ N(-o A^T, I_2). A A^T is used as computed, which is exact for any axes.
    """
    axes = np.asarray(projection.axes, dtype=np.float64)
    origin = np.asarray(projection.origin, dtype=np.float64)
    return Gaussian(-origin @ axes.T, axes @ axes.T)


# ------------------------------------------------------------------------------ Gaussian mixture


class GaussianMixture:
    """p(z) = Σ_k π_k N(z; μ_k, Σ_k), fitted to codes by EM (Dempster, Laird & Rubin 1977).

    Su (2018, "Variational Inference: A Unified Framework of Generative Models and Some Revelations",
    arXiv:1807.05936) obtains EM from the variational framework as alternating optimisation: with the
    posterior over the latent left free, the optimal posterior is the exact one (E-step) and then
    the model maximises the expected complete-data log-likelihood (M-step). For a mixture the
    latent is the component k:

        E-step:  r_ik = π_k N(z_i; μ_k, Σ_k) / Σ_j π_j N(z_i; μ_j, Σ_j)      (log-sum-exp)
        M-step:  N_k = Σ_i r_ik,  π_k = N_k / N,  μ_k = Σ_i r_ik z_i / N_k,
                 Σ_k = Σ_i r_ik (z_i - μ_k)(z_i - μ_k)^T / N_k

    Σ_k is diagonal (`covariance_type="diag"`, the default: O(N K D) per iteration, fine for 256-D
    codes) or full (O(N K D²) per iteration: for low dimensions, e.g. the 2-D map).
    Variances are floored at `var_floor` so no component collapses onto one code. The floor is
    applied as the exact constrained M-step (per-dimension max(var, floor); for full covariances
    the eigenvalues are clamped, which maximises the Gaussian likelihood over Σ ⪰ floor·I), so
    every iteration still cannot decrease the log-likelihood (`log_likelihood_` records it).
    Initialisation: k-means++ seeding (Arthur & Vassilvitskii 2007) from `seed`, refined by a few
    Lloyd iterations, then one M-step on the hard assignment. Stops when the mean log-likelihood
    per code changes by less than tol · max(|ll|, 1) (relative for |ll| > 1), or after `max_iter`.
    """

    def __init__(self, n_components: int = 10, covariance_type: str = "diag", max_iter: int = 200,
                 tol: float = 1e-5, var_floor: float = 1e-6, seed: int = 0, kmeans_iter: int = 10) -> None:
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, got {covariance_type!r}")
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        if var_floor <= 0:
            raise ValueError(f"var_floor must be positive, got {var_floor}")
        self.n_components = int(n_components)
        self.covariance_type = covariance_type
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.var_floor = float(var_floor)
        self.seed = int(seed)
        self.kmeans_iter = int(kmeans_iter)
        self.weights_: np.ndarray | None = None      # [K]
        self.means_: np.ndarray | None = None        # [K, D]
        self.covariances_: np.ndarray | None = None  # [K, D] (diag) or [K, D, D] (full)
        self.log_likelihood_: list[float] = []       # mean log-likelihood per code, per iteration
        self.n_iter_ = 0
        self.converged_ = False

    # -- fitting

    def fit(self, codes: np.ndarray) -> GaussianMixture:
        z = _as_points(codes, name="codes")
        n, _ = z.shape
        if n < self.n_components:
            raise ValueError(f"need at least {self.n_components} codes for {self.n_components} components, got {n}")
        if not np.all(np.isfinite(z)):
            raise ValueError("codes contain NaN or infinite values")
        # Fit on codes centred at their mean (the likelihood is translation invariant): the
        # one-pass variance E[z^2] - mu^2 of the diagonal M-step then cannot cancel badly.
        shift = z.mean(axis=0)
        z = z - shift
        self._init_params(z)
        history: list[float] = []
        self.converged_ = False
        for it in range(self.max_iter):
            log_resp, ll = self._e_step(z)
            history.append(ll)
            self.n_iter_ = it + 1
            if it > 0 and abs(ll - history[-2]) <= self.tol * max(abs(history[-2]), 1.0):
                self.converged_ = True
                break
            self._m_step(z, np.exp(log_resp))
        else:
            history.append(self._e_step(z)[1])  # the log-likelihood of the parameters we keep
        self.log_likelihood_ = history
        self.means_ += shift
        self._precompute()
        return self

    def _init_params(self, z: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        centres = _kmeans_plus_plus(z, self.n_components, rng)
        labels = _lloyd(z, centres, self.kmeans_iter)
        resp = np.zeros((len(z), self.n_components))
        resp[np.arange(len(z)), labels] = 1.0
        # Start from the global spread so components with < 2 codes are well defined.
        self.means_ = centres.copy()
        global_var = np.maximum(z.var(axis=0), self.var_floor)
        if self.covariance_type == "diag":
            self.covariances_ = np.tile(global_var, (self.n_components, 1))
        else:
            self.covariances_ = np.tile(np.diag(global_var), (self.n_components, 1, 1))
        self.weights_ = np.full(self.n_components, 1.0 / self.n_components)
        self._m_step(z, resp, min_count=2.0)

    def _m_step(self, z: np.ndarray, resp: np.ndarray, min_count: float = 1e-10) -> None:
        n, _ = z.shape
        counts = resp.sum(axis=0)
        self.weights_ = np.maximum(counts, 1e-300) / n
        self.weights_ /= self.weights_.sum()
        live = counts >= min_count  # an (almost) empty component keeps its mean and covariance
        means = resp.T @ z / np.maximum(counts, 1e-300)[:, None]
        self.means_[live] = means[live]
        if self.covariance_type == "diag":
            # Σ_i r_ik (z_i - μ_k)^2 / N_k as two matrix products (codes are centred in fit()).
            var = resp.T @ (z * z) / np.maximum(counts, 1e-300)[:, None] - means**2
            self.covariances_[live] = np.maximum(var, self.var_floor)[live]
        else:
            for k in np.flatnonzero(live):
                y = (z - means[k]) * np.sqrt(resp[:, k])[:, None]
                cov = y.T @ y / counts[k]  # y.T @ y: numpy uses the symmetric product (syrk)
                self.covariances_[k] = self._floor_covariance((cov + cov.T) / 2.0)
        self._precompute()

    def _floor_covariance(self, cov: np.ndarray) -> np.ndarray:
        """The Σ ⪰ floor·I maximising the Gaussian likelihood: eigenvalues clamped at the floor."""
        try:  # already above the floor (the usual case): no eigendecomposition needed
            np.linalg.cholesky(cov - self.var_floor * np.eye(len(cov)))
            return cov
        except np.linalg.LinAlgError:
            eigval, eigvec = np.linalg.eigh(cov)
            return (eigvec * np.maximum(eigval, self.var_floor)) @ eigvec.T

    def _precompute(self) -> None:
        if self.covariance_type == "diag":
            self._precision = 1.0 / self.covariances_
            self._log_det = np.sum(np.log(self.covariances_), axis=1)
        else:
            chol = np.linalg.cholesky(self.covariances_)
            self._prec_chol = np.linalg.inv(chol).transpose(0, 2, 1)  # (z - μ) @ P ~ N(0, I)
            self._log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)

    def _component_log_prob(self, z: np.ndarray) -> np.ndarray:
        """log N(z_i; μ_k, Σ_k) for every code and component: [N, K]."""
        d = z.shape[1]
        if self.covariance_type == "diag":
            # Σ_d (z - μ)^2 / σ^2 expanded into three matrix products: no [N, K, D] array.
            prec = self._precision
            maha = (z * z) @ prec.T - 2.0 * z @ (self.means_ * prec).T + np.sum(self.means_**2 * prec, axis=1)
            maha = np.maximum(maha, 0.0)
        else:
            maha = np.empty((len(z), self.n_components))
            for k in range(self.n_components):
                y = (z - self.means_[k]) @ self._prec_chol[k]
                maha[:, k] = np.sum(y * y, axis=1)
        return -0.5 * (maha + self._log_det + d * LOG_2PI)

    def _weighted_log_prob(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return self._component_log_prob(z) + np.log(self.weights_)

    def _e_step(self, z: np.ndarray) -> tuple[np.ndarray, float]:
        weighted = self._weighted_log_prob(z)
        log_norm = _logsumexp(weighted, axis=1)
        return weighted - log_norm[:, None], float(np.mean(log_norm))

    # -- using a fitted mixture

    def _check_fitted(self) -> None:
        if self.means_ is None:
            raise RuntimeError("the GaussianMixture is not fitted: call fit(codes) first")

    @property
    def dim(self) -> int:
        self._check_fitted()
        return self.means_.shape[1]

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """log p(z) per point in nats: log Σ_k π_k N(z; μ_k, Σ_k), [N]."""
        self._check_fitted()
        return _logsumexp(self._weighted_log_prob(_as_points(z, self.dim)), axis=1)

    def responsibilities(self, z: np.ndarray) -> np.ndarray:
        """r_ik = P(component k | z_i), [N, K]."""
        self._check_fitted()
        weighted = self._weighted_log_prob(_as_points(z, self.dim))
        return np.exp(weighted - _logsumexp(weighted, axis=1)[:, None])

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """n draws [n, D] (float64): k ~ Categorical(π), then z ~ N(μ_k, Σ_k)."""
        self._check_fitted()
        rng = _rng(rng)
        comp = rng.choice(self.n_components, size=n, p=self.weights_)
        eps = rng.standard_normal((n, self.dim))
        if self.covariance_type == "diag":
            return self.means_[comp] + np.sqrt(self.covariances_[comp]) * eps
        chol = np.linalg.cholesky(self.covariances_)
        return self.means_[comp] + np.einsum("nij,nj->ni", chol[comp], eps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (settings, fitted parameters, fit history)."""
        self._check_fitted()
        return {
            "kind": "gaussian_mixture",
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "var_floor": self.var_floor,
            "seed": self.seed,
            "kmeans_iter": self.kmeans_iter,
            "weights": self.weights_.tolist(),
            "means": self.means_.tolist(),
            "covariances": self.covariances_.tolist(),
            "log_likelihood": [float(v) for v in self.log_likelihood_],
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GaussianMixture:
        if data.get("kind") != "gaussian_mixture":
            raise ValueError(f"not a Gaussian mixture description (kind={data.get('kind')!r})")
        gmm = cls(data["n_components"], data["covariance_type"], data["max_iter"], data["tol"],
                  data["var_floor"], data["seed"], data["kmeans_iter"])
        gmm.weights_ = np.asarray(data["weights"], dtype=np.float64)
        gmm.means_ = np.asarray(data["means"], dtype=np.float64)
        gmm.covariances_ = np.asarray(data["covariances"], dtype=np.float64)
        expected = (gmm.n_components, gmm.means_.shape[1])
        if gmm.means_.shape != expected or gmm.weights_.shape != (gmm.n_components,):
            raise ValueError(f"inconsistent Gaussian mixture description: means {gmm.means_.shape}, "
                             f"weights {gmm.weights_.shape}, {gmm.n_components} components")
        gmm.log_likelihood_ = list(data.get("log_likelihood", []))
        gmm.n_iter_ = int(data.get("n_iter", 0))
        gmm.converged_ = bool(data.get("converged", False))
        gmm._precompute()
        return gmm


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2, [len(a), len(b)], clamped at 0 against rounding."""
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


def _kmeans_plus_plus(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: the first centre uniformly, each next one with probability ∝ the squared
    distance to the nearest centre chosen so far."""
    n = len(z)
    centres = [z[rng.integers(n)]]
    d2 = _squared_distances(z, centres[0][None])[:, 0]
    for _ in range(1, k):
        total = d2.sum()
        idx = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centres.append(z[idx])
        d2 = np.minimum(d2, _squared_distances(z, z[idx][None])[:, 0])
    return np.array(centres)


def _lloyd(z: np.ndarray, centres: np.ndarray, iterations: int) -> np.ndarray:
    """A few Lloyd (k-means) iterations, updating `centres` in place; returns the labels."""
    labels = np.argmin(_squared_distances(z, centres), axis=1)
    for _ in range(iterations):
        for k in range(len(centres)):
            members = labels == k
            if members.any():  # an empty cluster keeps its centre
                centres[k] = z[members].mean(axis=0)
        new_labels = np.argmin(_squared_distances(z, centres), axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return labels


# ------------------------------------------------------------------------------------------- KDE


class GaussianKDE:
    """Isotropic Gaussian kernel density estimate:

        p(z) = (1/n) Σ_i N(z; p_i, h^2 I),
        log p(z) = logsumexp_i(-||z - p_i||^2 / (2 h^2)) - log n - (D/2) log(2π h^2).

    Bandwidth h: given, or Scott's rule h = σ̄ n^(-1/(D+4)) (Scott 1992, "Multivariate Density
    Estimation", eq. 6.42) with σ̄ the root mean per-dimension variance of the points (the
    isotropic version of the rule scipy.stats.gaussian_kde applies to the full covariance).
    Queries are evaluated in chunks, so 3000 queries against 3000 points in 64-D stay small.
    """

    def __init__(self, bandwidth: float | None = None, chunk_size: int = 1024) -> None:
        if bandwidth is not None and bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth}")
        self.bandwidth = bandwidth
        self.chunk_size = int(chunk_size)
        self.points_: np.ndarray | None = None
        self.bandwidth_: float | None = None

    def fit(self, points: np.ndarray) -> GaussianKDE:
        p = _as_points(points, name="points")
        if len(p) == 0 or not np.all(np.isfinite(p)):
            raise ValueError("points must be a non-empty array of finite values")
        n, d = p.shape
        if self.bandwidth is not None:
            h = float(self.bandwidth)
        else:
            spread = math.sqrt(float(np.mean(p.var(axis=0, ddof=1)))) if n > 1 else 0.0
            # Identical points have no spread: fall back to a tiny kernel rather than h = 0.
            h = max(spread, 1e-6) * n ** (-1.0 / (d + 4))
        self._centre = p.mean(axis=0)  # distances are computed about the mean: less cancellation
        self.points_ = p
        self._centred = p - self._centre
        self._sq_norms = np.sum(self._centred**2, axis=1)
        self.bandwidth_ = h
        return self

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        if self.points_ is None:
            raise RuntimeError("the GaussianKDE is not fitted: call fit(points) first")
        n, d = self.points_.shape
        z = _as_points(z, d) - self._centre
        h2 = self.bandwidth_**2
        norm = -math.log(n) - 0.5 * d * math.log(2.0 * math.pi * h2)
        out = np.empty(len(z))
        for start in range(0, len(z), self.chunk_size):
            q = z[start:start + self.chunk_size]
            d2 = np.sum(q * q, axis=1)[:, None] + self._sq_norms[None, :] - 2.0 * q @ self._centred.T
            out[start:start + len(q)] = _logsumexp(-np.maximum(d2, 0.0) / (2.0 * h2), axis=1)
        return out + norm

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        rng = _rng(rng)
        idx = rng.integers(len(self.points_), size=n)
        return self.points_[idx] + self.bandwidth_ * rng.standard_normal((n, self.points_.shape[1]))


# ------------------------------------------------------------------------------------------ gaps


def posterior_draws(means: np.ndarray, stds: np.ndarray | None, draws: int = 2, seed: int = 0) -> np.ndarray:
    """Samples of the aggregate posterior P̂(Z) = E_x Q(z|x) from per-image Gaussian posteriors:
    `draws` codes z = mu + sigma * eps per image (the means themselves when `stds` is None, a
    deterministic encoder). Means alone would make P̂ too narrow wherever Q(z|x) is wide."""
    means = np.asarray(means, dtype=np.float32)
    if stds is None:
        return means
    noise = np.random.default_rng(seed).standard_normal((draws, *means.shape)).astype(np.float32)
    return (means[None] + np.asarray(stds, dtype=np.float32)[None] * noise).reshape(-1, means.shape[-1])


# ---------------------------------------------------------------------------- P̂(Z) as a sampler


P_HAT_SOURCES = ("draws", "means")
P_HAT_MAX_FACES = 5000  # P̂(Z) and the gap map are fitted to at most this many atlas faces


def subsample_indices(n: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a uniform random subset of `limit` of `n` items without replacement, sorted and
    reproducible from `seed` (all of 0..n-1 when n <= limit or limit is None).

    A fit of a 10-component mixture in 32-64 dimensions needs thousands of points, not hundreds of
    thousands: EM costs O(N K D²) per iteration, so an atlas of 200,000 faces would take minutes,
    while the estimate from a 5,000-face subsample differs from it by sampling noise of order
    1/sqrt(5,000) in each component's weight and moments."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(limit), replace=False))


@dataclass(frozen=True)
class PHatSettings:
    """How P̂(Z) is estimated from a model's atlas (posterior means μ_i and standard deviations σ_i
    of training images): a Gaussian mixture of `n_components` components with `covariance_type`
    covariances, fitted by EM (seed `seed`) to `source` = "draws", `draws` codes z = μ_i + σ_i ε
    per image (samples of P̂(Z) = E_x Q(z|x), `posterior_draws`), or "means", the μ_i alone; from
    at most `max_faces` images (a seeded uniform subsample, `subsample_indices`; None: all)."""

    n_components: int = 10
    covariance_type: str = "full"
    source: str = "draws"
    draws: int = 2
    seed: int = 0
    max_faces: int | None = P_HAT_MAX_FACES

    def __post_init__(self) -> None:
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, "
                             f"got {self.covariance_type!r}")
        if self.source not in P_HAT_SOURCES:
            raise ValueError(f"source must be one of {', '.join(P_HAT_SOURCES)}, got {self.source!r}")
        if self.n_components < 1 or self.draws < 1 or (self.max_faces is not None and self.max_faces < 1):
            raise ValueError("n_components, draws and max_faces must be >= 1")

    @property
    def label(self) -> str:
        """Short name, e.g. "10 full, draws"."""
        return f"{self.n_components} {self.covariance_type}, {self.source}"

    def describe(self) -> str:
        source = (f"{self.draws} draws z ~ Q(z|x) per image" if self.source == "draws"
                  else "the posterior means E[z|x]")
        faces = "" if self.max_faces is None else f" of at most {self.max_faces:,} images (seeded subsample)"
        return (f"{self.n_components}-component {'diagonal' if self.covariance_type == 'diag' else 'full'}-covariance "
                f"Gaussian mixture (EM, seed {self.seed}) on {source}{faces}")


# The explorer's P̂(Z), for the gap scores and every "from P̂(Z)" sampler: 10 full-covariance
# components on two draws z ~ Q(z|x) per atlas face. Chosen on the train split among 1 / 10 / 50 / 100
# diagonal and 1 / 10 / 20 / 50 full components, on draws or on means, by the Fréchet distance of
# decoded samples: full covariances beat every diagonal mixture (a single full Gaussian beats 100
# diagonal components), 20 and 50 full components gained less than the seed-to-seed noise while the
# fit's log-likelihood climbed toward memorising the 3000 atlas faces (docs/p-hat-sampling.md).
P_HAT = PHatSettings()


def fit_p_hat(means: np.ndarray, stds: np.ndarray | None = None, settings: PHatSettings = P_HAT) -> GaussianMixture:
    """Fit P̂(Z) to a model's atlas: the one estimate of the aggregate posterior used everywhere.

    P̂(Z) = (1/N) Σ_i Q(z | x_i) is a mixture of N Gaussians; it is summarised by a Gaussian mixture
    of K << N components fitted by EM to `settings.source`: draws z = μ_i + σ_i ε, ε ~ N(0, I)
    (`posterior_draws`; the means themselves when `stds` is None, a deterministic encoder), or the
    means alone. Fitting a density to the codes after training and sampling it instead of the
    prior is the "ex-post density estimation" of Ghosh et al. 2020 ("From variational to
    deterministic autoencoders", ICLR; a 10-component GMM on the codes), the simplest form of the
    second stage of Dai & Wipf 2019 ("Diagnosing and enhancing VAE models", ICLR). Draw from the
    result with `sample_p_hat`. K is lowered to the number of points for a tiny atlas. An atlas of
    more than `settings.max_faces` images is fitted on a seeded subsample of them (`subsample_indices`).
    """
    means = _as_points(means, name="means")
    keep = subsample_indices(len(means), settings.max_faces, settings.seed)
    means = means[keep]
    stds = None if stds is None else np.asarray(stds)[keep]
    use_stds = stds if settings.source == "draws" else None
    points = np.asarray(posterior_draws(means, use_stds, settings.draws, settings.seed), dtype=np.float64)
    k = min(settings.n_components, len(points))
    return GaussianMixture(n_components=k, covariance_type=settings.covariance_type, seed=settings.seed).fit(points)


def sample_p_hat(density: GaussianMixture, n: int, seed: int = 0) -> np.ndarray:
    """n draws of a fitted P̂(Z), float32 [n, D], reproducible from `seed`:
    k ~ Categorical(π), then z = μ_k + Σ_k^{1/2} ε (`GaussianMixture.sample`)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return density.sample(int(n), np.random.default_rng(int(seed))).astype(np.float32)


def expected_norm(dim: int) -> float:
    """E||z|| for z ~ N(0, I_d): sqrt(2) Γ((d + 1) / 2) / Γ(d / 2) (the chi distribution's mean)."""
    from math import exp, lgamma, sqrt

    return sqrt(2.0) * exp(lgamma((dim + 1) / 2) - lgamma(dim / 2))


def gap_score(z: np.ndarray, prior: Density, density: Density) -> np.ndarray:
    """log P(z) - log P̂(z) per code [N], in nats.

    High where the prior puts mass but no data was encoded (a gap of P̂); negative where codes
    are denser than the prior. Use the full-dimensional density here (fitted on the codes
    themselves) for a per-sample score.
    """
    z = _as_points(z)
    return np.asarray(prior.log_prob(z), dtype=np.float64) - np.asarray(density.log_prob(z), dtype=np.float64)


def fit_projected_density(codes: np.ndarray, projection: Any, method: str = "gmm", **kwargs: Any) -> Density:
    """Fit a 2-D density of P̂ on the map coordinates `projection.project(codes)`, for `gap_map`.

    method "gmm" (GaussianMixture, kwargs passed on) or "kde" (GaussianKDE).
    """
    xy = np.asarray(projection.project(codes), dtype=np.float64)
    if method == "gmm":
        kwargs.setdefault("n_components", min(10, len(xy)))
        return GaussianMixture(**kwargs).fit(xy)
    if method == "kde":
        return GaussianKDE(**kwargs).fit(xy)
    raise ValueError(f"unknown density method {method!r}; choose gmm or kde")


def gap_map(projection: Any, density_2d: Density, prior_2d: Density | None,
            extent: tuple[float, float, float, float], resolution: int = 128,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gap log P(xy) - log P̂(xy) on a grid under the 2-D latent map.

    Why the densities are 2-D: a 64-D density cannot be drawn, and slicing it through the map's
    plane would show the density on one plane, not of the codes seen on the map. So `density_2d`
    is fitted on the PROJECTED codes (`fit_projected_density`) and compared with the projected
    prior: this map is the gap between the projected distributions (the marginals of P and P̂ on
    the map's plane). A region can look filled here while being empty in D dimensions; the
    per-sample `gap_score` with a full-D density is the one to trust for a given code.

    prior_2d: the projected prior; None uses `projected_prior(projection)`, i.e. N(-o A^T, I_2)
        for P(Z) = N(0, I) (derivation there).
    extent: (x_min, x_max, y_min, y_max) of the map.
    Returns grid_x [R], grid_y [R] and values [R, R] with values[i, j] at (grid_x[j], grid_y[i])
    (rows along y, as an image). Far from every code the values grow without bound (the density's
    tails fall faster than the prior's): clip the colour scale when drawing.
    """
    if prior_2d is None:
        prior_2d = projected_prior(projection)
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    if not (x_max > x_min and y_max > y_min):
        raise ValueError(f"extent must be (x_min, x_max, y_min, y_max) with max > min, got {extent}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    grid_x = np.linspace(x_min, x_max, resolution)
    grid_y = np.linspace(y_min, y_max, resolution)
    gx, gy = np.meshgrid(grid_x, grid_y)  # [R(y), R(x)]
    xy = np.stack([gx.ravel(), gy.ravel()], axis=1)
    values = gap_score(xy, prior_2d, density_2d).reshape(resolution, resolution)
    return grid_x, grid_y, values


__all__ = [
    "COVARIANCE_TYPES", "P_HAT", "P_HAT_MAX_FACES", "P_HAT_SOURCES", "Density", "Gaussian", "GaussianKDE", "GaussianMixture",
    "PHatSettings", "StandardNormal", "fit_p_hat", "fit_projected_density", "gap_map", "gap_score",
    "posterior_draws", "projected_prior", "sample_p_hat", "subsample_indices",
]
