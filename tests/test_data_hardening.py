"""Bad data answered clearly (issue 12): IDX headers that lie about their size, cut-short files,
named pipes among the data, and image folders with a few unreadable files (skipped and reported);
spec strings fuzzed with Hypothesis (only DataError, never anything else)."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import fuzz_examples, returns_within
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from latentlab.data import load_dataset, parse_spec
from latentlab.data.spec import KINDS
from latentlab.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_cache")

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")


def _huge_header(n: int = 2**31 - 1, side: int = 60000) -> bytes:
    return struct.pack(">BBBB3I", 0, 0, 8, 3, n, side, side) + bytes(968)  # 984 bytes in all


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_idx_header_declaring_a_huge_shape_is_refused_before_allocating(tmp_path, gzipped):
    """The issue's case: 2³¹−1 × 60000 × 60000 declared in a 984-byte file used to build an index
    array of the declared size (23 GB, then the OOM killer). Now: a message, at once."""
    raw = _huge_header()
    path = tmp_path / ("evil-images-idx3-ubyte" + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    expected = "damaged or truncated gzip file" if gzipped else "IDX file truncated"
    with pytest.raises(DataError, match=rf"{path}: {expected}: its header declares 2147483647 images of 60000x60000"):
        returns_within(lambda: load_dataset(f"idx:{path}", split="train"), seconds=20)


def test_a_ten_byte_idx_file_is_called_truncated_not_bad_magic(tmp_path):
    path = tmp_path / "cut-images-idx3-ubyte"
    path.write_bytes(_huge_header()[:10])
    with pytest.raises(DataError, match=rf"{path}: truncated IDX file: 10 bytes"):
        load_dataset(f"idx:{path}", split="train")


@needs_fifo
def test_a_named_pipe_given_as_idx_data_is_refused(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"not a regular file"):
        returns_within(lambda: load_dataset(f"idx:{fifo}", split="train"))


def _photos(folder: Path, count: int, broken: tuple[int, ...] = ()) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        path = folder / f"img{i:03d}.png"
        if i in broken:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
        else:
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)
        names.append(path.name)
    return names


def test_a_folder_with_some_broken_images_trains_on_the_rest_and_lists_them(tmp_path):
    names = _photos(tmp_path / "photos", 20, broken=(3, 7))
    train = load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="train")
    assert len(train) == 16  # 18 training files (90%), 2 unreadable
    assert [s.split(":")[0].rsplit("/", 1)[-1] for s in train.skipped] == [names[3], names[7]]
    assert all("cannot decode image" in s for s in train.skipped)
    assert train.labels["index"].tolist() == [i for i in range(18) if i not in (3, 7)]
    again = load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="train")  # from the cache
    assert len(again) == 16 and len(again.skipped) == 2
    assert np.array_equal(np.asarray(again.images), np.asarray(train.images))


def test_a_broken_image_in_the_held_out_part_is_skipped_and_reported(tmp_path):
    names = _photos(tmp_path / "photos", 20, broken=(19,))
    test = load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="test")
    assert len(test) == 1 and len(test.skipped) == 1 and names[19] in test.skipped[0]


def test_strict_refuses_a_folder_with_a_broken_image(tmp_path):
    names = _photos(tmp_path / "photos", 20, broken=(5,))
    with pytest.raises(DataError, match=rf"1 of 18 images in split 'train' cannot be decoded, refused under --strict "
                                        rf"\(first: .*{names[5]}: cannot decode image"):
        load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="train", strict=True)


def test_a_folder_where_no_image_decodes_is_refused(tmp_path):
    _photos(tmp_path / "photos", 10, broken=tuple(range(10)))
    with pytest.raises(DataError, match=r"none of the 9 images in split 'train' can be decoded"):
        load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="train")


def test_celeba_with_a_broken_first_image_still_opens(tmp_path):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 21):
        path = folder / f"{i:06d}.jpg"
        if i == 1:
            path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        else:
            Image.fromarray(rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)).save(path)
    train = load_dataset(f"celeba:{tmp_path}?size=8", split="train")
    assert len(train) == 17 and "000001.jpg" in train.skipped[0]


@needs_fifo
def test_a_named_pipe_among_images_is_not_opened(tmp_path):
    _photos(tmp_path / "photos", 10)
    os.mkfifo(tmp_path / "photos" / "zz-pipe.png")
    train = returns_within(lambda: load_dataset(f"folder:{tmp_path / 'photos'}?size=8", split="train"))
    assert len(train) == 9 and not train.skipped


# ---------------------------------------------------------------- property-based: spec strings

_spec_text = st.one_of(
    st.text(max_size=40),
    st.builds(lambda kind, sep, path, query: f"{kind}{sep}{path}{query}",
              st.sampled_from(sorted(KINDS) + ["", "CELEBA", "folder ", "nope"]),
              st.sampled_from(["", ":", "::"]),
              st.text(alphabet="ab/~.?&= \\x", max_size=12),
              st.one_of(st.just(""), st.builds(lambda items: "?" + "&".join(items), st.lists(
                  st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["size", "channels", "n", "seed", "x", ""]),
                            st.text(alphabet="0123456789-+.e xabc", max_size=6)), max_size=3)))),
)


@settings(max_examples=fuzz_examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_spec_text)
def test_any_spec_string_parses_to_a_round_tripping_spec_or_gives_a_data_error(text):
    try:
        spec = parse_spec(text)
    except DataError as err:
        assert str(err)
        return
    assert spec.kind in KINDS
    assert parse_spec(spec.to_string()) == spec
    assert parse_spec(spec.to_string()).to_string() == spec.to_string()
