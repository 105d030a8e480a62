"""Which reader opens each dataset kind: a spec + split + limit becomes a `source.Source`.

The readers (``image_files`` for celeba/folder, ``array_sources`` for the rest) build on
``source``; this table sits above all of them, so none of them imports another's module back.
"""

from __future__ import annotations

from collections.abc import Callable

from latentlab.data import array_sources, image_files
from latentlab.data.source import Source, check_split
from latentlab.data.spec import DatasetSpec
from latentlab.errors import DataError

#: kind -> opener(spec, split, limit) -> Source
OPENERS: dict[str, Callable[[DatasetSpec, str, int | None], Source]] = {
    "celeba": image_files.open_celeba,
    "folder": image_files.open_folder,
    "idx": array_sources.open_idx,
    "fashion-mnist": array_sources.open_fashion_mnist,
    "svhn": array_sources.open_svhn,
    "lfw-subset": array_sources.open_lfw_subset,
    "synthetic-faces": array_sources.open_synthetic_faces,
}


def open_source(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """The :class:`Source` for ``spec`` restricted to ``split`` and its first ``limit`` examples."""
    check_split(spec, split)
    if limit is not None and (isinstance(limit, bool) or int(limit) < 1):
        raise DataError(f"dataset spec '{spec}': limit must be a positive number, got {limit}")
    source = OPENERS[spec.kind](spec, split, None if limit is None else int(limit))
    if source.count == 0:
        raise DataError(f"dataset spec '{spec}': split '{split}' has no examples")
    return source


__all__ = ["OPENERS", "open_source"]
