"""ImageDataset behaviour and load_dataset's cache, progress, threading and error handling."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.data import ImageDataset, load_dataset, parse_spec
from latentlab.errors import DataError

SPEC = "synthetic-faces?n=300&seed=1&size=16"


def test_batch_tensor_and_describe(isolated_cache: Path) -> None:
    ds = load_dataset(SPEC, split="train")
    assert isinstance(ds, ImageDataset) and len(ds) == 270 and ds.image_shape == (3, 16, 16)
    x = ds.batch([3, 0, 7])
    assert x.dtype == torch.float32 and x.shape == (3, 3, 16, 16)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    torch.testing.assert_close(x[1], torch.from_numpy(np.asarray(ds.images[0], np.float32) / 255))
    assert torch.equal(ds.batch(torch.tensor([5, 6])), ds.batch(slice(5, 7)))
    t = ds.as_tensor()
    assert t.dtype == torch.uint8 and t.shape == (270, 3, 16, 16)
    assert t.data_ptr() == ds.images.ctypes.data  # shares memory with the (memory-mapped) array
    desc = json.loads(json.dumps(ds.describe()))
    assert desc["spec"] == SPEC and desc["split"] == "train" and desc["count"] == 270
    assert desc["preprocessing"]["size"] == 16 and desc["image_shape"] == [3, 16, 16]
    assert parse_spec(desc["spec"]) == ds.spec


def test_progress_reports_decoding_then_cache_hit(isolated_cache: Path) -> None:
    calls: list[tuple[int, int]] = []
    load_dataset(SPEC, split="train", progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 270) and calls[-1] == (270, 270) and len(calls) > 2
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    calls.clear()
    load_dataset(SPEC, split="train", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(270, 270)]
    assert len(list(isolated_cache.glob("datasets/synthetic-faces-train-*.npy"))) == 1


def test_interrupted_decode_leaves_no_entry(isolated_cache: Path) -> None:
    def cancel(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_dataset(SPEC, split="train", progress=cancel)
    assert list(isolated_cache.glob("datasets/*")) == []
    assert len(load_dataset(SPEC, split="train")) == 270


def test_limit_and_split_errors(isolated_cache: Path) -> None:
    assert len(load_dataset(SPEC, split="test", limit=10)) == 10
    assert len(load_dataset(SPEC, split="test", limit=10_000)) == 30
    assert len(load_dataset(SPEC, split="all", limit=5)) == 5
    with pytest.raises(DataError, match="limit must be a positive number"):
        load_dataset(SPEC, limit=0)
    with pytest.raises(DataError, match=r"unknown split 'valid' \(valid: train, test, all\)"):
        load_dataset(SPEC, split="valid")
    with pytest.raises(DataError, match="split 'train' has no examples"):
        load_dataset("synthetic-faces?n=1&size=16", split="train")


def test_loads_from_a_worker_thread(isolated_cache: Path) -> None:
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["ds"] = load_dataset(SPEC, split="test")
        except BaseException as err:  # pragma: no cover - reported below
            result["err"] = err

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert "err" not in result and len(result["ds"]) == 30


def test_unwritable_cache_falls_back_to_memory(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LATENTLAB_CACHE_DIR", str(blocker))
    with pytest.warns(UserWarning, match="cannot write the dataset cache"):
        ds = load_dataset(SPEC, split="test")
    assert len(ds) == 30 and not isinstance(ds.images, np.memmap)


def _solid_png(path: Path, grey: int) -> None:
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), grey, np.uint8)).save(path)


def test_changed_files_are_decoded_again_and_replace_their_entry(isolated_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        _solid_png(folder / f"{i:02d}.png", 20 * i)
    spec = f"folder:{folder}?size=8"
    before = load_dataset(spec, split="all")
    assert sorted(int(image[0, 0, 0]) for image in before.images) == [0, 20, 40, 60, 80, 100]
    load_dataset(spec, split="all", limit=3)  # another slot (a limit): an entry of its own
    entries = lambda: sorted(p.name for p in isolated_cache.glob("datasets/*.npy"))  # noqa: E731
    assert len(entries()) == 2

    changed = folder / "03.png"
    _solid_png(changed, 250)
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later modification, whatever the clock
    after = load_dataset(spec, split="all")
    assert sorted(int(image[0, 0, 0]) for image in after.images) == [0, 20, 40, 80, 100, 250]  # decoded again
    assert len(entries()) == 2  # replaced in its slot, not added beside it; the limit's entry is untouched
    assert sorted(int(image[0, 0, 0]) for image in before.images)[3] == 60  # a mapped old entry still reads

    again = load_dataset(spec, split="all")  # and the new entry is the one found from now on
    assert np.array_equal(np.asarray(again.images), np.asarray(after.images)) and len(entries()) == 2


def test_an_option_written_out_at_its_default_shares_the_entry(isolated_cache: Path) -> None:
    load_dataset(SPEC, split="test")
    calls: list[tuple[int, int]] = []
    load_dataset(SPEC + "&channels=3", split="test", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(30, 30)]  # a cache hit
    assert len(list(isolated_cache.glob("datasets/*.npy"))) == 1
    load_dataset(SPEC.replace("seed=1", "seed=2"), split="test")  # other faces: another slot
    assert len(list(isolated_cache.glob("datasets/*.npy"))) == 2
