"""On-disk cache of decoded image sets: uint8 ``.npy`` files opened memory-mapped, labels beside
them in ``.npz``.

Location: ``$LATENTLAB_CACHE_DIR/datasets`` when that variable is set, else
``platformdirs.user_cache_dir("latentlab")/datasets``.  Entries are written to temporary files and
moved into place with ``os.replace`` (labels first, images last), so an interrupted decode never
leaves an entry that looks complete.  An entry that cannot be read back is deleted and rebuilt.

An entry's name is ``KIND-SPLIT-SLOT-CONTENTS``: SLOT stands for what was asked for (dataset, split,
limit, options), CONTENTS for what was decoded (the files' names, sizes and modification times, the
preprocessing). Once a decode of changed files is in place, the entries of the same slot holding
older contents are deleted (`remove_older_entries`), so the cache does not grow by a whole copy of
the dataset each time a folder is edited.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from latentlab.errors import DataError

CACHE_FORMAT_VERSION = 1

Labels = dict[str, np.ndarray]


def cache_root() -> Path:
    """The folder holding dataset cache entries (not created here)."""
    env = os.environ.get("LATENTLAB_CACHE_DIR")
    base = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("latentlab"))
    return base / "datasets"


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 (hex) of the JSON of ``parts`` plus the cache format version."""
    blob = json.dumps({"format": CACHE_FORMAT_VERSION, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def entry_base(kind: str, split: str, slot: dict[str, Any], contents: dict[str, Any]) -> Path:
    """Where the entry of ``contents`` in ``slot`` lives (without its suffixes)."""
    return cache_root() / f"{kind}-{split}-{cache_key(slot)[:12]}-{cache_key({**slot, **contents})[:12]}"


def remove_older_entries(base: Path) -> None:
    """Delete the other entries of ``base``'s slot (decodes of earlier contents).

    A process still reading one keeps its open file (POSIX); in-progress temporary files, whose
    names go on after the suffix, are left to their writer."""
    slot_prefix = base.name.rsplit("-", 1)[0]
    try:
        others = [path.with_suffix("") for path in base.parent.glob(f"{slot_prefix}-*.npy")]
    except OSError:  # an unreadable cache folder: nothing to tidy (the entry itself was decoded into memory)
        return
    for other in others:
        if other != base:
            _remove(*_paths(other))


def _paths(base: Path) -> tuple[Path, Path]:
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".labels.npz")


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def load_entry(base: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, Labels] | None:
    """The cached (images memmap, labels) at ``base`` if present and sound, else None.

    A damaged entry (wrong header, truncated, wrong shape, unreadable labels) is deleted.
    """
    images_path, labels_path = _paths(base)
    if not images_path.is_file():
        return None
    try:
        images = np.load(images_path, mmap_mode="c")  # copy-on-write: writable, file untouched
        if images.shape != tuple(shape) or images.dtype != np.uint8:
            raise ValueError(f"shape {images.shape} {images.dtype}, expected {shape} uint8")
        with np.load(labels_path, allow_pickle=False) as npz:
            labels = {k: npz[k] for k in npz.files}
        if any(v.ndim == 0 or len(v) != shape[0] for v in labels.values()):
            raise ValueError("labels do not match the images")
    except Exception as err:  # any damage means: rebuild
        warnings.warn(f"{images_path}: damaged dataset cache entry, rebuilding ({err})", stacklevel=2)
        _remove(images_path, labels_path)
        return None
    return images, labels


Writer = Callable[[int, np.ndarray], None]  # write(first_row, rows): rows [k, ...] at first_row


def build_entry(
    base: Path, shape: tuple[int, ...], fill: Callable[[Writer], Labels]
) -> tuple[np.ndarray, Labels]:
    """Create the entry at ``base``: ``fill(write)`` writes the images with ``write(first_row, rows)``
    and returns the labels.

    Rows go to the file with plain writes, not through a memory map: written pages stay in the OS
    page cache and never count towards this process's resident memory, so building the entry of a
    dataset of any size needs memory for one chunk only. When the cache folder cannot be written,
    decodes into memory instead (with a warning).
    """
    images_path, labels_path = _paths(base)
    token = f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp_images = images_path.with_name(images_path.name + token)
    tmp_labels = labels_path.with_name(labels_path.name + token)
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        handle = open(tmp_images, "wb")
    except OSError as err:
        warnings.warn(f"{base.parent}: cannot write the dataset cache ({err}); decoding into memory", stacklevel=2)
        array = np.empty(shape, np.uint8)

        def write_in_memory(first: int, rows: np.ndarray) -> None:
            array[first:first + len(rows)] = rows

        return array, fill(write_in_memory)
    try:
        with handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                         "shape": tuple(shape)})
            data_start = handle.tell()
            row_bytes = int(np.prod(shape[1:], dtype=np.int64))
            handle.truncate(data_start + row_bytes * shape[0])  # full size (sparse) even if fill writes nothing

            def write(first: int, rows: np.ndarray) -> None:
                handle.seek(data_start + first * row_bytes)
                handle.write(np.ascontiguousarray(rows, dtype=np.uint8).data)

            labels = fill(write)
        with open(tmp_labels, "wb") as fh:
            np.savez(fh, **labels)
        os.replace(tmp_labels, labels_path)
        os.replace(tmp_images, images_path)
    finally:
        _remove(tmp_images, tmp_labels)
    entry = load_entry(base, shape)
    if entry is None:
        raise DataError(f"{images_path}: dataset cache entry unreadable right after writing it")
    return entry
