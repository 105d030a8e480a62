"""Faint grid lines at the axes' tick values, drawn straight onto the view at each paint.

pyqtgraph's own grid (`PlotItem.showGrid`) is drawn by the axis items across the whole plot: at every
view change each axis re-records a plot-sized QPicture and, cached, re-renders a plot-sized pixmap.
That took over half of every zoom frame of the latent map (`python -m latentlab.bench scale`: zoom
frame p50 61 ms with it, 21 ms with this item, on a loaded machine). This item draws the same lines,
at the major and minor tick values the axes label, with a cosmetic pen and no pixmap cached: a few
dozen line segments clipped to the exposed region, recomputed only when the view's geometry changes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

MAJOR_ALPHA = 30  # of 255: the major lines; minor lines half as strong (as the axes' own grid at alpha 0.15)
MIN_PIXELS_PER_LINE = 6  # a tick level whose lines would fall closer than this is not drawn


class GridLines(pg.GraphicsObject):
    """Grid lines for `plot_item`'s view at the tick values of its bottom and left axes."""

    def __init__(self, plot_item: pg.PlotItem, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        super().__init__()
        self._plot_item = plot_item
        self._colour = colour
        self.setZValue(-1000)  # under every layer
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        # the lines of the last view geometry: the map repaints at every handle move with the view still,
        # and the axes' tick arithmetic ran again at each such repaint
        self._lines_for: tuple | None = None
        self._lines: list[tuple[int, QLineF]] = []

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph's hook): the lines span the new view
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        view = self.getViewBox()
        return QRectF() if view is None else view.viewRect()

    def lines(self) -> list[tuple[int, QLineF]]:
        """(tick level, segment) for every line across the current view: x ticks vertical, y horizontal."""
        view = self.getViewBox()
        if view is None:
            return []
        rect = view.viewRect()
        if rect.width() <= 0 or rect.height() <= 0:
            return []
        size = view.size()
        geometry = (rect.getRect(), size.width(), size.height())
        if geometry == self._lines_for:
            return self._lines
        segments: list[tuple[int, QLineF]] = []
        for side, low, high, pixels in (("bottom", rect.left(), rect.right(), size.width()),
                                        ("left", rect.top(), rect.bottom(), size.height())):
            levels = self._plot_item.getAxis(side).tickValues(low, high, pixels)
            for level, (spacing, values) in enumerate(levels[:2]):
                if spacing is not None and spacing * pixels / (high - low) < MIN_PIXELS_PER_LINE:
                    continue
                for value in values:
                    if side == "bottom":
                        segments.append((level, QLineF(value, rect.top(), value, rect.bottom())))
                    else:
                        segments.append((level, QLineF(rect.left(), value, rect.right(), value)))
        self._lines_for, self._lines = geometry, segments
        return segments

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # axis-parallel lines need none
        segments = self.lines()
        for level in (1, 0):  # minor first, major over them
            pen = QPen(QColor(*self._colour, MAJOR_ALPHA // (level + 1)))
            pen.setCosmetic(True)  # one pixel wide at every zoom
            painter.setPen(pen)
            painter.drawLines([segment for line_level, segment in segments if line_level == level])
