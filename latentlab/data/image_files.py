"""Datasets made of image files: ``celeba:PATH`` and ``folder:PATH``."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentlab.data.preprocess import load_image_file, preprocessing_for
from latentlab.data.source import READABLE, Source, apply_limit, file_stat, split_range
from latentlab.data.spec import DatasetSpec
from latentlab.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp")
CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}
SIZE_PROBES = 50  # images tried for CelebA's source size before giving up


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let decoding report it, naming the file


def _check_folder(path: Path, what: str) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such folder")
    if not path.is_dir():
        raise DataError(f"{path}: not a folder ({what})")


def _file_source(
    spec: DatasetSpec,
    root: Path,
    paths: Sequence[Path],
    labels: Callable[[], dict[str, np.ndarray]],
    preprocessing: dict[str, Any],
    extra: dict[str, Any],
) -> Source:
    """A :class:`Source` decoding ``paths`` (already split and limited) with ``preprocessing``;
    ``labels`` is only called (once) when decoding, i.e. on a cache miss."""
    size, channels = preprocessing["size"], preprocessing["channels"]
    labels = functools.cache(labels)
    problems: dict[int, str] = {}

    def read(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        # An image that cannot be decoded is not fatal: it is marked unreadable (label "readable" = 0)
        # and load_dataset leaves it out and reports it (real photo folders hold a few bad files).
        out = np.zeros((stop - start, channels, size, size), np.uint8)
        readable = np.ones(stop - start, np.uint8)
        for i, path in enumerate(paths[start:stop]):
            try:
                out[i] = load_image_file(path, preprocessing)
            except DataError as err:
                readable[i] = 0
                problems[start + i] = str(err)
        return out, {**{k: v[start:stop] for k, v in labels().items()}, READABLE: readable}

    files = []
    for path in paths:
        try:
            files.append([path.relative_to(root).as_posix(), *file_stat(path)[1:]])
        except OSError as err:
            raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    fingerprint = {"path": str(root), "files": files, **extra}
    names = [str(path) for path in paths]
    return Source(fingerprint, len(paths), (channels, size, size), preprocessing, read, names, problems)


# ---------------------------------------------------------------- folder:PATH


def list_image_files(root: Path) -> list[Path]:
    """Image files under ``root`` (recursive, hidden files and folders left out), sorted by
    relative path."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                path = Path(folder, name)
                if _is_regular(path):  # a named pipe called x.jpg would block the decoder for ever
                    found.append((path.relative_to(root).as_posix(), path))
    return [path for _, path in sorted(found)]


def open_folder(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``folder:PATH``: every image under PATH; the last 10% (sorted by path) are the test split."""
    root = spec.resolved_path()
    _check_folder(root, "folder: needs a folder of images")
    paths = list_image_files(root)
    if not paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    picked = apply_limit(split_range(len(paths), split), limit)
    selected = [paths[i] for i in picked]

    def labels() -> dict[str, np.ndarray]:
        out = {"index": np.asarray(picked, dtype=np.int64)}
        parents = [p.parent for p in paths]
        if len(set(parents)) > 1:  # sub-folders (e.g. one per person or class) become a label
            codes = {d: i for i, d in enumerate(sorted(set(parents)))}
            out["folder"] = np.array([codes[parents[i]] for i in picked], dtype=np.int64)
        return out

    prep = preprocessing_for(spec)
    return _file_source(spec, root, selected, labels, prep, {"total": len(paths)})


# ---------------------------------------------------------------- celeba:PATH


def _celeba_layout(root: Path) -> tuple[Path, list[Path]]:
    """The image folder and the folders where metadata text files may be."""
    _check_folder(root, "celeba: needs the CelebA root or its img_align_celeba folder")
    for img_dir in (root / "img_align_celeba", root / "Img" / "img_align_celeba"):
        if img_dir.is_dir():
            return img_dir, [root]
    meta = [root]
    if root.name == "img_align_celeba":
        meta.append(root.parent)
        if root.parent.name == "Img":
            meta.append(root.parent.parent)
    return root, meta


def _find_meta(meta_dirs: list[Path], name: str) -> Path | None:
    for folder in meta_dirs:
        for candidate in (folder / name, folder / "Eval" / name, folder / "Anno" / name):
            if candidate.is_file():
                return candidate
    return None


def _read_partition(path: Path, names: list[str]) -> np.ndarray:
    """Partition (0 train, 1 valid, 2 test) of each of ``names`` from list_eval_partition.txt."""
    table: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise DataError(f"{path}:{number}: expected 'FILE PARTITION' with partition 0, 1 or 2")
            table[fields[0]] = int(fields[1])
    try:
        return np.array([table[n] for n in names], dtype=np.int8)
    except KeyError as err:
        raise DataError(f"{path}: image {err.args[0]} is not listed in this partition file") from None


def _read_attributes(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The 40 binary attributes of list_attr_celeba.txt (1 = has it, 0 = not) for ``names``."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    if len(lines) < 2:
        raise DataError(f"{path}: too short for a CelebA attribute file")
    attrs = lines[1].split()
    rows = {}
    for line in lines[2:]:
        fields = line.split()
        if fields:
            rows[fields[0]] = fields[1:]
    table = np.zeros((len(names), len(attrs)), dtype=np.uint8)
    for i, name in enumerate(names):
        row = rows.get(name)
        if row is None or len(row) != len(attrs):
            raise DataError(f"{path}: no valid attribute row for image {name}")
        table[i] = [v == "1" for v in row]
    return {f"attr_{a}": table[:, j].copy() for j, a in enumerate(attrs)}


def open_celeba(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``celeba:PATH``: official partition when list_eval_partition.txt is there, else the files
    sorted by name with the last 10% held out as "test"."""
    img_dir, meta_dirs = _celeba_layout(spec.resolved_path())
    paths = sorted(
        (Path(e.path) for e in os.scandir(img_dir)
         if e.name.lower().endswith((".jpg", ".jpeg", ".png")) and e.is_file()),
        key=lambda p: p.name,
    )
    if not paths:
        raise DataError(f"{img_dir}: no CelebA images (.jpg) found")
    names = [p.name for p in paths]
    partition_file = _find_meta(meta_dirs, "list_eval_partition.txt")
    if partition_file is not None:
        part = _read_partition(partition_file, names)
        picked = np.arange(len(paths)) if split == "all" else np.flatnonzero(part == CELEBA_PARTITIONS[split])
    elif split == "valid":
        raise DataError(
            f"{img_dir}: no list_eval_partition.txt, so there is no 'valid' split "
            "(without it: train = first 90% by name, test = last 10%)"
        )
    else:
        picked = split_range(len(paths), split)
    picked = apply_limit(picked, limit)
    selected = [paths[i] for i in picked]
    attr_file = _find_meta(meta_dirs, "list_attr_celeba.txt")

    def labels() -> dict[str, np.ndarray]:
        out = {"index": np.asarray(picked, dtype=np.int64)}
        if attr_file is not None:
            out.update(_read_attributes(attr_file, [p.name for p in selected]))
        return out

    source_size = None
    for candidate in selected[:SIZE_PROBES]:  # the first readable image gives the stored size
        try:
            with Image.open(candidate) as first:
                source_size = first.size
            break
        except OSError:
            continue
    else:
        if selected:
            raise DataError(f"{img_dir}: none of the first {min(len(selected), SIZE_PROBES)} images can be "
                            f"decoded (first: {selected[0].name})")
    extra = {
        "total": len(paths),
        "partition": file_stat(partition_file) if partition_file else None,
        "attributes": file_stat(attr_file) if attr_file else None,
    }
    return _file_source(spec, img_dir, selected, labels, preprocessing_for(spec, source_size), extra)
