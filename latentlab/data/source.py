"""What a dataset kind hands to the loader: a selection of examples that can be decoded in chunks.

Every kind's reader (``image_files`` for celeba/folder, ``array_sources`` for the rest) turns a
spec + split + limit into a :class:`Source`.  Opening a source only lists and checks its files;
the expensive decoding happens in :meth:`Source.read`, chunk by chunk, and only on a cache miss.
This module holds what the readers share and imports none of them; `openers.open_source` picks a
kind's reader.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.data.spec import SPLITS, DatasetSpec
from latentlab.errors import DataError
from latentlab.fileio import regular_file_problem

#: label a reader may add: 1 where the example decoded, 0 where it could not (load_dataset drops those)
READABLE = "readable"

#: decode(start, stop) -> (uint8 images [stop-start, C, H, W], labels for those examples)
Reader = Callable[[int, int], tuple[np.ndarray, dict[str, np.ndarray]]]


@dataclass
class Source:
    """A decodable selection of ``count`` examples of shape ``shape`` (C, H, W)."""

    fingerprint: dict[str, Any]  # JSON-able; identifies the input data (paths, sizes, mtimes)
    count: int
    shape: tuple[int, int, int]
    preprocessing: dict[str, Any]
    read: Reader
    #: the name of each example (relative paths of image files), for reports of skipped ones
    names: list[str] | None = None
    #: why examples could not be decoded, by position, filled in while decoding (fresh decodes only)
    problems: dict[int, str] = field(default_factory=dict)


def holdout_count(n: int) -> int:
    """Size of the deterministic held-out ("test") part of ``n`` ordered examples: last 10%."""
    return (n + 9) // 10


def split_range(n: int, split: str) -> range:
    """Indices of ``split`` ("train", "test" or "all") for ``n`` examples with the 90/10 rule."""
    cut = n - holdout_count(n)
    return {"train": range(cut), "test": range(cut, n), "all": range(n)}[split]


def apply_limit(indices: range | np.ndarray, limit: int | None) -> range | np.ndarray:
    """The first ``limit`` entries (all when ``limit`` is None)."""
    return indices if limit is None else indices[:limit]


def file_stat(path: Path) -> list[Any]:
    """``[name, size, mtime_ns]`` of a file, for cache fingerprints."""
    st = os.stat(path)
    return [path.name, st.st_size, st.st_mtime_ns]


def check_regular_file(path: Path) -> None:
    """DataError unless ``path`` is a regular file: reading a named pipe or a device blocks or never
    ends, so only plain files are opened as data (`fileio.regular_file_problem`, which never blocks)."""
    problem = regular_file_problem(path)
    if problem is not None:
        suffix = ", so it is not read as data" if problem.startswith("not a regular file") else ""
        raise DataError(f"{path}: {problem}{suffix}")


def check_split(spec: DatasetSpec, split: str) -> None:
    """DataError unless ``split`` is one the spec's kind offers."""
    if split not in SPLITS[spec.kind]:
        raise DataError(
            f"dataset spec '{spec}': unknown split '{split}' (valid: {', '.join(SPLITS[spec.kind])})"
        )

