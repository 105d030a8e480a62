"""Attribute directions in latent space: a named vector v, found from two groups of codes, that the
explorer moves a face along (z + t · v/‖v‖) and can use as a map axis.

Two estimates from codes of faces without (group A) and with (group B) an attribute:

- ``group-mean``: v = mean(B) − mean(A), the "attribute vector" of White 2016 (Sampling Generative
  Networks, arXiv:1609.04468; the vector arithmetic of Radford et al. 2016).
- ``classifier``: v = w, the normal of a linear classifier's boundary between A and B, here
  L2-regularised logistic regression (scikit-learn's `LogisticRegression`), the choice of
  InterFaceGAN (Shen et al. 2020, arXiv:2005.09635, which uses a linear SVM). When the groups share
  a covariance Σ, the Bayes boundary's normal is Σ⁻¹(μ_B − μ_A) (Fisher's LDA): unlike the mean
  difference it discounts directions along which the codes vary anyway, so moving along it changes
  the attribute with less of everything that merely correlates with it.

`python -m latentlab.bench directions` measures which of the two flips a generating factor of the
synthetic faces more reliably; `DEFAULT_METHOD` is the winner (README, "Attribute directions").

An `AttributeDirection` round-trips through `to_dict` / `from_dict` (plain JSON types, the vector as
a list) and files through `save_directions` / `load_directions`; every bad input raises
`DirectionError` with a message naming the file (or entry) and the problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.analysis.projection import LinearProjection, custom_projection
from latentlab.errors import LatentLabError
from latentlab.fileio import atomic_write, describe_os_error, regular_file_problem

METHODS: dict[str, str] = {
    "classifier": "linear classifier's normal (logistic regression)",
    "group-mean": "difference of the group means",
}
DEFAULT_METHOD = "classifier"  # chosen by `bench directions` (README: flips the factor more reliably)
FILE_FORMAT = "latentlab-directions"
FILE_VERSION = 1
MAX_CATEGORIES = 8  # a label with at most this many distinct integer values is treated as categorical


class DirectionError(LatentLabError):
    """A direction, or a directions file, that cannot be used as given."""


@dataclass(eq=False)  # compared by identity: == on numpy vectors has no single truth value
class AttributeDirection:
    """A named direction in a model's latent space. `vector` [D] is kept as estimated (its length
    means something for a mean difference); `unit` is what the explorer moves along. `origin` says
    where it came from (model, method, groups or label...), JSON types only."""

    name: str
    vector: np.ndarray
    origin: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DirectionError("a direction needs a name (a non-empty text)")
        self.name = self.name.strip()
        try:
            vector = np.asarray(self.vector, dtype=np.float64)
        except (TypeError, ValueError):
            raise DirectionError(f"direction '{self.name}': the vector must be a list of numbers") from None
        if vector.ndim != 1 or vector.size == 0:
            raise DirectionError(f"direction '{self.name}': the vector must be a non-empty list of numbers, "
                                 f"got shape {vector.shape}")
        if not np.all(np.isfinite(vector)):
            raise DirectionError(f"direction '{self.name}': the vector has NaN or infinite entries")
        if np.linalg.norm(vector) < 1e-12:
            raise DirectionError(f"direction '{self.name}': the vector is zero, so it points nowhere")
        self.vector = vector
        if not isinstance(self.origin, dict):
            raise DirectionError(f"direction '{self.name}': origin must be a mapping, got {type(self.origin).__name__}")
        try:
            self.origin = json.loads(json.dumps(self.origin, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise DirectionError(f"direction '{self.name}': origin must hold JSON values only ({err})") from None

    @property
    def dim(self) -> int:
        return int(self.vector.size)

    @property
    def unit(self) -> np.ndarray:
        """v / ‖v‖ [D]: one unit of the explorer's slider is a move of length 1 in latent space."""
        return self.vector / np.linalg.norm(self.vector)

    def moved(self, z: np.ndarray, t: float) -> np.ndarray:
        """z + t · v/‖v‖ as float32 [D] (or [N, D] for codes [N, D])."""
        z = np.asarray(z, dtype=np.float64)
        if z.shape[-1] != self.dim:
            raise DirectionError(f"direction '{self.name}' has {self.dim} dimensions, the code {z.shape[-1]}")
        return (z + float(t) * self.unit).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """{"name", "vector": [floats], "origin": {...}}: JSON types only (`from_dict` reads it back)."""
        return {"name": self.name, "vector": [float(x) for x in self.vector], "origin": dict(self.origin)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "direction") -> AttributeDirection:
        """The direction `to_dict` wrote; `where` names the source in error messages (a file, an entry)."""
        if not isinstance(data, dict):
            raise DirectionError(f"{where}: expected a mapping with name, vector and origin, got {type(data).__name__}")
        missing = [key for key in ("name", "vector") if key not in data]
        if missing:
            raise DirectionError(f"{where}: missing {' and '.join(missing)}")
        vector = data["vector"]
        if not isinstance(vector, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                  for x in vector):
            raise DirectionError(f"{where}: 'vector' must be a list of numbers")
        try:
            return cls(data["name"], np.array(vector, dtype=np.float64), data.get("origin", {}))
        except DirectionError as err:
            raise DirectionError(f"{where}: {err}") from None


# ---------------------------------------------------------------------------------------------- estimates
def group_mean_direction(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """mean(B) − mean(A) [D], pointing from group A (without) to group B (with) (White 2016)."""
    a, b = _two_groups(codes_a, codes_b)
    return b.mean(axis=0) - a.mean(axis=0)


def classifier_direction(codes_a: np.ndarray, codes_b: np.ndarray, regularisation: float = 1.0) -> np.ndarray:
    """w [D], the normal of the logistic-regression boundary p(B | z) = σ(w·z + b) fitted to the two
    groups (L2 penalty ‖w‖²/2 with inverse strength C = `regularisation`, lbfgs; balanced class
    weights, so a small group counts as much as a large one); it points toward group B. As in
    InterFaceGAN (Shen et al. 2020), which uses a linear SVM's normal."""
    from sklearn.linear_model import LogisticRegression

    a, b = _two_groups(codes_a, codes_b)
    codes = np.concatenate([a, b])
    targets = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
    model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=2000)
    model.fit(codes, targets)
    return model.coef_[0].astype(np.float64)


def estimate_direction(method: str, codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """The direction from A to B by `method` (a key of `METHODS`)."""
    if method == "group-mean":
        return group_mean_direction(codes_a, codes_b)
    if method == "classifier":
        return classifier_direction(codes_a, codes_b)
    raise DirectionError(f"unknown method '{method}': choose one of {', '.join(METHODS)}")


def _two_groups(codes_a: np.ndarray, codes_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.atleast_2d(np.asarray(codes_a, dtype=np.float64)), np.atleast_2d(np.asarray(codes_b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        raise DirectionError("both groups need at least one face (group A without the attribute, B with it)")
    if a.shape[1] != b.shape[1]:
        raise DirectionError(f"the groups' codes differ in size ({a.shape[1]} and {b.shape[1]})")
    return a, b


# ---------------------------------------------------------------------------------------------- labels
def is_categorical(values: np.ndarray) -> bool:
    """Integer labels with at most `MAX_CATEGORIES` distinct values (hair style, glasses...)."""
    values = np.asarray(values)
    return np.issubdtype(values.dtype, np.integer) and len(np.unique(values)) <= MAX_CATEGORIES


def label_groups(values: np.ndarray, category: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Split faces by a label into (indices of group A, indices of group B, description).

    - categorical with two values (glasses): A = the lower value, B = the higher;
    - categorical with more values: B = `category`, A = every other (one against the rest);
    - continuous: A = below the median, B = above it (faces at the median itself are left out,
      unless a side would be empty: when half the faces share the lowest value, as closed mouths
      do, A is those faces).
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.size < 2:
        raise DirectionError("a label needs one value per face, for at least two faces")
    if is_categorical(values):
        levels = np.unique(values)
        if len(levels) < 2:
            raise DirectionError("every face has the same value of this label, so it splits them into no groups")
        if category is None:
            if len(levels) != 2:
                raise DirectionError(f"this label has {len(levels)} categories: choose the one to move toward")
            category = int(levels[1])
        if category not in levels:
            raise DirectionError(f"no face has category {category} of this label")
        b = np.flatnonzero(values == category)
        a = np.flatnonzero(values != category)
        rest = "the rest" if len(levels) > 2 else f"= {int(levels[0])}"
        return a, b, f"= {category} against {rest}"
    median = float(np.median(values))
    below, above = values < median, values > median
    if not below.any():  # at least half the faces share the lowest value (mouth_open: closed)
        below = values <= median
    elif not above.any():
        above = values >= median
    if not below.any() or not above.any():
        raise DirectionError("this label hardly varies: no face lies on one side of its median")
    return np.flatnonzero(below), np.flatnonzero(above), f"above the median {median:.3g} against below it"


def in_group_b(values: np.ndarray, reference: np.ndarray, category: int | None = None) -> np.ndarray:
    """Which faces with label `values` (e.g. held-out faces) have the attribute, by the rule
    `label_groups` applies to `reference` (the faces a direction was estimated from): the higher of
    two categories, `category`, or above the reference's median. bool [N]."""
    values, reference = np.asarray(values), np.asarray(reference)
    if is_categorical(reference):
        levels = np.unique(reference)
        return values == (levels[-1] if category is None else category)
    return values > float(np.median(reference))


def direction_from_label(name: str, method: str, codes: np.ndarray, values: np.ndarray, label: str,
                         category: int | None = None, origin: dict[str, Any] | None = None) -> AttributeDirection:
    """The direction of a label of the faces with codes `codes` [N, D] (groups by `label_groups`)."""
    a, b, description = label_groups(values, category)
    vector = estimate_direction(method, codes[a], codes[b])
    details = {"method": method, "source": "label", "label": label, "groups": description,
               "group_sizes": [len(a), len(b)]}
    if category is not None:
        details["category"] = int(category)
    return AttributeDirection(name, vector, {**(origin or {}), **details})


def direction_from_groups(name: str, method: str, codes: np.ndarray, group_a: Sequence[int], group_b: Sequence[int],
                          origin: dict[str, Any] | None = None) -> AttributeDirection:
    """The direction from the faces `group_a` to the faces `group_b` (indices into `codes` [N, D])."""
    a, b = sorted({int(i) for i in group_a}), sorted({int(i) for i in group_b})
    if set(a) & set(b):
        raise DirectionError("a face cannot be in both groups")
    vector = estimate_direction(method, np.asarray(codes)[a], np.asarray(codes)[b])
    details = {"method": method, "source": "chosen faces", "group_a": a, "group_b": b}
    return AttributeDirection(name, vector, {**(origin or {}), **details})


def direction_projection(direction: AttributeDirection, codes: np.ndarray, y_direction: np.ndarray,
                         y_label: str = "PC1 ⊥ direction") -> LinearProjection:
    """Map axes with x = (z − mean of `codes`) · v/‖v‖, the projection on the direction, and y along the
    part of `y_direction` orthogonal to it (`analysis.projection.custom_projection`)."""
    codes = np.atleast_2d(np.asarray(codes, dtype=np.float64))
    if codes.shape[1] != direction.dim:
        raise DirectionError(f"direction '{direction.name}' has {direction.dim} dimensions, the codes {codes.shape[1]}")
    try:
        return custom_projection(codes.mean(axis=0), direction.unit, y_direction,
                                 (f"along '{direction.name}'", y_label))
    except ValueError as err:
        raise DirectionError(f"cannot use '{direction.name}' as an axis: {err}") from None


# ---------------------------------------------------------------------------------------------- files
def directions_document(directions: Sequence[AttributeDirection]) -> dict[str, Any]:
    """The JSON document of a directions file."""
    return {"format": FILE_FORMAT, "version": FILE_VERSION, "directions": [d.to_dict() for d in directions]}


def save_directions(path: str | os.PathLike, directions: Sequence[AttributeDirection]) -> Path:
    """Write `directions` as JSON, atomically (a failed write leaves the file already there intact)."""
    text = json.dumps(directions_document(directions), indent=1, allow_nan=False)
    try:
        return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as err:
        raise DirectionError(f"{path}: cannot be written ({describe_os_error(err)}); nothing was changed") from None


def load_directions(path: str | os.PathLike, latent_dim: int | None = None) -> list[AttributeDirection]:
    """The directions of a file `save_directions` wrote (a bare direction dict is read too). With
    `latent_dim`, every direction must have that many dimensions. DirectionError names the file."""
    path = Path(path)
    if (problem := regular_file_problem(path)) is not None:
        raise DirectionError(f"{path}: {problem}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DirectionError(f"{path}: not a directions file (not text)") from None
    except json.JSONDecodeError as err:
        raise DirectionError(f"{path}: not a directions file (invalid JSON: {err.msg} at line {err.lineno})") from None
    except OSError as err:
        raise DirectionError(f"{path}: cannot be read ({err.strerror or err})") from None
    if isinstance(document, dict) and "vector" in document:
        entries = [document]
    elif isinstance(document, dict) and document.get("format") == FILE_FORMAT:
        if not isinstance(document.get("version"), int) or document["version"] > FILE_VERSION:
            raise DirectionError(f"{path}: directions file version {document.get('version')!r} is newer than this "
                                 f"LatentLab reads ({FILE_VERSION})")
        entries = document.get("directions")
        if not isinstance(entries, list):
            raise DirectionError(f"{path}: 'directions' must be a list")
    else:
        raise DirectionError(f"{path}: not a directions file (expected the format '{FILE_FORMAT}' that "
                             "LatentLab's export writes)")
    directions = [AttributeDirection.from_dict(entry, f"{path}, direction {i + 1}") for i, entry in enumerate(entries)]
    if latent_dim is not None:
        for i, direction in enumerate(directions):
            if direction.dim != latent_dim:
                raise DirectionError(f"{path}, direction {i + 1} ('{direction.name}'): it has {direction.dim} "
                                     f"dimensions, this model's latent space {latent_dim}")
    return directions


def unique_name(name: str, taken: Sequence[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... whichever is not in `taken`."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate
