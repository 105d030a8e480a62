"""Image preprocessing shared by dataset decoding and by the app (encoding a user's own image).

A preprocessing is a small JSON-able dict, stored with every dataset description and checkpoint::

    {"crop": "celeba", "crop_ratio": 0.7865..., "size": 64, "channels": 3, "resample": "bicubic"}

``crop`` is ``"celeba"`` (centre square of side ``round(crop_ratio * width)``, the usual 140-px
crop of 178x218 CelebA images) or ``"center"`` (centre square of the shorter side).  The square
is then resized to ``size`` x ``size`` and converted to ``channels`` (1 = gray, 3 = RGB).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from latentlab.data.source import check_regular_file
from latentlab.data.spec import DatasetSpec
from latentlab.errors import DataError

CELEBA_CROP_RATIO = 140 / 178

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def preprocessing_for(spec: DatasetSpec, source_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """The preprocessing ``spec`` applies; ``source_size`` (w, h) of the stored images is recorded."""
    prep: dict[str, Any] = {"crop": "center"}
    if spec.kind == "celeba":
        prep = {"crop": "celeba", "crop_ratio": CELEBA_CROP_RATIO}
    prep.update(size=spec.option("size"), channels=spec.option("channels"), resample="bicubic")
    if source_size is not None:
        prep["source_size"] = [int(source_size[0]), int(source_size[1])]
    return prep


def _crop_side(width: int, height: int, prep: dict[str, Any]) -> int:
    if prep.get("crop", "center") == "celeba":
        return max(1, min(width, height, round(float(prep["crop_ratio"]) * width)))
    return min(width, height)


def _box(width: int, height: int, side: int) -> tuple[int, int, int, int]:
    left = int(round((width - side) / 2.0))
    top = int(round((height - side) / 2.0))
    return left, top, left + side, top + side


def _to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer and float images to 8-bit gray (16-bit full range maps to 0..255)."""
    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img).astype(np.float64) / 257.0
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
    else:
        return img
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")


def preprocess_image(img: Image.Image, preprocessing: dict[str, Any]) -> np.ndarray:
    """Crop, resize and convert one PIL image; returns uint8 ``[C, size, size]``.

    A freshly opened JPEG is decoded at a reduced scale (``Image.draft``) when the crop is still
    at least ``size`` pixels wide, which is much faster for large photos.
    """
    try:
        size = int(preprocessing["size"])
        channels = int(preprocessing["channels"])
        resample = RESAMPLE[preprocessing.get("resample", "bicubic")]
        if channels not in (1, 3) or size < 1 or preprocessing.get("crop", "center") not in ("center", "celeba"):
            raise ValueError("unsupported value")
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"invalid preprocessing {preprocessing!r} ({err})") from None
    mode = "L" if channels == 1 else "RGB"
    width, height = img.size
    side = _crop_side(width, height, preprocessing)
    if img.format in ("JPEG", "MPO") and side > size:
        img.draft(mode, (math.ceil(width * size / side), math.ceil(height * size / side)))
        width, height = img.size
        side = _crop_side(width, height, preprocessing)
    img = _to_8bit(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # as PIL recommends for palette images with transparency
    if img.mode != mode:
        img = img.convert(mode)
    box = _box(width, height, side)
    if box != (0, 0, width, height):
        img = img.crop(box)  # crop first, then resize: edge pixels match the usual pipelines
    if side != size:
        img = img.resize((size, size), resample)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None].copy() if channels == 1 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def load_image_file(path: str | Path, preprocessing: dict[str, Any]) -> np.ndarray:
    """Open an image file and apply ``preprocessing`` (EXIF rotation honoured); uint8 [C,H,W].

    Raises :class:`DataError` naming the file when it is missing or cannot be decoded.
    """
    check_regular_file(Path(path))  # a named pipe would block Image.open for ever
    try:
        with Image.open(path) as img:
            if img.getexif().get(0x0112, 1) != 1:  # orientation tag: rotate as the camera meant
                img = ImageOps.exif_transpose(img)
            return preprocess_image(img, preprocessing)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: cannot decode image (cannot identify image file)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: cannot decode image ({err})") from None
