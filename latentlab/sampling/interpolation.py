"""Interpolation paths between two latent codes: linear (lerp) and spherical (slerp).

Linear interpolation::

    lerp(a, b, t) = (1 - t) a + t b

Spherical linear interpolation (Shoemake 1985, "Animating rotation with quaternion curves")::

    cos Ω = a·b / (|a| |b|)
    slerp(a, b, t) = sin((1 - t) Ω) / sin Ω · a + sin(t Ω) / sin Ω · b

Why slerp for a Gaussian prior P(Z) = N(0, I): in D dimensions the norm of a sample concentrates
near sqrt(D) (a thin shell), and the prior's mass lives on that shell, not near the origin where
the density peaks. Two independent typical samples are nearly orthogonal, so the midpoint of the
straight line between them has norm about sqrt(|a|² + |b|²) / 2 ≈ sqrt(D / 2): a linear path
dips well inside the shell, through a region no training code lives in, and its decodes wash out
(blur, ghosting). Slerp follows the great circle: for equal-norm endpoints every point keeps
that norm, and in general the norm varies smoothly between |a| and |b| (White 2016, "Sampling
generative networks", recommends it for this reason; Creswell et al. 2016 use it too).

Functions are plain numpy (float64 internally) and take single vectors a, b of shape [D] with a
scalar t or an array of K values (→ [K, D]).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MODES = ("slerp", "linear")

# Below this angle (radians) sin Ω is too small to divide by and slerp ≈ lerp anyway.
_TINY_ANGLE = 1e-6


def _prepare(a: np.ndarray, b: np.ndarray, t) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"endpoints must be vectors of the same shape [D], got {a.shape} and {b.shape}")
    t_arr = np.asarray(t, dtype=np.float64)
    return a, b, np.atleast_1d(t_arr), t_arr.ndim == 0


def lerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """(1 - t) a + t b; `t` scalar → [D], array of K values → [K, D]."""
    a, b, t, scalar = _prepare(a, b, t)
    out = (1.0 - t)[:, None] * a + t[:, None] * b
    return out[0] if scalar else out


def angle(a: np.ndarray, b: np.ndarray) -> float:
    """Ω = arccos(a·b / (|a||b|)) in [0, π]; 0 when either vector is zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0.0:
        return 0.0
    return float(np.arccos(np.clip(np.dot(a, b) / norms, -1.0, 1.0)))


def slerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """sin((1-t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, with cos Ω = a·b/(|a||b|).

    Falls back to lerp when Ω is tiny (a ∥ b, a == b, or a zero endpoint). Exactly antipodal
    endpoints (Ω = π) have no unique great circle; sin Ω is then ~0 and lerp is used as well.
    """
    a, b, t, scalar = _prepare(a, b, t)
    omega = angle(a, b)
    sin_omega = np.sin(omega)
    if omega < _TINY_ANGLE or abs(sin_omega) < _TINY_ANGLE:
        out = (1.0 - t)[:, None] * a + t[:, None] * b
    else:
        out = (np.sin((1.0 - t) * omega) / sin_omega)[:, None] * a + (np.sin(t * omega) / sin_omega)[:, None] * b
        out[t == 0.0] = a  # endpoints exactly, not up to rounding
        out[t == 1.0] = b
    return out[0] if scalar else out


def interpolate(a: np.ndarray, b: np.ndarray, t, mode: Literal["slerp", "linear"] = "slerp") -> np.ndarray:
    """The point(s) at fraction `t` of the path from a to b in `mode` ("slerp" or "linear")."""
    if mode == "slerp":
        return slerp(a, b, t)
    if mode == "linear":
        return lerp(a, b, t)
    raise ValueError(f"unknown interpolation mode {mode!r} (expected one of {MODES})")


def interpolation_path(a: np.ndarray, b: np.ndarray, steps: int,
                       mode: Literal["slerp", "linear"] = "slerp") -> np.ndarray:
    """`steps` codes [steps, D] evenly spaced in t from a (first row) to b (last row), both included."""
    if int(steps) < 2:
        raise ValueError(f"an interpolation path needs at least 2 steps, got {steps}")
    return interpolate(a, b, np.linspace(0.0, 1.0, int(steps)), mode)
