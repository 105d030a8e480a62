"""Hand freed heap memory back to the operating system after a model is replaced.

A model switch frees tens of MB of weights, atlas images and decode buffers, allocated on several
worker threads. glibc's allocator keeps such freed blocks in per-thread arenas and returns them to
the system only when the free space sits at the top of a heap, so over a long session the resident
size creeps up even though nothing is leaked (the soak bench, `python -m latentlab.bench soak`,
measures it). `malloc_trim(0)` releases every whole free page of every arena (glibc 2.8+: it also
walks the arenas' interiors, man 3 malloc_trim). Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import cache


@cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if glibc's malloc_trim ran."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
