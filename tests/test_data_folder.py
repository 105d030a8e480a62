"""folder:PATH reader and the shared preprocessing on small generated image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.data import load_dataset, load_image_file, preprocess_image
from latentlab.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_cache")


def _image_folder(root: Path) -> Path:
    """Ten images: colour and gray, several formats and sizes, nested folders."""
    rng = np.random.default_rng(0)
    (root / "a").mkdir(parents=True)
    (root / "b" / "deep").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), np.uint8)).save(root / "a" / "01.png")
    Image.fromarray(rng.integers(0, 255, (50, 50, 3), np.uint8)).save(root / "a" / "02.jpg")
    Image.fromarray(rng.integers(0, 255, (24, 20), np.uint8)).save(root / "a" / "03.pgm")
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), np.uint8)).save(root / "a" / "04.PPM")
    Image.fromarray(rng.integers(0, 255, (20, 20, 4), np.uint8)).save(root / "a" / "05.png")  # RGBA
    Image.fromarray(rng.integers(0, 255, (20, 20), np.uint8)).save(root / "b" / "06.bmp")
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), np.uint8)).save(root / "b" / "07.webp")
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), np.uint8)).save(root / "b" / "08.JPEG")
    Image.fromarray(rng.integers(0, 255, (18, 22), np.uint8)).save(root / "b" / "deep" / "09.jpg")
    Image.fromarray(np.full((20, 20), 77, np.uint8)).save(root / "b" / "deep" / "10.png")
    (root / "notes.txt").write_text("not an image, not listed")
    (root / ".hidden.jpg").write_bytes(b"hidden files are not part of the dataset")
    return root


def test_mixed_folder_loads_in_sorted_order(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    ds = load_dataset(f"folder:{root}?size=16", split="all")
    assert ds.images.shape == (10, 3, 16, 16)
    assert list(ds.labels["index"]) == list(range(10))
    assert list(ds.labels["folder"]) == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]  # a, b, b/deep
    gray = ds.images[9]
    assert (gray == 77).all()  # a flat gray image stays flat in all three channels
    train, test = load_dataset(f"folder:{root}?size=16"), load_dataset(f"folder:{root}?size=16", split="test")
    assert (len(train), len(test)) == (9, 1)
    np.testing.assert_array_equal(test.images[0], ds.images[9])  # the last file by path is held out


def test_gray_output_and_default_size(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    ds = load_dataset(f"folder:{root}?channels=1", split="all", limit=3)
    assert ds.images.shape == (3, 1, 64, 64)
    assert ds.describe()["preprocessing"] == {"crop": "center", "size": 64, "channels": 1, "resample": "bicubic"}


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_file_is_skipped_and_named_or_refused_under_strict(tmp_path: Path, damage: str) -> None:
    root = _image_folder(tmp_path / "imgs")
    bad = root / "b" / "bad.jpg"
    if damage == "garbage":
        bad.write_bytes(b"this is not a jpeg at all")
    else:
        good = (root / "a" / "02.jpg").read_bytes()
        bad.write_bytes(good[: len(good) // 2])
    ds = load_dataset(f"folder:{root}?size=16", split="all")
    assert len(ds) == 10 and len(ds.skipped) == 1
    assert ds.skipped[0].startswith(f"{bad}: cannot decode image (")
    with pytest.raises(DataError, match="refused under --strict") as info:
        load_dataset(f"folder:{root}?size=16", split="all", strict=True)
    assert f"(first: {bad}: cannot decode image (" in str(info.value)


def test_missing_empty_and_non_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no images found \(looked for .jpg"):
        load_dataset(f"folder:{tmp_path / 'empty'}")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="not a folder"):
        load_dataset(f"folder:{tmp_path / 'file.png'}")


def test_load_image_file_errors(tmp_path: Path) -> None:
    prep = {"crop": "center", "size": 8, "channels": 3, "resample": "bicubic"}
    with pytest.raises(DataError, match=r"nope\.jpg: no such file"):
        load_image_file(tmp_path / "nope.jpg", prep)
    (tmp_path / "y.jpg").write_text("hello")
    with pytest.raises(DataError) as info:
        load_image_file(tmp_path / "y.jpg", prep)
    assert str(info.value) == f"{tmp_path / 'y.jpg'}: cannot decode image (cannot identify image file)"


def test_crops_are_centred_squares() -> None:
    stripes = np.zeros((10, 30, 3), np.uint8)  # red | green | blue, 10 px each
    stripes[:, :10, 0] = stripes[:, 10:20, 1] = stripes[:, 20:, 2] = 255
    out = preprocess_image(Image.fromarray(stripes), {"crop": "center", "size": 10, "channels": 3})
    assert out.shape == (3, 10, 10)
    assert (out[1] == 255).all() and (out[0] == 0).all() and (out[2] == 0).all()
    # the CelebA crop is a centred square of side round(140 / 178 * width)
    tall = np.zeros((218, 178), np.uint8)
    tall[39:179, 19:159] = 200
    celeba = {"crop": "celeba", "crop_ratio": 140 / 178, "size": 140, "channels": 1}
    out = preprocess_image(Image.fromarray(tall), celeba)
    assert out.shape == (1, 140, 140) and (out == 200).all()


def test_sixteen_bit_images_are_scaled(tmp_path: Path) -> None:
    arr = np.full((12, 12), 65535, np.uint16)
    arr[:, :6] = 0
    Image.fromarray(arr).save(tmp_path / "deep.png")
    out = load_image_file(tmp_path / "deep.png", {"crop": "center", "size": 12, "channels": 1})
    assert out[0, 0, 0] == 0 and out[0, 0, -1] == 255
