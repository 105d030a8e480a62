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


M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
WINDOW_ARENAS = 2


def limit_malloc_arenas(arenas: int = WINDOW_ARENAS) -> bool:
    """Cap glibc's number of malloc arenas (mallopt M_ARENA_MAX), before worker threads start.

    glibc gives threads arenas of their own, up to 8 per core; blocks freed on one thread's arena
    serve only that arena, so a window whose decode, chain, pixel and gap workers each allocate
    model-sized buffers keeps several copies of its free memory. With 2 arenas the 10-minute soak
    (`python -m latentlab.bench soak`, model switches every 45 s) peaked at 630 MB against 745 MB.
    True if the cap was set (Linux, glibc)."""
    if _malloc_trim() is None:
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(int(arenas))))


def release_freed_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if glibc's malloc_trim ran."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
