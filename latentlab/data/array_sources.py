"""Datasets stored as arrays: ``idx:PATH``, ``fashion-mnist``, ``svhn:PATH``, ``lfw-subset`` and
``synthetic-faces``.

Opening one only reads headers (IDX dims, .mat variable shapes); the arrays are loaded when the
loader decodes, i.e. on a cache miss.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentlab.data.idx import read_idx
from latentlab.data.preprocess import preprocess_image, preprocessing_for
from latentlab.data.source import Source, apply_limit, check_regular_file, file_stat, split_range
from latentlab.data.spec import DatasetSpec
from latentlab.errors import DataError

#: where Debian's dataset-fashion-mnist package puts its files (tests may patch this)
FASHION_MNIST_DIRS: list[Path] = [Path("/usr/share/datasets/fashion-mnist")]

_IDX_IMAGES = re.compile(r"images[-.]idx3-ubyte(\.gz)?$", re.IGNORECASE)


def convert_array(images: np.ndarray, preprocessing: dict[str, Any]) -> np.ndarray:
    """uint8 images ``[N, H, W]`` (gray) or ``[N, H, W, 3]`` to ``[N, C, size, size]``."""
    size, channels = int(preprocessing["size"]), int(preprocessing["channels"])
    n, h, w = images.shape[:3]
    gray = images.ndim == 3
    if h == w == size and (gray or channels == 3):
        out = images[:, None] if gray else images.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(np.repeat(out, channels, axis=1) if gray and channels == 3 else out)
    out = np.empty((n, channels, size, size), np.uint8)
    for i in range(n):
        out[i] = preprocess_image(Image.fromarray(images[i]), preprocessing)
    return out


def _array_source(
    spec: DatasetSpec,
    fingerprint: dict[str, Any],
    picked: Sequence[int],
    native_size: tuple[int, int],
    load: Callable[[], tuple[np.ndarray, dict[str, np.ndarray]]],
) -> Source:
    """A :class:`Source` over rows ``picked`` of the arrays ``load()`` returns (called once)."""
    prep = preprocessing_for(spec, native_size)
    load = functools.cache(load)
    rows = np.asarray(picked, dtype=np.int64)

    def read(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        images, labels = load()
        sel = rows[start:stop]
        out_labels = {k: v[sel] for k, v in labels.items()}
        out_labels["index"] = sel
        return convert_array(images[sel], prep), out_labels

    size = prep["size"]
    return Source(fingerprint, len(rows), (prep["channels"], size, size), prep, read)


def _role(name: str) -> str | None:
    name = name.lower()
    if "train" in name:
        return "train"
    if "t10k" in name or "test" in name:
        return "test"
    return None


def _split_files(path: Path, matches: Callable[[str], bool], what: str, split: str) -> tuple[list[Path], str]:
    """The files that hold ``split`` and the split still to apply inside them.

    A file named for its role (train / test / t10k) is used whole; a single file with no role
    is split 90/10.  A folder must hold a train and/or a test file.
    """
    if path.is_file():
        role = _role(path.name)
        if role is None:
            return [path], split
        if split in ("all", role):
            return [path], "all"
        raise DataError(f"{path}: this file holds the {role} split; for '{split}' give the folder holding both")
    if not path.is_dir():
        if os.path.lexists(path):
            check_regular_file(path)  # a named pipe or device: say so rather than "no such file"
        raise DataError(f"{path}: no such file or folder")
    by_role: dict[str | None, list[Path]] = {}
    for file in sorted(p for p in path.iterdir() if p.is_file() and matches(p.name)):
        by_role.setdefault(_role(file.name), []).append(file)
    if not by_role:
        raise DataError(f"{path}: no {what} files found")
    for role, files in by_role.items():
        if len(files) == 2 and files[0].name + ".gz" == files[1].name:
            by_role[role] = files[:1]  # both gzipped and unpacked copies: read the unpacked one
        elif len(files) > 1:
            raise DataError(f"{path}: several {role or 'unlabelled'} {what} files: {', '.join(f.name for f in files)}")
    if None in by_role:
        if len(by_role) > 1:
            names = ", ".join(f.name for fs in by_role.values() for f in fs)
            raise DataError(f"{path}: cannot tell which {what} file is train and which is test: {names}")
        return by_role[None], split
    wanted = ["train", "test"] if split == "all" else [split]
    if split != "all" and split not in by_role:
        found = ", ".join(f"{fs[0].name} ({r})" for r, fs in by_role.items())
        raise DataError(f"{path}: no {split} {what} file (found: {found}); pick another split")
    return [by_role[r][0] for r in wanted if r in by_role], "all"


# ---------------------------------------------------------------- idx:PATH, fashion-mnist


def _idx_header(path: Path) -> tuple[int, ...]:
    """Dimensions of an IDX images file from its header only, checked against the file's size before
    anything of the declared size is allocated (a 984-byte file may declare 2³¹ images)."""
    check_regular_file(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
            if gzipped and size >= 18:
                fh.seek(-4, 2)
                inflated = struct.unpack("<I", fh.read(4))[0]  # gzip's ISIZE: the data's length mod 2**32
        with (gzip.open if gzipped else open)(path, "rb") as fh:
            head = fh.read(16)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    if 0 < len(head) < 16 and b"\x00\x00\x08\x03".startswith(head[:4]):
        raise DataError(f"{path}: truncated IDX file: {len(head)} bytes, shorter than the 16-byte header")
    if len(head) < 16 or head[:4] != b"\x00\x00\x08\x03":
        raise DataError(f"{path}: not an IDX image file (bad magic number {head[:4].hex() or 'empty file'})")
    dims = struct.unpack(">3I", head[4:16])
    needed = 16 + dims[0] * dims[1] * dims[2]
    declared = f"its header declares {dims[0]} images of {dims[1]}x{dims[2]} ({needed:,} bytes)"
    if gzipped and (size < 18 or inflated != needed % 2**32):
        raise DataError(f"{path}: damaged or truncated gzip file: {declared}, the gzip trailer records "
                        f"{inflated if size >= 18 else 'no'} bytes")
    if not gzipped and size != needed:
        problem = "truncated" if size < needed else "longer than its header says"
        raise DataError(f"{path}: IDX file {problem}: {declared}, the file holds {size:,} bytes")
    return dims


def _labels_file(images: Path) -> Path | None:
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    stem = name.removesuffix(".gz")
    for candidate in (images.with_name(stem), images.with_name(stem + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _idx_source(spec: DatasetSpec, path: Path, split: str, limit: int | None) -> Source:
    what = "IDX images (*-images-idx3-ubyte[.gz])"
    files, inner = _split_files(path, lambda n: bool(_IDX_IMAGES.search(n)), what, split)
    dims = [_idx_header(f) for f in files]
    if len({d[1:] for d in dims}) > 1:
        raise DataError(f"{path}: image sizes differ between {', '.join(f.name for f in files)}")
    labels = [_labels_file(f) for f in files]
    total = sum(d[0] for d in dims)
    picked = apply_limit(split_range(total, inner), limit)

    def load() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        images = [read_idx(f, ndim=3) for f in files]
        out: dict[str, np.ndarray] = {}
        if all(labels):
            parts = [read_idx(lab, ndim=1) for lab in labels]
            for img, lab, lab_file in zip(images, parts, labels):
                if len(lab) != len(img):
                    raise DataError(f"{lab_file}: {len(lab)} labels for {len(img)} images")
            out["label"] = np.concatenate(parts).astype(np.int64)
        return np.concatenate(images) if len(images) > 1 else images[0], out

    stats = [[str(f), *file_stat(f)[1:]] for f in files + [lab for lab in labels if lab]]
    return _array_source(spec, {"files": stats}, picked, (dims[0][2], dims[0][1]), load)


def open_idx(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``idx:PATH``: an IDX images file, or a folder with train-* and/or t10k-* image files."""
    return _idx_source(spec, spec.resolved_path(), split, limit)


def open_fashion_mnist(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``fashion-mnist``: the IDX files installed by Debian's dataset-fashion-mnist package."""
    for folder in FASHION_MNIST_DIRS:
        if folder.is_dir() and any(_IDX_IMAGES.search(p.name) for p in folder.iterdir()):
            return _idx_source(spec, folder, split, limit)
    looked = ", ".join(str(f) for f in FASHION_MNIST_DIRS)
    raise DataError(
        f"fashion-mnist: no Fashion-MNIST files in {looked}. Install them with "
        "'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or download the IDX files "
        "and use 'idx:PATH' with the folder holding them"
    )


# ---------------------------------------------------------------- svhn:PATH


def _mat_shape(path: Path) -> tuple[int, ...]:
    import scipy.io

    try:
        shapes = {name: shape for name, shape, _ in scipy.io.whosmat(str(path))}
    except Exception as err:  # scipy raises assorted errors for non-.mat or v7.3 files
        raise DataError(f"{path}: cannot read as a MATLAB .mat file ({err})") from None
    shape = shapes.get("X")
    if shape is None or len(shape) != 4 or shape[2] != 3 or "y" not in shapes:
        raise DataError(f"{path}: not an SVHN file (needs X of shape 32x32x3xN and y; has {shapes})")
    return tuple(shape)


def _load_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), variable_names=["X", "y"])
    except Exception as err:
        raise DataError(f"{path}: cannot read as a MATLAB .mat file ({err})") from None
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).ravel()
    if x.dtype != np.uint8 or len(y) != x.shape[3]:
        raise DataError(f"{path}: X must be uint8 and y must have one label per image")
    labels = y.astype(np.int64)
    labels[labels == 10] = 0  # SVHN stores digit 0 as label 10
    return x.transpose(3, 0, 1, 2), labels


def open_svhn(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``svhn:PATH``: train_32x32.mat / test_32x32.mat (a file, or the folder holding them)."""
    path = spec.resolved_path()
    matches = lambda n: n.lower().endswith(".mat") and "extra" not in n.lower()
    files, inner = _split_files(path, matches, "SVHN .mat", split)
    shapes = [_mat_shape(f) for f in files]
    picked = apply_limit(split_range(sum(s[3] for s in shapes), inner), limit)

    def load() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        parts = [_load_svhn(f) for f in files]
        images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        return images, {"label": np.concatenate([p[1] for p in parts])}

    stats = [[str(f), *file_stat(f)[1:]] for f in files]
    return _array_source(spec, {"files": stats}, picked, (shapes[0][1], shapes[0][0]), load)


# ---------------------------------------------------------------- lfw-subset


def open_lfw_subset(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``lfw-subset``: the 100 face images of ``skimage.data.lfw_subset()`` (its other 100 are
    non-faces and are left out); last 10% = test."""
    try:
        import skimage
        from skimage import data as skdata
    except ImportError:
        raise DataError("lfw-subset needs scikit-image: pip install scikit-image") from None
    try:
        faces = np.asarray(skdata.lfw_subset())[:100]
    except Exception as err:
        raise DataError(f"lfw-subset: scikit-image could not load its LFW data ({err})") from None
    if faces.dtype.kind == "f":
        scale = 255.0 if faces.max() <= 1.0 else 1.0
        faces = np.clip(np.rint(faces * scale), 0, 255).astype(np.uint8)
    faces = faces.astype(np.uint8)
    picked = apply_limit(split_range(len(faces), split), limit)
    fingerprint = {"skimage": skimage.__version__, "count": len(faces)}
    return _array_source(spec, fingerprint, picked, (faces.shape[2], faces.shape[1]), lambda: (faces, {}))


# ---------------------------------------------------------------- synthetic-faces


def open_synthetic_faces(spec: DatasetSpec, split: str, limit: int | None) -> Source:
    """``synthetic-faces``: faces ``0..n-1`` of the procedural renderer; last 10% = test."""
    from latentlab.data import synthetic_faces

    n, seed, size = spec.option("n"), spec.option("seed"), spec.option("size")
    picked = apply_limit(split_range(n, split), limit)
    code = Path(synthetic_faces.__file__).read_bytes()
    fingerprint = {"renderer_sha256": hashlib.sha256(code).hexdigest(), "n": n, "seed": seed}
    prep = preprocessing_for(spec, (size, size))
    first = picked[0] if len(picked) else 0

    def read(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        images, labels = synthetic_faces.render_faces(first + start, stop - start, seed=seed, size=size)
        out = {k: np.asarray(v) for k, v in labels.items()}
        out["index"] = np.arange(first + start, first + stop, dtype=np.int64)
        return convert_array(np.asarray(images).transpose(0, 2, 3, 1), prep), out

    return Source(fingerprint, len(picked), (prep["channels"], size, size), prep, read)
