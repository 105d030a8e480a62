"""Exports from the explorer: interpolation strips (PNG, one or stacked), model comparisons (PNG, one
named row per model), strip animations (GIF, single or side-by-side pairs; written by
`latentlab.animation`, which also writes MP4 and recorded walks), latent codes (CSV/NPZ).

Qt-free, so scripts and notebooks use the same functions as the app. Every write goes to a
temporary file in the target folder that is then `os.replace`d into place (a failed export never
leaves a half-written file), and every failure is an :class:`ExportError` naming the file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from latentlab.animation import save_animation
from latentlab.errors import ExportError
from latentlab.fileio import atomic_write
from latentlab.images import grid_array, save_png


def _atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """`latentlab.fileio.atomic_write`, with any OS failure as an ExportError naming the file."""
    try:
        return atomic_write(path, write)
    except OSError as err:
        raise ExportError(f"{path}: cannot write file ({err.strerror or err})") from None


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype != np.uint8 or len(images) == 0:
        raise ValueError(f"expected uint8 images [K, C, H, W] with C = 1 or 3, got {images.dtype} {images.shape}")
    return images


def save_strip_png(path: str | os.PathLike, images: np.ndarray, scale: int = 2) -> Path:
    """One row of images (uint8 [K, C, H, W]) with thin white gaps, enlarged `scale` times, as PNG."""
    strip = grid_array([_check_images(images)])
    try:
        return save_png(path, strip, scale=max(1, int(scale)))
    except OSError as err:
        raise ExportError(f"{path}: cannot write file ({err.strerror or err})") from None


def save_strips_png(path: str | os.PathLike, strips: Sequence[np.ndarray], scale: int = 2, gap: int = 6) -> Path:
    """Several strips of images (each uint8 [K, C, H, W], the same K, C, H, W) stacked top to bottom,
    aligned column by column, each laid out as `save_strip_png` does, with `gap` extra white pixels
    between strips; enlarged `scale` times, as PNG. One strip gives exactly `save_strip_png`'s image."""
    strips = [_check_images(images) for images in strips]
    if not strips:
        raise ValueError("no strips to save")
    if any(s.shape != strips[0].shape for s in strips):
        raise ValueError(f"strips must have the same shape, got {[s.shape for s in strips]}")
    rows = [grid_array([images]) for images in strips]
    white = np.full((max(0, int(gap)), rows[0].shape[1], 3), 255, np.uint8)
    parts = [rows[0]]
    for row in rows[1:]:
        parts += [white, row]
    try:
        return save_png(path, np.concatenate(parts), scale=max(1, int(scale)))
    except OSError as err:
        raise ExportError(f"{path}: cannot write file ({err.strerror or err})") from None


LABEL_BAND = 18  # pixels of white above each row of a comparison, holding the row's name


def _as_rgb_of_size(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 [K, C, H, W] as RGB [K, 3, height, width], enlarged with nearest-neighbour when smaller."""
    images = _check_images(images)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    if images.shape[2:] == (height, width):
        return images
    resized = [np.asarray(Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)))
                          .resize((width, height), Image.Resampling.NEAREST)) for image in images]
    return np.stack(resized).transpose(0, 3, 1, 2)


def comparison_array(rows: Sequence[np.ndarray], names: Sequence[str], scale: int = 2, gap: int = 6) -> np.ndarray:
    """The same codes decoded by several models as one HxWx3 uint8 figure: per model a white band of
    `LABEL_BAND` pixels with its name, then its row of images laid out as `save_strip_png` does and
    enlarged `scale` times; `gap * scale` white pixels between models. Rows may differ in image size
    and channels (all are shown as RGB at the largest size) but must hold the same number of images.

    Size: width `scale * (K * (S + 2) + 2)`, height `M * (LABEL_BAND + scale * (S + 4)) + (M - 1) * gap
    * scale` for M rows of K images of side S."""
    if not rows or len(rows) != len(names):
        raise ValueError(f"need one name per row, got {len(rows)} rows and {len(names)} names")
    rows = [_check_images(images) for images in rows]
    if any(len(images) != len(rows[0]) for images in rows):
        raise ValueError(f"every row must hold the same number of images, got {[len(r) for r in rows]}")
    height, width = max(r.shape[2] for r in rows), max(r.shape[3] for r in rows)
    scale = max(1, int(scale))
    strips = [grid_array([_as_rgb_of_size(images, height, width)]).repeat(scale, 0).repeat(scale, 1)
              for images in rows]
    font = ImageFont.load_default()
    parts = []
    for i, (strip, name) in enumerate(zip(strips, names)):
        band = Image.new("RGB", (strip.shape[1], LABEL_BAND), "white")
        ImageDraw.Draw(band).text((2 * scale, 3), name, fill=(30, 30, 30), font=font)
        if i:
            parts.append(np.full((max(0, int(gap)) * scale, strip.shape[1], 3), 255, np.uint8))
        parts += [np.asarray(band), strip]
    return np.concatenate(parts)


def save_comparison_png(path: str | os.PathLike, rows: Sequence[np.ndarray], names: Sequence[str],
                        scale: int = 2, gap: int = 6) -> Path:
    """`comparison_array` written as PNG (the Compare window's export)."""
    figure = comparison_array(rows, names, scale, gap)
    try:
        return save_png(path, figure)
    except OSError as err:
        raise ExportError(f"{path}: cannot write file ({err.strerror or err})") from None


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 2) -> np.ndarray:
    """Pairs of images (uint8 [K, C, H, W] each, same shape) joined left | right with a white gap:
    uint8 [K, C, H, 2W + gap]."""
    left, right = _check_images(left), _check_images(right)
    if left.shape != right.shape:
        raise ValueError(f"both image sets must have the same shape, got {left.shape} and {right.shape}")
    white = np.full((*left.shape[:3], max(0, int(gap))), 255, np.uint8)
    return np.concatenate([left, white, right], axis=3)


def save_gif(path: str | os.PathLike, images: np.ndarray, fps: float = 10, scale: int = 2,
             bounce: bool = True) -> Path:
    """An animated GIF of uint8 [K, C, H, W] at `fps`, looping forever, forward then back with `bounce`
    (`latentlab.animation.save_animation`, which also writes MP4)."""
    return save_animation(path, _check_images(images), fps=fps, scale=scale, bounce=bounce, kind="GIF")


def save_pair_gif(path: str | os.PathLike, left: np.ndarray, right: np.ndarray, fps: float = 10,
                  scale: int = 2, bounce: bool = True, gap: int = 2) -> Path:
    """An animated GIF whose frame i shows left[i] and right[i] side by side (e.g. an interpolation
    decoded directly and after the latent chain), otherwise as `save_gif`."""
    return save_gif(path, side_by_side(left, right, gap), fps=fps, scale=scale, bounce=bounce)


def _label_columns(labels: dict[str, np.ndarray] | None, n: int, taken: set[str]) -> list[tuple[str, np.ndarray]]:
    columns = []
    for name, values in (labels or {}).items():
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"label {name!r} has shape {values.shape}, expected ({n},)")
        column = name if name not in taken else f"label_{name}"
        taken.add(column)
        columns.append((column, values))
    return columns


def _format(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        digits = 9 if values.dtype.itemsize <= 4 else 17  # enough to read back the same float
        return [format(v, f".{digits}g") for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def save_codes(path: str | os.PathLike, codes: np.ndarray, coords: np.ndarray | None = None,
               labels: dict[str, np.ndarray] | None = None) -> Path:
    """Latent codes [N, D], optional 2-D map coordinates [N, 2] and label columns, by suffix:

    - ``.csv``: header ``z0..z{D-1}, x, y, <labels>``, one row per code;
    - ``.npz``: arrays ``codes``, ``coords`` (when given) and ``label_<name>`` per label.
    """
    path = Path(path)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be [N, D], got {codes.shape}")
    n, d = codes.shape
    if coords is not None:
        coords = np.asarray(coords)
        if coords.shape != (n, 2):
            raise ValueError(f"coords must be [{n}, 2], got {coords.shape}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        names = [f"z{i}" for i in range(d)] + (["x", "y"] if coords is not None else [])
        label_columns = _label_columns(labels, n, set(names))
        columns = [codes[:, i] for i in range(d)] + ([coords[:, 0], coords[:, 1]] if coords is not None else [])
        columns += [values for _, values in label_columns]
        cells = [_format(np.asarray(c)) for c in columns]

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(names + [name for name, _ in label_columns])
                writer.writerows(zip(*cells))

    elif suffix == ".npz":
        arrays = {"codes": codes}
        if coords is not None:
            arrays["coords"] = coords
        for name, values in _label_columns(labels, n, set()):
            arrays[f"label_{name}"] = values

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a file object: numpy adds no ".npz" to the temp name
                np.savez(handle, **arrays)

    else:
        raise ExportError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .csv or .npz")
    return _atomic_write(path, write)
