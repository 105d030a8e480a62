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


def pixel_buffer(width: int, height: int, channels: int) -> tuple[QImage, np.ndarray]:
    """A new QImage (RGB888, or Grayscale8 for one channel) and a writable numpy view [H, W, C] of
    its pixels: whatever a worker writes into the view is what the image shows, with no copy."""
    image = QImage(width, height, QImage.Format.Format_Grayscale8 if channels == 1 else QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.bits(), np.uint8).reshape(height, image.bytesPerLine())
    return image, rows[:, : width * channels].reshape(height, width, channels)


def to_pixmap(image: np.ndarray, side: int | None = None) -> QPixmap:
    """A pixmap of `image`, scaled to fit `side` x `side` pixels (smoothly) when given."""
    pixmap = QPixmap.fromImage(to_qimage(image))
    if side is not None:
        pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
    return pixmap
