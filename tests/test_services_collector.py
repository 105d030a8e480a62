"""Collector pauses stay short: long-lived objects are frozen out of full passes (services/collector.py)."""

import gc
import time

import pytest

from latentlab.services.collector import collector_paused, freeze_survivors


@pytest.fixture(autouse=True)
def _thawed():
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def _full_pass_ms() -> float:
    start = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - start) * 1000.0


def test_frozen_objects_leave_full_passes_short():
    long_lived = [[i] for i in range(300_000)]  # containers a full pass must visit
    before = gc.get_freeze_count()
    slow = min(_full_pass_ms() for _ in range(3))
    freeze_survivors()
    assert gc.get_freeze_count() >= before + len(long_lived)
    fast = min(_full_pass_ms() for _ in range(3))
    assert fast < slow / 2, (slow, fast)


def test_paused_block_collects_nothing_and_freezes_what_it_made():
    gc.collect()
    with collector_paused():
        assert not gc.isenabled()
        made = [[i] for i in range(50_000)]
        assert gc.get_count()[0] > 700  # past the generation-0 threshold, yet no pass ran
    assert gc.isenabled()
    assert gc.get_count()[0] < 700  # the young generation was frozen, not left for one long pass
    assert gc.get_freeze_count() >= len(made)


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_an_error_in_the_block_still_restores_the_collector():
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_without_freeze_the_paused_block_leaves_its_objects_collectable():
    gc.collect()
    before = gc.get_freeze_count()
    with collector_paused(freeze=False):
        assert not gc.isenabled()
        made = [[i] for i in range(5_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == before and len(made) == 5_000
