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
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has malloc_trim), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
WINDOW_ARENAS = 2


def limit_malloc_arenas(arenas: int = WINDOW_ARENAS) -> bool:
    """Cap glibc's number of malloc arenas (mallopt M_ARENA_MAX), before worker threads start.

    glibc gives threads arenas of their own, up to 8 per core; blocks freed on one thread's arena
    serve only that arena, so a window whose decode, chain, pixel and gap workers each allocate
    model-sized buffers keeps several copies of its free memory. With 2 arenas the 10-minute soak
    (`python -m latentlab.bench soak`, model switches every 45 s) peaked at 630 MB against 745 MB.
    True if the cap was set (Linux, glibc)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_ARENA_MAX, int(arenas)))


def release_freed_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if glibc's malloc_trim ran."""
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
