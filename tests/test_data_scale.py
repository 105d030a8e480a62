"""A dataset of any size goes through the cache and a training epoch without becoming resident:
the cache is written with plain writes and read back with preadv, never through a mapped page."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from latentlab.data import load_dataset
from latentlab.data.cache import build_entry
from latentlab.data.rows import file_backing, read_rows

SPEC = "synthetic-faces?n=300&seed=1&size=16"

needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps (Linux)")


def mapped_kb(path: Path) -> tuple[int, int]:
    """(mappings of `path` in this process, their resident kB summed) from /proc/self/smaps."""
    mappings, resident, inside = 0, 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = len(fields) >= 6 and fields[5] == str(path)
            mappings += inside
        elif inside and fields[0] == "Rss:":
            resident += int(fields[1])
    return mappings, resident


def test_read_rows_matches_indexing_in_any_order(isolated_cache: Path) -> None:
    dataset = load_dataset(SPEC, split="train")
    assert isinstance(dataset.images, np.memmap) and file_backing(dataset.images) is not None  # the cache, mapped
    for indices in ([5, 3, 4, 4, 0, 269], list(range(10, 40)), [-1, 2], [], list(range(269, -1, -1))):
        got = read_rows(dataset.images, np.array(indices, dtype=np.int64))
        np.testing.assert_array_equal(got, np.asarray(dataset.images)[indices])
        assert got.flags.writeable and got.shape == (len(indices), 3, 16, 16)
    np.testing.assert_array_equal(dataset.take([7, 1]), np.asarray(dataset.images)[[7, 1]])
    with pytest.raises(IndexError):
        read_rows(dataset.images, np.array([270]))
    in_memory = np.arange(24, dtype=np.uint8).reshape(4, 1, 2, 3)
    assert file_backing(in_memory) is None and file_backing(dataset.images[1:]) is None
    np.testing.assert_array_equal(read_rows(in_memory, np.array([3, 0])), in_memory[[3, 0]])


@needs_proc
def test_reading_every_row_leaves_no_page_of_the_cache_resident(isolated_cache: Path) -> None:
    dataset = load_dataset(SPEC, split="train")
    path = Path(dataset.images.filename)
    order = np.random.default_rng(0).permutation(len(dataset))
    for start in range(0, len(order), 64):
        dataset.batch(order[start:start + 64])
    mappings, resident = mapped_kb(path)
    assert mappings >= 1 and resident == 0
    np.asarray(dataset.images).sum()  # reading through the map, by contrast, makes it resident
    assert mapped_kb(path)[1] > 0


@needs_proc
def test_the_cache_file_is_written_without_being_mapped(isolated_cache: Path) -> None:
    seen: list[tuple[int, int]] = []
    shape = (50, 3, 8, 8)
    rows = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)

    def fill(write) -> dict[str, np.ndarray]:
        write(20, rows[20:])  # any order
        write(0, rows[:20])
        for tmp in (isolated_cache / "datasets").glob("entry.npy.tmp-*"):
            seen.append(mapped_kb(tmp))
        return {"index": np.arange(50)}

    images, labels = build_entry(isolated_cache / "datasets" / "entry", shape, fill)
    assert seen == [(0, 0)]  # the file being written was never mapped into this process
    np.testing.assert_array_equal(images, rows)
    np.testing.assert_array_equal(labels["index"], np.arange(50))


@needs_proc
def test_a_training_epoch_reads_the_cache_without_making_it_resident(isolated_cache: Path, tmp_path: Path) -> None:
    from trainers.config import TrainConfig
    from trainers.events import Finished
    from trainers.loop import Trainer

    config = TrainConfig(model="ae", data=SPEC, out=str(tmp_path / "run"), epochs=1, batch_size=32, eval_limit=0,
                         model_config={"latent_dim": 4, "base_channels": 4}, preview_every=10**6)
    trainer = Trainer(config)
    events = list(trainer.run())
    assert isinstance(events[-1], Finished) and events[-1].step == 270 // 32
    path = Path(trainer.train_set.images.filename)
    mappings, resident = mapped_kb(path)
    assert mappings >= 1 and resident == 0  # every batch, and the batch-norm recalibration, read with preadv


def test_without_preadv_the_rows_are_read_with_pread(isolated_cache: Path, monkeypatch) -> None:
    dataset = load_dataset(SPEC, split="train")
    monkeypatch.delattr("os.preadv", raising=False)
    np.testing.assert_array_equal(dataset.take([9, 2, 3]), np.asarray(dataset.images)[[9, 2, 3]])
