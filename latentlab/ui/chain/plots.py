"""The chain panel's live curves, `ChainPlots` (gap score, log P̂, ‖z‖, pixel change, mean intensity
against a reference line), handed owned numpy arrays by `ChainPanel` on the GUI thread (the worker
side is `explorer.chain_runs`; the decodes are shown in `widgets.tile_grid.TileGrid`s).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from latentlab.ui.widgets.steady_axes import cache_axes, fit_y_with_slack

TEXT = "#333"


class ChainPlots(pg.GraphicsLayoutWidget):
    """Five stacked plots sharing the step axis: mean gap score, mean log P̂(z) with the encoded faces'
    1 % floor, mean ‖z‖ with the prior's typical norm, mean RMS pixel change, and mean intensity with a
    dashed reference line. The gap score alone flatters a chain that leaves both P and P̂ (it keeps
    falling); log P̂ and ‖z‖ beside it show when that happens.

    The plots themselves are built when the widget is first shown or handed data: five pyqtgraph
    plots take about 0.1 s, and the Chain tab is not on screen at launch (`bench launch`)."""

    TITLES = ("Gap score  log P(z) − log P̂(z)", "log P̂(z)", "‖z‖", "Pixel change  RMS ‖x_t − x_t−1‖",
              "Mean intensity")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(200, 380)
        self.setToolTip("Means over the chains, per step.\nGap score: high where the prior has mass but no "
                        "training face was encoded;\nit falls as the chains move into P̂(Z) - and also when "
                        "they leave both P and P̂.\nlog P̂(z): below the dashed line (the 1 % of encoded "
                        "faces least likely under P̂) the chains have left P̂(Z).\n‖z‖: the dashed line is a "
                        "prior draw's typical norm.\nPixel change: how much the decodes still move.\nMean "
                        "intensity: a drift away from the dashed reference is a brightness bias of the chain.")
        self.plots: list[pg.PlotItem] = []  # empty until built

    def showEvent(self, event) -> None:
        self._build()
        super().showEvent(event)

    def _build(self) -> None:
        if self.plots:
            return
        self.ci.layout.setSpacing(2)
        font = QFont()
        font.setPointSize(8)
        for row, title in enumerate(self.TITLES):
            plot = self.addPlot(row=row, col=0)
            plot.setTitle(title, size="8pt", color=TEXT)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
            plot.disableAutoRange()  # y ranges are set by `fit_y_with_slack`: the axes stay still
            plot.setMouseEnabled(x=False, y=False)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setTextPen(TEXT)
                axis.setTickFont(font)
            cache_axes(plot)  # axis text is the costly part of a repaint
            plot.getAxis("left").setWidth(40)  # the plots line up
            plot.getAxis("left").setTickDensity(0.8)  # short plots: fewer, legible tick labels
            if row:
                plot.setXLink(self.plots[0])
            if row < len(self.TITLES) - 1:  # step values on the last plot only
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(6)
            self.plots.append(plot)
        colours = ((200, 60, 40), (150, 70, 170), (120, 120, 40), (40, 110, 200), (60, 150, 80))
        self.curves = [plot.plot([], [], pen=pg.mkPen(c, width=2)) for plot, c in zip(self.plots, colours)]
        self.lines = {}
        for row in (1, 2, 4):  # dashed references: P̂'s floor, the prior's norm, the intensity reference
            line = pg.InfiniteLine(angle=0, movable=False,
                                   pen=pg.mkPen((90, 90, 90), width=1.5, style=Qt.PenStyle.DashLine))
            line.hide()
            self.plots[row].addItem(line, ignoreBounds=True)
            self.lines[row] = line
        self.reference = self.lines[4]
        self._titles = list(self.TITLES)
        self._x_max = 0.0

    def _title(self, row: int, text: str) -> None:
        if self._titles[row] != text:  # a title change re-lays out the plot: only when it differs
            self._titles[row] = text
            self.plots[row].setTitle(text, size="8pt", color=TEXT)

    def _line(self, row: int, value: float | None) -> None:
        self.lines[row].setVisible(value is not None)
        if value is not None:
            self.lines[row].setValue(value)

    def set_data(self, steps: np.ndarray, gap: np.ndarray | None, change: np.ndarray, intensity: np.ndarray,
                 reference: float | None, reference_name: str, log_p_hat: np.ndarray | None = None,
                 p_hat_floor: float | None = None, z_norm: np.ndarray | None = None,
                 prior_norm: float | None = None) -> None:
        self._build()

        def curve(values: np.ndarray | None) -> np.ndarray:
            return values if values is not None else np.full(len(steps), np.nan)

        self.curves[0].setData(steps, curve(gap), connect="finite")
        self._title(0, self.TITLES[0] if gap is not None else "Gap score: unknown (the model has no atlas)")
        self.curves[1].setData(steps, curve(log_p_hat), connect="finite")
        self._title(1, self.TITLES[1] + ("   - - - 1 % of encoded faces" if p_hat_floor is not None else
                                         ": unknown (the model has no atlas)" if log_p_hat is None else ""))
        self._line(1, p_hat_floor)
        self.curves[2].setData(steps, curve(z_norm), connect="finite")
        self._title(2, self.TITLES[2] + (f"   - - - prior {prior_norm:.2f}" if prior_norm is not None else ""))
        self._line(2, prior_norm)
        self.curves[3].setData(steps, change)
        self.curves[4].setData(steps, intensity)
        if len(steps) and (steps[-1] > self._x_max or steps[-1] < self._x_max / 4):
            self._x_max = max(10.0, 1.5 * float(steps[-1]))  # grows in jumps, not every step
            self.plots[0].setXRange(float(steps[0]), self._x_max, padding=0.02)
        self._line(4, reference)
        self._title(4, f"Mean intensity   - - - {reference_name} {reference:.3f}" if reference is not None
                    else self.TITLES[4])

        # A reference line stays in view with its curve: the distance between them is the point.
        def with_line(values: np.ndarray | None, line: float | None) -> np.ndarray | None:
            return None if values is None else np.append(values, [] if line is None else line)

        shown = (gap, with_line(log_p_hat, p_hat_floor), with_line(z_norm, prior_norm), change,
                 with_line(intensity, reference))
        for plot, values in zip(self.plots, shown):
            if values is not None:
                fit_y_with_slack(plot, values)
