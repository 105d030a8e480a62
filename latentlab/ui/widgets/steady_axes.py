"""Plots that repaint cheaply while their data grows a point at a time.

Axis text is the costly part of a pyqtgraph repaint (the largest share of the GUI thread's paint
time in `python -m cProfile -m latentlab.bench heartbeat`, more still while a worker thread competes
for the interpreter), and an axis redraws its text whenever its range moves. Live plots therefore
keep their axes as cached pixmaps and move their ranges in jumps, with slack, instead of
autoranging at every new point.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem, names: tuple[str, ...] = ("left", "bottom")) -> None:
    """Keep the axes' drawing as a pixmap until their range or size changes."""
    for name in names:
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def slack_range(values: np.ndarray, view: tuple[float, float]) -> tuple[float, float] | None:
    """A new (low, high) y range for `values` when the current `view` no longer suits them (a value
    outside it, or the values filling less than a quarter of it), with a quarter of their span as
    slack on each side, so that it changes only every few points; None to keep `view` (also when no
    value is finite)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    view_low, view_high = view
    span = max(high - low, 1e-3 * max(1.0, abs(high)))
    if low < view_low or high > view_high or (view_high - view_low) > 4 * span:
        return low - 0.25 * span, high + 0.25 * span
    return None


def _fit_axis(plot: pg.PlotItem, axis: int, values: np.ndarray) -> None:
    """Set the range of axis 0 (x) or 1 (y) to hold `values` (`slack_range`), leaving it alone while
    it still suits them."""
    new = slack_range(np.asarray(values, dtype=float), tuple(plot.getViewBox().viewRange()[axis]))
    if new is not None:
        (plot.setXRange if axis == 0 else plot.setYRange)(*new, padding=0)


def fit_y_with_slack(plot: pg.PlotItem, values: np.ndarray) -> None:
    """The y range with slack for `values`."""
    _fit_axis(plot, 1, values)


def fit_xy_with_slack(plot: pg.PlotItem, points: np.ndarray) -> None:
    """Both ranges with slack for points [N, 2]."""
    points = np.asarray(points, dtype=float)
    _fit_axis(plot, 0, points[:, 0])
    _fit_axis(plot, 1, points[:, 1])
