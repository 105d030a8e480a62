"""A scatter plot item whose bounding rectangle is computed once per change, not once per repaint.

Qt asks every item of a pyqtgraph scene for its bounding rectangle at every repaint (pyqtgraph's
scenes keep no spatial index), and `pg.ScatterPlotItem.boundingRect` recomputes it in Python each
time: the data bounds, then the spots' padding in pixels through the item's pixel vectors. The
latent map holds a handful of scatter items, so moving the drag handle cost about half a
millisecond of the GUI thread's time per move in these calls alone, time during which the decode
worker waits for the interpreter lock (`cProfile` of `bench drag --under-load`'s moves).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF


class SteadyScatter(pg.ScatterPlotItem):
    """`pg.ScatterPlotItem` with its bounding rectangle remembered for as long as what it is made of
    stays the same: the cached data bounds (pyqtgraph replaces those tuples whenever the points, their
    sizes or the view's transform change), the spots' largest width in pixels and the item's device
    transform (compared, so that no change of view can leave a stale rectangle)."""

    _remembered: tuple | None = None  # (x bounds, y bounds, pixel width, device transform, rectangle)

    def boundingRect(self) -> QRectF:
        transform = self.deviceTransform_()  # None until the view is shown
        remembered = self._remembered
        if (remembered is not None and remembered[0] is not None and remembered[1] is not None
                and remembered[0] is self.bounds[0] and remembered[1] is self.bounds[1]
                and remembered[2] == self._maxSpotPxWidth and remembered[3] == transform):
            return QRectF(remembered[4])
        rect = super().boundingRect()
        self._remembered = (self.bounds[0], self.bounds[1], self._maxSpotPxWidth, transform, QRectF(rect))
        return rect
