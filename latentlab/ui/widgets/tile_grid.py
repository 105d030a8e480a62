"""A clickable grid of image tiles, scaled to fit: the chain panel's decodes and filmstrip, and (as
`FittedTiles`) the Compare window's decodes."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.images import grid_array
from latentlab.ui.widgets.imaging import to_qimage

PAD = 2
SELECTED = QColor(230, 60, 40)


class TileGrid(QWidget):
    """Images [N, C, H, W] tiled `columns` wide (via grid_array), scaled to fit the widget with the
    aspect kept. With `selectable`, clicking a tile emits `tile_clicked(index)` and the selected tile
    is outlined."""

    tile_clicked = Signal(int)

    def __init__(self, selectable: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._selectable = selectable
        self._image = None
        self.image_array: np.ndarray | None = None  # the HxWx3 uint8 array shown (for tests / export)
        self._count = self._columns = 0
        self._tile = (1, 1)
        self._selected = 0
        self.setMinimumSize(120, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_images(self, images: np.ndarray | None, columns: int | None = None) -> None:
        if images is None or len(images) == 0:
            self._image, self.image_array, self._count = None, None, 0
        else:
            self._count = len(images)
            self._columns = columns or math.ceil(math.sqrt(self._count))
            self._tile = images.shape[2:4]
            self.image_array = grid_array([images], pad=PAD, columns=self._columns)
            self._image = to_qimage(self.image_array.transpose(2, 0, 1))
        self.update()

    def set_selected(self, index: int) -> None:
        self._selected = index
        self.update()

    def _target(self) -> QRectF:
        """Where the whole grid image is painted (fitted, centred)."""
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def paintEvent(self, event) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        target = self._target()
        # Enlarged small decodes stay crisp (pixels); shrunk large grids are smoothed.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._image.width())
        painter.drawImage(target, self._image)
        if self._selectable and self._selected < self._count:
            painter.setPen(QPen(SELECTED, 2))
            painter.drawRect(self.tile_rect(self._selected))
        painter.end()

    def tile_rect(self, index: int) -> QRectF:
        """Where tile `index` is painted in widget coordinates (its padding included); empty before
        any images are set."""
        if self._image is None:
            return QRectF()
        target = self._target()
        scale = target.width() / self._image.width()
        row, col = divmod(index, self._columns)
        th, tw = self._tile
        return QRectF(target.x() + (col * (tw + PAD) + PAD / 2) * scale,
                      target.y() + (row * (th + PAD) + PAD / 2) * scale, (tw + PAD) * scale, (th + PAD) * scale)

    def tile_at(self, x: float, y: float) -> int | None:
        """The index of the tile under widget point (x, y), or None."""
        if self._image is None:
            return None
        target = self._target()
        scale = target.width() / self._image.width()
        th, tw = self._tile
        col = int((x - target.x()) / scale // (tw + PAD))
        row = int((y - target.y()) / scale // (th + PAD))
        index = row * self._columns + col
        inside = 0 <= col < self._columns and row >= 0 and index < self._count
        return index if inside else None

    def mousePressEvent(self, event) -> None:
        index = self.tile_at(event.position().x(), event.position().y()) if self._selectable else None
        if index is not None:
            self.tile_clicked.emit(index)
