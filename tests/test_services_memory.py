"""Freed heap memory is handed back to the OS after a model switch (services/memory.py)."""

import sys

import numpy as np
import pytest

from latentlab.services.memory import release_freed_memory


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's (Linux)")
def test_freed_blocks_go_back_to_the_system():
    # Many mid-sized blocks (below mmap's threshold, so they live in the heap) with a survivor after
    # each: freeing the rest leaves holes that plain free() keeps, and malloc_trim returns.
    blocks = [np.ones(16_000, dtype=np.float64) for _ in range(4000)]  # ~0.5 GB in 128 kB blocks
    survivors = blocks[::50]
    del blocks
    before = _rss_kb()
    assert release_freed_memory() is True
    after = _rss_kb()
    assert after < before - 100_000, (before, after)  # at least 100 MB handed back
    assert len(survivors) == 80


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")
def test_the_arena_cap_is_accepted():
    from latentlab.services.memory import limit_malloc_arenas

    assert limit_malloc_arenas(2) is True
