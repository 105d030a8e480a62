"""Exports (Qt-free): strip PNG, animated GIF, codes as CSV / NPZ."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from latentlab.errors import LatentLabError
from latentlab.export import (
    LABEL_BAND,
    ExportError,
    comparison_array,
    save_codes,
    save_comparison_png,
    save_gif,
    save_pair_gif,
    save_strip_png,
    save_strips_png,
    side_by_side,
)


def _frames(k: int, channels: int = 3, side: int = 8) -> np.ndarray:
    """k clearly different images (each a different flat grey level plus noise)."""
    rng = np.random.default_rng(k)
    base = np.linspace(0, 255, k).astype(np.uint8)[:, None, None, None]
    noise = rng.integers(0, 20, size=(k, channels, side, side), dtype=np.uint8)
    return np.clip(base.astype(int) + noise, 0, 255).astype(np.uint8)


def test_strip_png(tmp_path):
    images = _frames(5)
    path = save_strip_png(tmp_path / "sub" / "strip.png", images, scale=2)
    with Image.open(path) as img:
        assert img.format == "PNG"
        # one row of 5 tiles of 8 px with 2-px gaps, doubled
        assert img.size == ((5 * (8 + 2) + 2) * 2, (8 + 2 + 2) * 2)
    assert [p.name for p in path.parent.iterdir()] == ["strip.png"]  # no temp file left


def test_stacked_strips_png(tmp_path):
    top, bottom = _frames(4), 255 - _frames(4)
    path = save_strips_png(tmp_path / "two.png", [top, bottom], scale=2, gap=6)
    with Image.open(path) as img:
        # two rows laid out as save_strip_png's, 6 white pixels between them, doubled
        assert img.size == ((4 * (8 + 2) + 2) * 2, (2 * (8 + 4) + 6) * 2)
        pixels = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(pixels[4:20:2, 4:20:2], top[0].transpose(1, 2, 0))
    y = (12 + 6 + 2) * 2
    np.testing.assert_array_equal(pixels[y:y + 16:2, 4:20:2], bottom[0].transpose(1, 2, 0))
    single = save_strips_png(tmp_path / "one.png", [top])
    with Image.open(single) as a, Image.open(save_strip_png(tmp_path / "ref.png", top)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="same shape"):
        save_strips_png(tmp_path / "bad.png", [top, _frames(3)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png", "ref.png", "two.png"]


def test_pair_gif_shows_both_side_by_side(tmp_path):
    left, right = np.zeros((3, 1, 8, 8), np.uint8), np.full((3, 1, 8, 8), 200, np.uint8)
    pairs = side_by_side(left, right, gap=2)
    assert pairs.shape == (3, 1, 8, 18)
    assert (pairs[..., 8:10] == 255).all()
    path = save_pair_gif(tmp_path / "pair.gif", left, right, scale=2, bounce=True)
    with Image.open(path) as img:
        assert img.size == (36, 16) and img.info["loop"] == 0
        frame = np.asarray(img.convert("L"))
    assert (frame[:, :16] == 0).all() and (frame[:, 20:] == 200).all()
    with pytest.raises(ValueError):
        side_by_side(left, right[:2])


@pytest.mark.parametrize("channels", [1, 3])
def test_gif_frames_and_loop(tmp_path, channels):
    images = _frames(6, channels)
    path = save_gif(tmp_path / "a.gif", images, fps=10, scale=3, bounce=False)
    with Image.open(path) as img:
        assert img.n_frames == 6
        assert img.info["loop"] == 0
        assert img.info["duration"] == 100
        assert img.size == (24, 24)
    bounced = save_gif(tmp_path / "b.gif", images, fps=25, bounce=True)
    with Image.open(bounced) as img:
        assert img.n_frames == 2 * 6 - 2
        assert img.info["loop"] == 0


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((7, 4)).astype(np.float32)
    coords = rng.standard_normal((7, 2))
    labels = {"digit": np.arange(7), "x": np.arange(7) * 10}  # "x" collides with the coordinate column
    path = save_codes(tmp_path / "codes.csv", codes, coords, labels)
    header = path.read_text().splitlines()[0].split(",")
    assert header == ["z0", "z1", "z2", "z3", "x", "y", "digit", "label_x"]
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, :4].astype(np.float32), codes)  # exact float32 round trip
    np.testing.assert_array_equal(table[:, 4:6], coords)
    np.testing.assert_array_equal(table[:, 6], np.arange(7))


def test_csv_without_coords_and_string_labels(tmp_path):
    codes = np.zeros((2, 3))
    path = save_codes(tmp_path / "c.csv", codes, None, {"name": np.array(["a, b", "c"])})
    rows = path.read_text().splitlines()
    assert rows[0] == "z0,z1,z2,name"
    assert rows[1] == '0,0,0,"a, b"'


def test_npz_keys(tmp_path):
    codes = np.ones((3, 2), np.float32)
    path = save_codes(tmp_path / "codes.npz", codes, np.zeros((3, 2)), {"digit": np.array([1, 2, 3])})
    with np.load(path) as data:
        assert sorted(data.files) == ["codes", "coords", "label_digit"]
        np.testing.assert_array_equal(data["codes"], codes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.npz"]


def test_errors_name_the_file(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    images = _frames(3)
    for call in (lambda p: save_strip_png(p, images), lambda p: save_gif(p, images),
                 lambda p: save_codes(p.with_suffix(".csv"), np.zeros((1, 2)))):
        with pytest.raises(ExportError, match="not_a_folder") as info:
            call(blocker / "out.png")
        assert isinstance(info.value, LatentLabError)
    with pytest.raises(ExportError, match="codes.txt"):
        save_codes(tmp_path / "codes.txt", np.zeros((1, 2)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_comparison_rows_of_different_image_sizes_share_one_grid(tmp_path):
    """Rows are named, enlarged to the largest image size (grey made RGB), and aligned column by column."""
    big, small = _frames(4, channels=3, side=16), _frames(4, channels=1, side=8)
    figure = comparison_array([big, small], ["vae (VAE)", "small (AE)"], scale=2, gap=6)
    width, row = 2 * (4 * (16 + 2) + 2), 2 * (16 + 4)
    assert figure.shape == (2 * (LABEL_BAND + row) + 6 * 2, width, 3)
    band = figure[:LABEL_BAND]
    assert (band < 128).any() and (band == 255).any()  # the name is written on white
    second = figure[LABEL_BAND + row + 12 + LABEL_BAND:]
    tile = second[2 * 2:2 * 2 + 32, 2 * 2:2 * 2 + 32]  # first tile of the second row, at scale 2
    expected = np.repeat(np.repeat(small[0, 0], 2, axis=0), 2, axis=1)  # 8 -> 16 (nearest), then x2
    assert np.array_equal(tile[..., 0], np.repeat(np.repeat(expected, 2, axis=0), 2, axis=1))
    path = save_comparison_png(tmp_path / "compare.png", [big, small], ["a", "b"])
    with Image.open(path) as img:
        assert img.size == (width, 2 * (LABEL_BAND + row) + 12)
    with pytest.raises(ValueError, match="same number"):
        comparison_array([big, small[:3]], ["a", "b"])
