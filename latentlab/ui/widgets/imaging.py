"""numpy images -> Qt pixmaps. Images arrive as owned uint8 arrays [C, H, W] (C = 1 or 3)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 [C, H, W] (C = 1 or 3) or [H, W] -> a QImage that owns a copy of the pixels."""
    array = np.asarray(image)
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape[:2]
    if array.ndim == 2:
        qimage = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        qimage = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return qimage.copy()  # detach from the numpy buffer


def scaled_qimage(image: np.ndarray, side: int) -> QImage:
    """`image` smoothly scaled to fit side x side. QImage (unlike QPixmap) may be made on any thread,
    so workers can prepare what the GUI thread then only has to show."""
    return to_qimage(image).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)


def to_pixmap(image: np.ndarray, side: int | None = None) -> QPixmap:
    """A pixmap of `image`, scaled to fit `side` x `side` pixels (smoothly) when given."""
    pixmap = QPixmap.fromImage(to_qimage(image))
    if side is not None:
        pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
    return pixmap
