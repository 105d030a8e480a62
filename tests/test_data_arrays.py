"""Array-backed kinds: idx (MNIST format), fashion-mnist, svhn, lfw-subset, synthetic-faces."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from latentlab.data import array_sources, load_dataset
from latentlab.data.idx import read_idx
from latentlab.data.synthetic_faces import render_faces
from latentlab.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_cache")


def _write_idx(path: Path, array: np.ndarray) -> Path:
    data = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


# ---------------------------------------------------------------- idx


def test_mnist_gzipped_and_plain_agree(shared_data: Path, tmp_path: Path) -> None:
    mnist = shared_data / "mnist_test"
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(gzip.decompress((mnist / f"{name}.gz").read_bytes()))
    gz = load_dataset(f"idx:{mnist}", split="test", limit=300)
    plain = load_dataset(f"idx:{tmp_path}", split="test", limit=300)
    assert gz.images.shape == (300, 1, 28, 28)
    np.testing.assert_array_equal(np.asarray(gz.images), np.asarray(plain.images))
    assert list(gz.labels["label"][:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # MNIST's first test digits
    np.testing.assert_array_equal(gz.labels["label"], plain.labels["label"])
    assert 20 < gz.images.mean() < 50  # mostly black background
    assert read_idx(mnist / "t10k-images-idx3-ubyte.gz").shape == (10000, 28, 28)


def test_idx_missing_split_and_single_file(shared_data: Path) -> None:
    mnist = shared_data / "mnist_test"
    with pytest.raises(DataError, match=r"no train IDX images .*found: t10k-images-idx3-ubyte.gz \(test\)"):
        load_dataset(f"idx:{mnist}", split="train")
    single = load_dataset(f"idx:{mnist / 't10k-images-idx3-ubyte.gz'}?size=32&channels=3", split="test", limit=5)
    assert single.images.shape == (5, 3, 32, 32)
    with pytest.raises(DataError, match="this file holds the test split"):
        load_dataset(f"idx:{mnist / 't10k-images-idx3-ubyte.gz'}", split="train")


def test_idx_train_test_folder_and_all(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    train, test = rng.integers(0, 255, (12, 6, 6)), rng.integers(0, 255, (4, 6, 6))
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", test)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(4))
    everything = load_dataset(f"idx:{tmp_path}?size=6", split="all")
    assert everything.images.shape == (16, 1, 6, 6)
    np.testing.assert_array_equal(everything.images[:, 0], np.concatenate([train, test]))
    assert list(everything.labels["label"]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 0, 1, 2, 3]
    assert len(load_dataset(f"idx:{tmp_path}?size=6", split="test")) == 4


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:-100], r"truncated: dimensions 5x28x28 need 3920 bytes of data, the file holds 3820"),
        (lambda raw: raw + b"\0", "has extra bytes"),
        (lambda raw: b"\x12\x34" + raw[2:], "not an IDX file"),
        (lambda raw: b"", "not an IDX file"),
    ],
)
def test_damaged_idx_files(tmp_path: Path, damage, message: str) -> None:
    path = _write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((5, 28, 28)))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_idx_names_the_file(tmp_path: Path) -> None:
    path = _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.random.default_rng(0).integers(0, 255, (50, 8, 8)))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=rf"{path}: damaged or truncated gzip file"):
        load_dataset(f"idx:{tmp_path}", split="test")


# ---------------------------------------------------------------- fashion-mnist


def test_fashion_mnist_missing_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(array_sources, "FASHION_MNIST_DIRS", [tmp_path / "nowhere"])
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist")
    assert "sudo apt-get install dataset-fashion-mnist" in str(info.value)
    assert "idx:PATH" in str(info.value)


def test_fashion_mnist_installed() -> None:
    folder = array_sources.FASHION_MNIST_DIRS[0]
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Debian package dataset-fashion-mnist not installed ({folder} missing)")
    ds = load_dataset("fashion-mnist", split="test", limit=50)
    assert ds.images.shape == (50, 1, 28, 28) and ds.labels["label"].max() <= 9


# ---------------------------------------------------------------- svhn


def _svhn_folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    scipy_io = pytest.importorskip("scipy.io")
    root.mkdir()
    rng = np.random.default_rng(2)
    x = rng.integers(0, 255, (32, 32, 3, 30), dtype=np.uint8)
    y = (np.arange(30) % 10 + 1).reshape(-1, 1).astype(np.uint8)  # 1..10, 10 = digit 0
    scipy_io.savemat(root / "train_32x32.mat", {"X": x, "y": y})
    scipy_io.savemat(root / "test_32x32.mat", {"X": x[..., :10], "y": y[:10]})
    return x, y


def test_svhn_from_mat_files(tmp_path: Path) -> None:
    x, y = _svhn_folder(tmp_path / "svhn")
    train = load_dataset(f"svhn:{tmp_path / 'svhn'}")
    assert train.images.shape == (30, 3, 32, 32)
    np.testing.assert_array_equal(train.images[7], x[..., 7].transpose(2, 0, 1))
    assert list(train.labels["label"][:10]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert len(load_dataset(f"svhn:{tmp_path / 'svhn'}", split="all")) == 40
    test = load_dataset(f"svhn:{tmp_path / 'svhn' / 'test_32x32.mat'}?channels=1&size=16", split="test")
    assert test.images.shape == (10, 1, 16, 16)


def test_svhn_bad_file(tmp_path: Path) -> None:
    (tmp_path / "train_32x32.mat").write_bytes(b"MATLAB? no")
    with pytest.raises(DataError, match=r"train_32x32.mat: cannot read as a MATLAB .mat file"):
        load_dataset(f"svhn:{tmp_path}")


# ---------------------------------------------------------------- lfw-subset, synthetic-faces


def test_lfw_subset_without_scikit_image(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage` fail
    with pytest.raises(DataError, match="pip install scikit-image"):
        load_dataset("lfw-subset")


def test_lfw_subset_faces() -> None:
    pytest.importorskip("skimage", reason="scikit-image is optional (pip install scikit-image)")
    ds = load_dataset("lfw-subset", split="all")
    assert ds.images.shape == (100, 1, 25, 25)
    assert len(load_dataset("lfw-subset", split="test")) == 10


def test_synthetic_faces_split_and_labels() -> None:
    train = load_dataset("synthetic-faces?n=40&seed=5&size=32")
    test = load_dataset("synthetic-faces?n=40&seed=5&size=32", split="test")
    assert (len(train), len(test)) == (36, 4) and test.image_shape == (3, 32, 32)
    images, factors = render_faces(36, 4, seed=5, size=32)
    np.testing.assert_array_equal(np.asarray(test.images), images)
    for name, values in factors.items():
        np.testing.assert_array_equal(test.labels[name], values)
    assert list(test.labels["index"]) == [36, 37, 38, 39]
    gray = load_dataset("synthetic-faces?n=40&seed=5&size=32&channels=1", split="test")
    assert gray.image_shape == (1, 32, 32)
