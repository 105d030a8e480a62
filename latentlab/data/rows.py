"""Rows of a memory-mapped image array read with ``os.preadv`` instead of through the map.

Every page of a memory map that a process touches stays mapped into it, and counts towards its
resident set size, until the map is closed: one epoch of random batches read through the map of
a 200,000-face cache (2.4 GB at 64x64) leaves the whole file resident in the process. Read with
``preadv`` into a fresh array, the same bytes pass through the OS page cache (which the kernel
may drop whenever it needs the memory) and the process holds only the batch.
"""

from __future__ import annotations

import mmap
import os

import numpy as np


def file_backing(images: np.ndarray) -> tuple[str, int] | None:
    """(path, byte offset of row 0) when `images` is a whole C-ordered ``np.memmap`` of a file (as
    ``np.load(mmap_mode=...)`` returns it), else None (an in-memory array, or a slice of a map)."""
    if not isinstance(images, np.memmap) or images.filename is None or not isinstance(images.base, mmap.mmap):
        return None
    if not images.flags.c_contiguous:
        return None
    return str(images.filename), int(images.offset)


def _read_into(fd: int, buffer: memoryview, offset: int) -> int:
    """Read len(buffer) bytes at `offset` into `buffer`; returns the count read. `preadv` reads in
    place (Linux, BSDs); plain `pread` (macOS) returns bytes, copied in."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buffer], offset)
    data = os.pread(fd, len(buffer), offset)
    buffer[: len(data)] = data
    return len(data)


def read_rows(images: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``images[indices]`` (indices: 1-D int array, any order, repeats allowed) as a new array.
    From a file-backed map the rows are read from the file (one ``preadv`` per run of consecutive
    indices), so no page of the map becomes resident; any other array (or a system without `pread`)
    is indexed as usual."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    backing = file_backing(images)
    if backing is None or len(indices) == 0 or not hasattr(os, "pread"):  # no pread (Windows): use the map
        return np.array(images[indices])
    count = len(images)
    if indices.min() < -count or indices.max() >= count:
        raise IndexError(f"row index out of range for {count} rows")
    indices = np.where(indices < 0, indices + count, indices)
    path, start = backing
    out = np.empty((len(indices), *images.shape[1:]), dtype=images.dtype)
    row_bytes = out[0].nbytes if len(out) else 0
    order = np.argsort(indices, kind="stable")
    sorted_rows = indices[order]
    flat = out.reshape(len(out), -1)
    fd = os.open(path, os.O_RDONLY)
    try:
        run_start = 0
        for i in range(1, len(sorted_rows) + 1):
            # a run: consecutive distinct rows whose outputs are also consecutive in `order`
            if (i < len(sorted_rows) and sorted_rows[i] == sorted_rows[i - 1] + 1
                    and order[i] == order[i - 1] + 1):
                continue
            first = int(sorted_rows[run_start])
            target = flat[order[run_start]: order[run_start] + (i - run_start)]
            wanted = target.nbytes
            got = _read_into(fd, memoryview(target).cast("B"), start + first * row_bytes)
            if got != wanted:
                raise OSError(f"{path}: short read ({got} of {wanted} bytes at row {first}); the file was truncated")
            run_start = i
    finally:
        os.close(fd)
    return out
