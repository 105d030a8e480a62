"""Dataset spec strings shared by the CLI and the app: ``kind[:PATH][?key=value&key=value]``.

Examples::

    synthetic-faces?n=5000&seed=1
    celeba:~/data/celeba?size=64
    folder:/photos/faces?channels=1&size=48
    idx:~/mnist                      (folder holding *-images-idx3-ubyte[.gz])
    fashion-mnist
    svhn:~/svhn/train_32x32.mat
    lfw-subset?size=32

``str(spec)`` gives the canonical form (options sorted by name), which parses back to an equal
spec.  The path is kept as written (``~`` included) so a spec stored in a checkpoint stays
portable; :meth:`DatasetSpec.resolved_path` gives the absolute path used for reading and caching.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from latentlab.errors import DataError

KINDS: dict[str, str] = {
    "synthetic-faces": "procedural faces with known generating factors (no files needed)",
    "celeba": "CelebA aligned faces: celeba:ROOT (holding img_align_celeba/) or the image folder itself",
    "folder": "any folder of images, searched recursively: folder:PATH",
    "idx": "MNIST-format IDX files (gzipped or not): idx:FILE or idx:FOLDER",
    "fashion-mnist": "Fashion-MNIST from Debian's dataset-fashion-mnist package",
    "svhn": "SVHN cropped digits (train_32x32.mat / test_32x32.mat): svhn:FILE or svhn:FOLDER",
    "lfw-subset": "the 100 LFW faces shipped with scikit-image (25x25 gray)",
}

#: kinds that take a path (``kind:PATH``); the others take none
_NEEDS_PATH = {"celeba", "folder", "idx", "svhn"}

#: splits each kind accepts
SPLITS: dict[str, tuple[str, ...]] = {kind: ("train", "test", "all") for kind in KINDS}
SPLITS["celeba"] = ("train", "valid", "test", "all")


def _default_count() -> int:
    from latentlab.data import synthetic_faces

    return int(synthetic_faces.DEFAULT_COUNT)


# option name -> (default or callable giving it, validator description, check)
_INT_CHECKS: dict[str, tuple[str, Callable[[int], bool]]] = {
    "size": ("an integer from 4 to 1024", lambda v: 4 <= v <= 1024),
    "channels": ("1 or 3", lambda v: v in (1, 3)),
    "n": ("a positive integer", lambda v: v >= 1),
    "seed": ("an integer >= 0", lambda v: v >= 0),
}

_DEFAULTS: dict[str, dict[str, int | Callable[[], int]]] = {
    "synthetic-faces": {"n": _default_count, "seed": 0, "size": 64, "channels": 3},
    "celeba": {"size": 64, "channels": 3},
    "folder": {"size": 64, "channels": 3},
    "idx": {"size": 28, "channels": 1},
    "fashion-mnist": {"size": 28, "channels": 1},
    "svhn": {"size": 32, "channels": 3},
    "lfw-subset": {"size": 25, "channels": 1},
}


def _valid_kinds() -> str:
    return ", ".join(KINDS)


def _check_option(kind: str, key: str, value: str | int, where: str) -> int:
    """Validate one option of ``kind`` and return its typed value."""
    allowed = _DEFAULTS[kind]
    if key not in allowed:
        raise DataError(
            f"{where}: unknown option '{key}' for {kind} (valid options: {', '.join(allowed)})"
        )
    what, ok = _INT_CHECKS[key]
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not ok(number):
        raise DataError(f"{where}: option {key} must be {what}, got '{value}'")
    return number


def _validated(kind: str, path: str | None, options: dict[str, str | int], where: str) -> dict[str, int]:
    """Check kind, path presence and options; return the options with typed values."""
    if kind not in KINDS:
        raise DataError(f"{where}: unknown kind '{kind}' (valid kinds: {_valid_kinds()})")
    if kind in _NEEDS_PATH and not path:
        raise DataError(f"{where}: {kind} needs a path, e.g. '{kind}:/path/to/data'")
    if kind not in _NEEDS_PATH and path:
        raise DataError(f"{where}: {kind} takes no path (write just '{kind}')")
    return {k: _check_option(kind, k, v, where) for k, v in options.items()}


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed dataset spec: ``kind``, optional ``path`` (as written) and explicit ``options``."""

    kind: str
    path: str | None = None
    options: dict[str, str | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        typed = _validated(self.kind, self.path, self.options, f"dataset spec '{self.to_string()}'")
        object.__setattr__(self, "options", typed)

    def __hash__(self) -> int:
        return hash(self.to_string())

    def to_string(self) -> str:
        """Canonical text: ``kind[:path][?k=v&...]`` with options sorted by name."""
        text = self.kind if self.path is None else f"{self.kind}:{self.path}"
        if self.options:
            text += "?" + "&".join(f"{k}={self.options[k]}" for k in sorted(self.options))
        return text

    __str__ = to_string

    def option(self, name: str) -> int:
        """The value of option ``name``: the explicit one, else the kind's default."""
        if name in self.options:
            return int(self.options[name])
        default = _DEFAULTS[self.kind][name]
        return default() if callable(default) else default

    def resolved_options(self) -> dict[str, int]:
        """Every option of the kind with its value: the explicit one, else the kind's default."""
        return {name: self.option(name) for name in _DEFAULTS[self.kind]}

    def with_options(self, **overrides: str | int | None) -> DatasetSpec:
        """A copy with options replaced (``None`` values are ignored, e.g. absent CLI flags)."""
        options = dict(self.options)
        options.update({k: v for k, v in overrides.items() if v is not None})
        return DatasetSpec(self.kind, self.path, options)

    def resolved_path(self) -> Path:
        """The absolute path (``~`` expanded); only for kinds that take a path."""
        if self.path is None:
            raise DataError(f"dataset spec '{self}': {self.kind} has no path")
        return Path(os.path.abspath(os.path.expanduser(self.path)))


def parse_spec(text: str | DatasetSpec) -> DatasetSpec:
    """Parse ``kind[:PATH][?key=value&...]``; raises :class:`DataError` naming the problem."""
    if isinstance(text, DatasetSpec):
        return text
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"empty dataset spec (valid kinds: {_valid_kinds()})")
    text = text.strip()
    where = f"dataset spec '{text}'"
    head, sep, query = text.rpartition("?") if "?" in text else (text, "", "")
    kind, colon, path = head.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise DataError(f"{where}: unknown kind '{kind}' (valid kinds: {_valid_kinds()})")
    if colon and not path:
        raise DataError(f"{where}: empty path after '{kind}:'")
    options: dict[str, str | int] = {}
    if sep:
        if not query:
            raise DataError(f"{where}: nothing after '?' (expected key=value&key=value)")
        for item in query.split("&"):
            key, eq, value = item.partition("=")
            key = key.strip().lower()
            if not eq or not key or not value.strip():
                raise DataError(f"{where}: malformed option '{item}' (expected key=value)")
            if key in options:
                raise DataError(f"{where}: option '{key}' given twice")
            options[key] = value.strip()
    _validated(kind, path or None, options, where)  # errors quote the text as the user wrote it
    return DatasetSpec(kind, path or None, options)
