"""The pixel panel's widgets (the worker side is `explorer.pixel_runs`): `PixelCanvas` (the images
growing, not-yet-drawn pixels as a checkerboard, the current pixel outlined, the receptive-field
overlay, clicks), `DistributionPlot` (the 256-level distribution of the sub-pixel just drawn, with
the drawn value marked) and `legend_html` (the receptive field's colour key).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.analysis.receptive_field import ReceptiveField, Region
from latentlab.images import grid_array
from latentlab.ui.widgets.imaging import to_qimage
from latentlab.ui.widgets.steady_axes import cache_axes

CELL = 2                      # composed pixels per image pixel (room for a 2x2 checker)
PAD = 2                       # composed pixels between tiles
CHECKER = np.array([[188, 188, 188], [228, 228, 228]], np.uint8)  # not drawn yet
BACKGROUND = (250, 250, 250)
CURRENT = QColor(255, 120, 0)
SELECTED = QColor(30, 100, 200)
WASH = QColor(255, 255, 255, 150)  # over the image under a receptive-field overlay
CHANNEL_NAMES = {1: ("gray",), 3: ("R", "G", "B")}
CHANNEL_COLOURS = {"gray": (70, 70, 70), "R": (210, 50, 50), "G": (40, 150, 60), "B": (40, 90, 210)}
REGION_STYLE = {  # region -> (RGBA overlay colour, legend name)
    Region.TARGET: ((0, 200, 80, 255), "clicked pixel"),
    Region.INFLUENCES: ((25, 118, 210, 150), "influences it"),
    Region.BLIND_SPOT: ((220, 0, 110, 210), "blind spot"),
    Region.OUT_OF_REACH: ((40, 40, 40, 150), "out of reach (too far)"),
    Region.NOT_YET: ((255, 214, 0, 100), "not generated yet"),
}


def compose(images: np.ndarray, drawn: int, columns: int) -> np.ndarray:
    """uint8 [N, C, H, W] -> one HxWx3 array: tiles `columns` wide (`images.grid_array`), every pixel
    CELL x CELL, pixels with no sub-pixel drawn yet (raster index >= drawn) as a checkerboard."""
    _, channels, height, width = images.shape
    rgb = (images if channels == 3 else np.repeat(images, 3, axis=1)).transpose(0, 2, 3, 1)
    pending = (np.arange(height * width).reshape(height, width) * channels) >= drawn
    tiles = np.repeat(np.repeat(rgb, CELL, axis=1), CELL, axis=2)
    checker = CHECKER[np.add.outer(np.arange(height * CELL), np.arange(width * CELL)) % 2]
    mask = np.repeat(np.repeat(pending, CELL, axis=0), CELL, axis=1)
    tiles[:, mask] = checker[mask]
    return grid_array([tiles.transpose(0, 3, 1, 2)], pad=PAD, columns=columns, background=BACKGROUND)


def overlay_image(field: ReceptiveField) -> QImage:
    """The regions of a receptive field as an RGBA image [H, W]; influencing pixels more opaque where
    the gradient is larger (log scale)."""
    regions = field.pixels
    rgba = np.zeros((*regions.shape, 4), np.uint8)
    for region, (colour, _) in REGION_STYLE.items():
        rgba[regions == region] = colour
    strength = field.gradient.max(axis=0)
    seen = regions == Region.INFLUENCES
    if seen.any():
        logs = np.log10(strength[seen])
        span = max(float(logs.max() - logs.min()), 1e-6)
        rgba[seen, 3] = (70 + 140 * (logs - logs.min()) / span).astype(np.uint8)
    height, width = regions.shape
    rgba = np.ascontiguousarray(rgba)
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class PixelCanvas(QWidget):
    """The N images being drawn, tiled and enlarged without smoothing (see `compose`); the pixel just
    drawn outlined in every tile; the selected tile outlined; an optional receptive-field overlay on one
    tile. Clicking a pixel emits `pixel_clicked(tile, row, col)`."""

    pixel_clicked = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.composed: np.ndarray | None = None  # the HxWx3 array shown (for tests)
        self._count = self._columns = 0
        self._shape = (1, 1)
        self._current: tuple[int, int] | None = None
        self._selected = 0
        self._overlay: tuple[int, QImage] | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Click a pixel to see which earlier pixels its prediction depends on")

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def set_images(self, images: np.ndarray | None, drawn: int = 0, current: tuple[int, int] | None = None) -> None:
        """images uint8 [N, C, H, W] with the first `drawn` sub-pixels in raster order in place."""
        if images is None:
            self._image, self.composed, self._count = None, None, 0
        else:
            self._count, self._shape = len(images), images.shape[2:4]
            self._columns = math.ceil(math.sqrt(self._count))
            self.composed = compose(images, drawn, self._columns)
            self._image = to_qimage(self.composed.transpose(2, 0, 1))
        self._current = current
        self.update()

    def set_selected(self, index: int) -> None:
        self._selected = index
        self.update()

    def set_overlay(self, tile: int | None, field: ReceptiveField | None = None) -> None:
        self._overlay = None if tile is None or field is None else (tile, overlay_image(field))
        self.update()

    @property
    def has_overlay(self) -> bool:
        return self._overlay is not None

    # ------------------------------------------------------------------ geometry
    def _target(self) -> QRectF:
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def tile_rect(self, index: int) -> QRectF:
        """Where tile `index`'s pixels are painted, in widget coordinates (empty with no images)."""
        if self._image is None:
            return QRectF()
        target = self._target()
        scale = target.width() / self._image.width()
        th, tw = (side * CELL for side in self._shape)
        row, col = divmod(index, self._columns)
        return QRectF(target.x() + (PAD + col * (tw + PAD)) * scale, target.y() + (PAD + row * (th + PAD)) * scale,
                      tw * scale, th * scale)

    def pixel_rect(self, index: int, row: int, col: int) -> QRectF:
        tile = self.tile_rect(index)
        height, width = self._shape
        return QRectF(tile.x() + col * tile.width() / width, tile.y() + row * tile.height() / height,
                      tile.width() / width, tile.height() / height)

    def pixel_at(self, point: QPointF) -> tuple[int, int, int] | None:
        """(tile, row, col) under a widget point, or None."""
        height, width = self._shape
        for index in range(self._count):
            rect = self.tile_rect(index)
            if rect.contains(point):
                col = min(int((point.x() - rect.x()) / rect.width() * width), width - 1)
                row = min(int((point.y() - rect.y()) / rect.height() * height), height - 1)
                return index, row, col
        return None

    # ------------------------------------------------------------------ Qt events
    def paintEvent(self, event) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        painter.drawImage(self._target(), self._image)  # no smoothing: pixels stay square
        if self._overlay is not None and self._overlay[0] < self._count:
            tile = self.tile_rect(self._overlay[0])
            painter.fillRect(tile, WASH)  # the image fades, so the region colours read clearly
            painter.drawImage(tile, self._overlay[1])
        if self._count > 1:
            painter.setPen(QPen(SELECTED, 2))
            painter.drawRect(self.tile_rect(self._selected).adjusted(-2, -2, 2, 2))
        if self._current is not None:
            painter.setPen(QPen(CURRENT, 2))
            for index in range(self._count):
                painter.drawRect(self.pixel_rect(index, *self._current))
        painter.end()

    def mousePressEvent(self, event) -> None:
        hit = self.pixel_at(event.position())
        if hit is not None:
            self.pixel_clicked.emit(*hit)


SHRINK_AFTER_S = 1.0  # how long the peaks must stay low before the distribution's y range shrinks


class DistributionPlot(pg.PlotWidget):
    """p(x | everything before) over the 256 levels of one sub-pixel as bars, the drawn value as a
    vertical line. The y range moves in jumps (with slack), so the axis does not twitch every step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(200, 140)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.setLabel("bottom", "level (0 = black … 255 = white)", color="#333")
        plot.setLabel("left", "probability", color="#333")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.showGrid(y=True, alpha=0.15)
        plot.setXRange(-1, 256, padding=0)
        plot.disableAutoRange()
        cache_axes(plot)  # redrawn only when the y range jumps (`_fit`): not at every sub-pixel
        self.bars = pg.PlotDataItem(np.arange(257) - 0.5, np.zeros(256), stepMode="center", fillLevel=0)
        self.addItem(self.bars)
        self.drawn = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURRENT, width=2),
                                     label="drawn {value:.0f}",
                                     labelOpts={"position": 0.92, "color": CURRENT, "fill": (255, 255, 255, 200)})
        self.addItem(self.drawn, ignoreBounds=True)
        self.drawn.hide()
        self._title = ""
        self._low_since: float | None = None  # since when the peaks have been low (see _fit)
        self.set_title("The distribution of each sub-pixel appears here while drawing")

    def sizeHint(self) -> QSize:
        return QSize(320, 200)

    def set_title(self, text: str) -> None:
        if text != self._title:  # a title change re-lays out the plot: only when it differs
            self._title = text
            self.getPlotItem().setTitle(text, size="9pt", color="#333")

    def clear_data(self) -> None:
        self.bars.setData(np.arange(257) - 0.5, np.zeros(256))
        self.drawn.hide()

    def set_distribution(self, probs: np.ndarray, value: int, channel: str, caption: str) -> None:
        colour = CHANNEL_COLOURS.get(channel, CHANNEL_COLOURS["gray"])
        self.bars.setData(np.arange(257) - 0.5, probs, pen=pg.mkPen(colour), brush=pg.mkBrush(*colour, 150))
        self.drawn.setValue(value)
        self.drawn.show()
        entropy = float(-(probs * np.log2(np.clip(probs, 1e-12, None))).sum())
        self.set_title(f"{caption} · entropy {entropy:.1f} bits")
        self._fit(float(probs.max()))

    def _fit(self, peak: float, now: float | None = None) -> None:
        """Grow the y range at once when the peak would be cut off; shrink it only once the peaks have
        stayed below a quarter of it for `SHRINK_AFTER_S`. A model's confident sub-pixels (a peak near
        1) and uncertain ones (near 0.05) alternate along a row, and every range change redraws the
        axis text, which holds the GUI thread, and the interpreter lock a drag's decode needs, for
        milliseconds (`bench drag --under-load`)."""
        now = time.monotonic() if now is None else now
        low, high = self.getPlotItem().getViewBox().viewRange()[1]
        if low == 0 and peak <= high:  # the bars fit
            if peak >= high / 4:  # and fill the range well enough
                self._low_since = None
                return
            if self._low_since is None:
                self._low_since = now
            if now - self._low_since < SHRINK_AFTER_S:
                return
        self._low_since = None
        self.getPlotItem().setYRange(0, min(1.0, max(peak * 1.3, 0.01)), padding=0)


def legend_html(field: ReceptiveField) -> str:
    """A coloured key of the regions with their pixel counts."""
    items = []
    for region, (colour, name) in REGION_STYLE.items():
        count = field.count(region)
        if region != Region.TARGET and not count:
            continue
        r, g, b, _ = colour
        items.append(f"<span style='color: rgb({r},{g},{b}); font-size: 14pt;'>■</span> {name}"
                     + ("" if region == Region.TARGET else f" ({count})"))
    return "&nbsp;&nbsp;".join(items)
