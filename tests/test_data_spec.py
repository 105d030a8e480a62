"""Dataset spec strings: parsing, canonical round-trip, overrides and error messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from latentlab.data import KINDS, DatasetSpec, parse_spec, synthetic_faces
from latentlab.errors import DataError


@pytest.mark.parametrize(
    "text",
    [
        "synthetic-faces",
        "synthetic-faces?n=500&seed=3&size=32",
        "celeba:../shared/data/celeba_10k",
        "celeba:~/data/celeba?channels=1&size=48",
        "folder:C:/photos/faces?size=64",  # a colon inside the path stays in the path
        "idx:/data/mnist/t10k-images-idx3-ubyte.gz",
        "fashion-mnist?channels=3&size=32",
        "svhn:/data/svhn",
        "lfw-subset?size=32",
    ],
)
def test_canonical_string_round_trips(text: str) -> None:
    spec = parse_spec(text)
    assert str(spec) == text == spec.to_string()
    assert parse_spec(str(spec)) == spec


def test_parse_normalises_option_order_and_types() -> None:
    spec = parse_spec("celeba:/x/y?size=32&channels=1")
    assert spec == DatasetSpec("celeba", "/x/y", {"channels": 1, "size": 32})
    assert spec.options == {"size": 32, "channels": 1}
    assert str(spec) == "celeba:/x/y?channels=1&size=32"
    assert spec.path == "/x/y" and spec.kind == "celeba"
    assert hash(spec) == hash(parse_spec(str(spec)))


def test_defaults_per_kind() -> None:
    assert parse_spec("synthetic-faces").option("n") == synthetic_faces.DEFAULT_COUNT
    assert parse_spec("synthetic-faces").option("seed") == 0
    assert (parse_spec("celeba:x").option("size"), parse_spec("celeba:x").option("channels")) == (64, 3)
    assert (parse_spec("idx:x").option("size"), parse_spec("idx:x").option("channels")) == (28, 1)
    assert (parse_spec("svhn:x").option("size"), parse_spec("svhn:x").option("channels")) == (32, 3)
    assert parse_spec("lfw-subset").option("size") == 25


def test_with_options_overrides_and_ignores_none() -> None:
    spec = parse_spec("celeba:/d?size=32")
    bigger = spec.with_options(size=64, channels=None)
    assert str(bigger) == "celeba:/d?size=64"
    assert str(spec) == "celeba:/d?size=32"  # the original is unchanged
    assert str(spec.with_options(channels="1")) == "celeba:/d?channels=1&size=32"
    with pytest.raises(DataError, match="channels must be 1 or 3"):
        spec.with_options(channels=2)
    with pytest.raises(DataError, match="unknown option 'n' for celeba"):
        spec.with_options(n=5)


def test_path_kept_as_written_but_resolved_absolute() -> None:
    spec = parse_spec("folder:~/faces")
    assert spec.path == "~/faces" and str(spec) == "folder:~/faces"
    assert spec.resolved_path() == Path(os.path.expanduser("~/faces"))
    rel = parse_spec("folder:some/rel")
    assert rel.resolved_path().is_absolute()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty dataset spec"),
        ("mnist", "unknown kind 'mnist' (valid kinds: synthetic-faces, celeba, folder"),
        ("celeba", "celeba needs a path"),
        ("folder:", "empty path"),
        ("synthetic-faces:/tmp/x", "synthetic-faces takes no path"),
        ("celeba:/x?size=big", "option size must be an integer"),
        ("celeba:/x?size=2", "option size must be an integer from 4 to 1024, got '2'"),
        ("celeba:/x?channels=2", "channels must be 1 or 3"),
        ("celeba:/x?seed=1", "unknown option 'seed' for celeba (valid options: size, channels)"),
        ("synthetic-faces?n=0", "option n must be a positive integer"),
        ("synthetic-faces?n=10&n=20", "option 'n' given twice"),
        ("celeba:/x?size", "malformed option 'size'"),
        ("celeba:/x?", "nothing after '?'"),
    ],
)
def test_errors_name_the_spec_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        parse_spec(text)
    assert expected in str(info.value)
    if text:
        assert f"'{text}'" in str(info.value)


def test_kinds_are_documented() -> None:
    assert set(KINDS) == {"synthetic-faces", "celeba", "folder", "idx", "fashion-mnist", "svhn", "lfw-subset"}
    assert all(isinstance(v, str) and v and "\n" not in v for v in KINDS.values())
