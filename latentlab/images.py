"""Image helpers shared by the CLI, reports and the app: uint8 conversion and PNG grids (Pillow)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latentlab.fileio import atomic_write


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """[N, C, H, W] floats in [0, 1] (tensor or array) -> uint8 array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    if images.dtype == np.uint8:
        return images
    return (np.clip(images, 0.0, 1.0) * 255.0).round().astype(np.uint8)


GRID_PAD = 2  # pixels between and around the tiles of `grid_array`


def grid_array(rows: Sequence[np.ndarray], pad: int = GRID_PAD, columns: int | None = None,
               background: int | tuple[int, int, int] = 255) -> np.ndarray:
    """Tile uint8 image batches [N, C, H, W] into one HxWx3 array; each batch starts a new row band,
    wrapped at `columns` images (default: the longest batch). Padding and empty cells are
    `background` (a grey level or an RGB triple; default white)."""
    rows = [to_uint8(r) for r in rows if len(r)]
    channels, height, width = rows[0].shape[1:]
    columns = columns or max(len(r) for r in rows)
    lines: list[np.ndarray] = []
    for batch in rows:
        for start in range(0, len(batch), columns):
            lines.append(batch[start:start + columns])
    canvas = np.full((len(lines) * (height + pad) + pad, columns * (width + pad) + pad, 3), background, np.uint8)
    for r, line in enumerate(lines):
        for c, image in enumerate(line):
            tile = np.repeat(image, 3, axis=0) if channels == 1 else image
            y, x = pad + r * (height + pad), pad + c * (width + pad)
            canvas[y:y + height, x:x + width] = tile.transpose(1, 2, 0)
    return canvas


def save_png(path: str | os.PathLike, array: np.ndarray, scale: int = 1) -> Path:
    """Atomically write an HxWx3 uint8 array as PNG, optionally enlarged by an integer factor."""
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def save_grid(path: str | os.PathLike, rows: Sequence[np.ndarray], scale: int = 1, columns: int | None = None) -> Path:
    return save_png(path, grid_array(rows, columns=columns), scale=scale)
