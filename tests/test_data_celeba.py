"""CelebA reader against the real 10k half-size images in ../shared/data/celeba_10k."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.data import load_dataset, load_image_file, parse_spec
from latentlab.data.openers import open_source
from latentlab.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_cache")


@pytest.fixture
def celeba(shared_data: Path) -> str:
    return f"celeba:{shared_data / 'celeba_10k'}"


def _names(spec: str, split: str) -> list[str]:
    return [f[0] for f in open_source(parse_spec(spec), split, None).fingerprint["files"]]


def test_deterministic_split_of_celeba_10k(celeba: str) -> None:
    train, test = _names(celeba, "train"), _names(celeba, "test")
    assert (len(train), len(test)) == (9000, 1000)
    assert (train[0], train[-1]) == ("000001.jpg", "009000.jpg")
    assert (test[0], test[-1]) == ("009001.jpg", "010000.jpg")
    assert len(_names(celeba, "all")) == 10000
    with pytest.raises(DataError, match="no list_eval_partition.txt"):
        open_source(parse_spec(celeba), "valid", None)


def test_images_match_the_standard_preprocessing(celeba: str, shared_data: Path) -> None:
    ds = load_dataset(celeba, split="test", limit=64)
    assert len(ds) == 64 and ds.image_shape == (3, 64, 64) and ds.images.dtype == np.uint8
    assert 60 < ds.images.mean() < 180 and ds.images.std() > 30
    assert ds.labels["index"][0] == 9000
    assert ds.preprocessing["crop"] == "celeba" and ds.preprocessing["source_size"] == [89, 109]
    # 70x70 centre crop of the 89x109 image, then 64x64 bicubic
    first = Image.open(shared_data / "celeba_10k" / "009001.jpg").convert("RGB")
    expected = np.asarray(first.crop((10, 20, 80, 90)).resize((64, 64), Image.BICUBIC)).transpose(2, 0, 1)
    np.testing.assert_array_equal(ds.images[0], expected)
    # the app encodes a user's file with exactly the training preprocessing
    again = load_image_file(shared_data / "celeba_10k" / "009005.jpg", ds.preprocessing)
    np.testing.assert_array_equal(again, ds.images[4])


def test_cache_hit_is_fast_and_identical(celeba: str, isolated_cache: Path) -> None:
    start = time.perf_counter()
    cold = load_dataset(celeba, split="train", limit=400)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = load_dataset(celeba, split="train", limit=400)
    warm_s = time.perf_counter() - start
    assert isinstance(warm.images, np.memmap)
    np.testing.assert_array_equal(np.asarray(cold.images), np.asarray(warm.images))
    assert warm_s < max(0.5, cold_s / 2)
    assert list(isolated_cache.glob("datasets/celeba-train-*.npy"))


def test_damaged_cache_is_rebuilt(celeba: str, isolated_cache: Path) -> None:
    good = np.array(load_dataset(celeba, split="test", limit=32).images)
    (entry,) = isolated_cache.glob("datasets/celeba-test-*.npy")
    entry.write_bytes(entry.read_bytes()[:5000])  # as if the disk filled up
    with pytest.warns(UserWarning, match="damaged dataset cache entry"):
        rebuilt = load_dataset(celeba, split="test", limit=32)
    np.testing.assert_array_equal(np.asarray(rebuilt.images), good)


def _celeba_root(tmp_path: Path, shared_data: Path, count: int = 20) -> Path:
    """A CelebA root in the official layout, linking the first ``count`` real images."""
    images = tmp_path / "CelebA" / "img_align_celeba"
    images.mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, count + 1)]
    for name in names:
        (images / name).symlink_to(shared_data / "celeba_10k" / name)
    parts = [0] * 12 + [1] * 4 + [2] * (count - 16)
    lines = [f"{n} {p}" for n, p in zip(names, parts)] + ["999999.jpg 2"]  # extra rows are fine
    (images.parent / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    attrs = ["Smiling", "Male"]
    rows = [f"{n} {1 if i % 2 else -1} {1 if i % 3 == 0 else -1}" for i, n in enumerate(names)]
    (images.parent / "list_attr_celeba.txt").write_text(f"{count}\n{' '.join(attrs)}\n" + "\n".join(rows) + "\n")
    return images.parent


def test_official_partition_and_attributes(tmp_path: Path, shared_data: Path) -> None:
    root = _celeba_root(tmp_path, shared_data)
    for path in (root, root / "img_align_celeba"):  # the root or the image folder itself
        spec = f"celeba:{path}?size=32"
        sizes = {s: len(load_dataset(spec, split=s)) for s in ("train", "valid", "test", "all")}
        assert sizes == {"train": 12, "valid": 4, "test": 4, "all": 20}
    valid = load_dataset(f"celeba:{root}?size=32", split="valid")
    assert list(valid.labels["index"]) == [12, 13, 14, 15]
    assert list(valid.labels["attr_Smiling"]) == [0, 1, 0, 1]
    assert list(valid.labels["attr_Male"]) == [1, 0, 0, 1]


def test_image_missing_from_partition_file_is_an_error(tmp_path: Path, shared_data: Path) -> None:
    root = _celeba_root(tmp_path, shared_data)
    (root / "img_align_celeba" / "000021.jpg").symlink_to(shared_data / "celeba_10k" / "000021.jpg")
    with pytest.raises(DataError, match=r"list_eval_partition.txt: image 000021.jpg is not listed"):
        load_dataset(f"celeba:{root}", split="train")
