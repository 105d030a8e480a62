"""``ImageDataset`` and ``load_dataset``: a spec + split becomes a uint8 image array, decoded once
and then memory-mapped from the cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from latentlab.data.cache import Writer, build_entry, entry_base, load_entry, remove_older_entries
from latentlab.data.openers import open_source
from latentlab.data.rows import read_rows
from latentlab.data.source import READABLE, Source
from latentlab.data.spec import DatasetSpec, parse_spec
from latentlab.errors import DataError

Progress = Callable[[int, int], None]
CHUNK = 256


@dataclass
class ImageDataset:
    """Decoded images ``[N, C, H, W]`` uint8 (possibly a memmap) with per-example labels."""

    images: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    spec: DatasetSpec | None = None
    split: str = "all"
    preprocessing: dict[str, Any] = field(default_factory=dict)
    #: images of the split that could not be decoded and were left out ("name: reason" when known)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of every image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def take(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        """Images at ``indices`` as a new uint8 array ``[B, C, H, W]``. From the cache they are read
        from its file (`rows.read_rows`), so a whole epoch leaves no page of it resident here."""
        if isinstance(indices, torch.Tensor):
            indices = indices.cpu().numpy()
        return read_rows(self.images, np.asarray(indices, dtype=np.int64))

    def batch(self, indices: Sequence[int] | np.ndarray | torch.Tensor | slice) -> torch.Tensor:
        """Images at ``indices`` as a float32 tensor ``[B, C, H, W]`` in [0, 1]."""
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        return torch.from_numpy(self.take(indices)).to(torch.float32).div_(255.0)

    def as_tensor(self) -> torch.Tensor:
        """All images as a uint8 tensor sharing memory with :attr:`images` (no copy)."""
        return torch.from_numpy(self.images)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (stored in checkpoints): spec, split, count, preprocessing."""
        out: dict[str, Any] = {
            "spec": str(self.spec) if self.spec is not None else None,
            "split": self.split,
            "count": len(self),
            "image_shape": list(self.image_shape),
            "preprocessing": dict(self.preprocessing),
        }
        if self.skipped:
            out["skipped"] = len(self.skipped)
        if self.spec is not None and self.spec.path is not None:
            out["path"] = str(self.spec.resolved_path())
        return out


def _decode(source: Source, write: Writer, progress: Progress | None) -> dict[str, np.ndarray]:
    """Decode every example of ``source`` chunk by chunk, handing each to ``write(first, images)``
    (one chunk in memory at a time); returns the labels."""
    total, parts = source.count, {}
    if progress is not None:
        progress(0, total)
    for start in range(0, total, CHUNK):
        stop = min(start + CHUNK, total)
        images, labels = source.read(start, stop)
        if images.shape != (stop - start, *source.shape) or images.dtype != np.uint8:
            raise DataError(f"decoded images have shape {images.shape} {images.dtype}, expected "
                            f"{(stop - start, *source.shape)} uint8")
        write(start, images)
        for key, value in labels.items():
            parts.setdefault(key, []).append(np.asarray(value))
        if progress is not None:
            progress(stop, total)
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}


def load_dataset(
    spec: str | DatasetSpec,
    split: str = "train",
    limit: int | None = None,
    progress: Progress | None = None,
    strict: bool = False,
) -> ImageDataset:
    """Load ``split`` ("train", "test", "all"; celeba also "valid") of a dataset spec.

    ``limit`` keeps the first N examples of the split (only those are decoded).  The first load
    decodes and caches; later loads memory-map the cache.  ``progress(done, total)`` is called
    while decoding (and once with ``(total, total)`` on a cache hit); it may raise to cancel.
    Image files that cannot be decoded are left out and listed in ``ImageDataset.skipped``;
    ``strict=True`` refuses the split instead, and so does a split where no image decodes.
    Raises :class:`DataError` for any problem with the spec or the files.
    """
    spec = parse_spec(spec)
    source = open_source(spec, split, limit)
    shape = (source.count, *source.shape)
    slot = {  # what was asked for; the entry of its latest contents replaces those of earlier ones
        "kind": spec.kind,
        "path": str(spec.resolved_path()) if spec.path is not None else None,
        "options": spec.resolved_options(),
        "split": split,
        "limit": limit,
    }
    base = entry_base(spec.kind, split, slot, {"fingerprint": source.fingerprint, "preprocessing": source.preprocessing})
    entry = load_entry(base, shape)
    if entry is None:
        entry = build_entry(base, shape, lambda write: _decode(source, write, progress))
        remove_older_entries(base)
    elif progress is not None:
        progress(source.count, source.count)
    images, labels = entry
    images, labels, skipped = _drop_unreadable(images, dict(labels), source, spec, split, strict)
    return ImageDataset(images, labels, spec, split, source.preprocessing, skipped)


def _drop_unreadable(images: np.ndarray, labels: dict[str, np.ndarray], source: Source, spec: DatasetSpec,
                     split: str, strict: bool) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Leave out the examples the reader marked unreadable (label READABLE = 0); a copy in memory
    is made only when some were. Returns images, labels and the skipped names (with reasons if known)."""
    readable = labels.pop(READABLE, None)
    if readable is None or readable.all():
        return images, labels, []
    bad = np.flatnonzero(readable == 0)
    names = source.names or [f"example {i}" for i in range(source.count)]
    if int(bad[0]) not in source.problems:  # read from the cache: decode the first again for its reason
        source.read(int(bad[0]), int(bad[0]) + 1)
    skipped = [source.problems.get(int(i), f"{names[i]}: cannot decode image") for i in bad]
    if strict:
        raise DataError(f"dataset spec '{spec}': {len(bad)} of {source.count} images in split '{split}' cannot be "
                        f"decoded, refused under --strict (first: {skipped[0]})")
    if len(bad) == source.count:
        raise DataError(f"dataset spec '{spec}': none of the {source.count} images in split '{split}' can be "
                        f"decoded (first: {skipped[0]})")
    keep = readable.astype(bool)
    return np.ascontiguousarray(images[keep]), {k: v[keep] for k, v in labels.items()}, skipped
