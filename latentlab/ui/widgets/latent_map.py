"""The latent map: encoded training faces (P̂(Z)) against prior samples (P(Z)) in a 2-D projection,
with a draggable handle, a path overlay, hover and click.

The widget only displays and reports: it receives 2-D coordinates (the window projects codes with
`latentlab.analysis.projection`) and emits what the user does, as indices and positions. The encoded
faces are an `AtlasLayer` (dots, or a shaded density when too many are in view); hover and click find
the point under the pointer through k-d trees (`explorer.point_index`), never by scanning the points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QApplication, QGraphicsItem, QVBoxLayout, QWidget

from latentlab.explorer.point_index import NO_POINT, PointIndex
from latentlab.ui.widgets.atlas_layer import AtlasLayer
from latentlab.ui.widgets.grid_lines import GridLines
from latentlab.ui.widgets.steady_axes import cache_axes
from latentlab.ui.widgets.steady_scatter import SteadyScatter

PRIOR_COLOUR = (255, 127, 14)
PATH_COLOUR = (214, 39, 40)
HANDLE_COLOUR = (20, 20, 20)
TRAIL_COLOUR = (44, 160, 44)
GAP_CLIP = 6.0  # the gap map's colour scale spans log P - log P̂ in [-6, 6] (e^6 ≈ 400x)
GAP_COLOURS = pg.ColorMap(pos=[0.0, 0.5, 1.0], color=[(70, 110, 200), (255, 255, 255), (215, 60, 40)])
HOVER_RADIUS = 6.0  # pixels: a point this close to the pointer is hovered or clicked


class LatentMap(QWidget):
    """Signals: `handle_moved(x, y)` while the handle is dragged; `point_hovered(layer, index)`
    ("atlas"/"prior", or ("", -1) when the pointer leaves the points); `point_clicked(layer, index)`;
    `point_ctrl_clicked(layer, index)` for a click with Ctrl held (selecting, not jumping)."""

    handle_moved = Signal(float, float)
    point_hovered = Signal(str, int)
    point_clicked = Signal(str, int)
    point_ctrl_clicked = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(360, 320)
        item = self.plot.getPlotItem()
        self.grid = GridLines(item)  # not the axes' own grid: it re-rendered a plot-sized pixmap per zoom frame
        item.addItem(self.grid, ignoreBounds=True)
        item.setMenuEnabled(False)
        cache_axes(item)  # a handle move only blits the axes
        self.legend = item.addLegend(offset=(8, 8), labelTextColor=(40, 40, 40), brush=pg.mkBrush(255, 255, 255, 210))
        self.atlas_layer = AtlasLayer(item)
        self.atlas = self.atlas_layer.points  # the dots drawn (all faces of a small atlas; those in view of a large one)
        self.prior = SteadyScatter(size=6, pen=pg.mkPen(*PRIOR_COLOUR, 200), brush=pg.mkBrush(255, 255, 255, 0),
                                   symbol="o", name="prior")
        self.prior.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._prior_index = PointIndex(np.zeros((0, 2)))
        self.hover_mark = SteadyScatter(size=10, pen=pg.mkPen(20, 20, 20, 220, width=1.5), brush=pg.mkBrush(0, 0, 0, 0))
        self.hover_mark.setZValue(9)
        item.addItem(self.hover_mark, ignoreBounds=True)
        self.path = pg.PlotDataItem(pen=pg.mkPen(*PATH_COLOUR, width=2), symbol="o", symbolSize=6,
                                    symbolBrush=pg.mkBrush(*PATH_COLOUR), symbolPen=None)
        self.handle = pg.TargetItem(pos=(0, 0), size=16, movable=True, symbol="crosshair",
                                    pen=pg.mkPen(*HANDLE_COLOUR, width=2), hoverPen=pg.mkPen(*PATH_COLOUR, width=3))
        # Rendered once into a device pixmap and blitted afterwards, as the atlas's dots.
        self.prior.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.addItem(self.prior)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._mouse_moved)
        scene.sigMouseClicked.connect(self._mouse_clicked)
        # The handle does not count toward the auto-range: otherwise every move re-ranges the view
        # and repaints the whole plot (~10 ms) instead of the few pixels the handle covers.
        # The gap map lies under everything and does not count toward the auto-range.
        self.gap_image = pg.ImageItem()
        self.gap_image.setLookupTable(GAP_COLOURS.getLookupTable(nPts=256, alpha=False))
        self.gap_image.setOpacity(0.5)
        self.gap_image.setZValue(-20)
        self.gap_image.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as the points: blit, not rescale
        item.addItem(self.gap_image, ignoreBounds=True)
        self.gap_key = SteadyScatter(symbol="s", size=10, pen=None, brush=pg.mkBrush(*GAP_COLOURS.map(1.0)[:3]))
        self.dense_key = SteadyScatter(symbol="s", size=10, pen=None, brush=pg.mkBrush(*GAP_COLOURS.map(0.0)[:3]))
        self.trails = pg.PlotDataItem(pen=pg.mkPen(*TRAIL_COLOUR, 160, width=1.5))
        self.trail_heads = SteadyScatter(size=7, pen=pg.mkPen(255, 255, 255), brush=pg.mkBrush(*TRAIL_COLOUR))
        item.addItem(self.trails, ignoreBounds=True)
        item.addItem(self.trail_heads, ignoreBounds=True)
        self.marks = _Marks(size=13, brush=pg.mkBrush(255, 255, 255, 0))  # rings around selected points
        self.marks.setZValue(5)
        item.addItem(self.marks, ignoreBounds=True)
        item.addItem(self.path)
        item.addItem(self.handle, ignoreBounds=True)
        self.handle.setZValue(10)
        self.handle.sigPositionChanged.connect(self._handle_changed)
        self._placing_handle = False
        self._hover_key: tuple[str, int] = ("", -1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    # ------------------------------------------------------------------ content
    def set_points(self, atlas_xy: np.ndarray | None, prior_xy: np.ndarray | None,
                   atlas_label: str = "P̂(Z): encoded training faces", prior_label: str = "P(Z): prior samples",
                   atlas_values: np.ndarray | None = None, value_range: tuple[float, float] | None = None) -> None:
        """Replace both point layers (coordinates [N, 2]); the legend names them and their counts.
        `atlas_values` [N] colours the encoded faces on the colour map over `value_range`."""
        self.legend.clear()
        self.hover_mark.setData([], [])
        self._hover_key = ("", -1)
        atlas_xy = None if atlas_xy is None or len(atlas_xy) == 0 else np.asarray(atlas_xy, dtype=float)
        prior_xy = None if prior_xy is None or len(prior_xy) == 0 else np.asarray(prior_xy, dtype=float)
        self._prior_index = PointIndex(np.zeros((0, 2)) if prior_xy is None else prior_xy)
        self.prior.setData(pos=prior_xy if prior_xy is not None else np.zeros((0, 2)),
                           data=np.arange(0 if prior_xy is None else len(prior_xy)))
        self.prior.setVisible(prior_xy is not None)
        self.atlas.setVisible(atlas_xy is not None)
        # Range the view once on the new points, then freeze it: with auto-range left on, every handle
        # move makes pyqtgraph recompute the bounds of every point before repainting.
        shown = [xy for xy in (atlas_xy, prior_xy) if xy is not None]
        view = self.plot.getPlotItem().getViewBox()
        view.disableAutoRange()
        if shown:
            every = np.concatenate(shown)
            low, high = np.nanmin(every, axis=0), np.nanmax(every, axis=0)
            view.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]), padding=0.04)
        self.atlas_layer.set_data(atlas_xy, atlas_values, value_range)
        if atlas_xy is not None:
            more = "; shaded by log count until zoomed in to dots" if len(atlas_xy) > self.atlas_layer.point_cap else ""
            self.legend.addItem(self.atlas, f"{atlas_label} ({len(atlas_xy):,}{more})")
        if prior_xy is not None:
            self.legend.addItem(self.prior, f"{prior_label} ({len(prior_xy):,})")
        self._name_gap_colours()
        self.path.setData([], [])
        self.set_trails(None)

    def set_gap_map(self, grid_x: np.ndarray | None, grid_y: np.ndarray | None = None,
                    values: np.ndarray | None = None) -> None:
        """Show log P - log P̂ on a grid (values[i, j] at (grid_x[j], grid_y[i])) under the points:
        red where the prior has mass and the encoded faces little (the gaps), blue the reverse.
        None hides it. The legend names its two colours while it is shown (it may arrive after the
        points, from a worker)."""
        if grid_x is None or values is None:
            self.gap_image.hide()
            self.gap_image.clear()
            self._name_gap_colours()
            return
        step_x = (grid_x[-1] - grid_x[0]) / (len(grid_x) - 1)
        step_y = (grid_y[-1] - grid_y[0]) / (len(grid_y) - 1)
        self.gap_image.setImage(np.clip(values, -GAP_CLIP, GAP_CLIP).T, levels=(-GAP_CLIP, GAP_CLIP), autoLevels=False)
        self.gap_image.setRect(QRectF(grid_x[0] - step_x / 2, grid_y[0] - step_y / 2,
                                      step_x * len(grid_x), step_y * len(grid_y)))
        self.gap_image.show()
        self._name_gap_colours()

    @property
    def gap_map_shown(self) -> bool:
        return self.gap_image.isVisible() and self.gap_image.image is not None

    def _name_gap_colours(self) -> None:
        """List the gap map's two colours in the legend (after the point layers) exactly while it is shown."""
        listed = any(sample.item is self.gap_key for sample, _ in self.legend.items)
        if self.gap_map_shown and not listed:
            self.legend.addItem(self.gap_key, "gaps: P(Z) > P̂(Z) on this plane")
            self.legend.addItem(self.dense_key, "P̂(Z) > P(Z)")
        elif listed and not self.gap_map_shown:
            self.legend.removeItem(self.gap_key)
            self.legend.removeItem(self.dense_key)

    def set_trails(self, xy: np.ndarray | None) -> None:
        """Chains' recent positions, [N, T, 2]: a line per chain and a dot at its newest point."""
        if xy is None or len(xy) == 0 or xy.shape[1] == 0:
            self.trails.setData([], [])
            self.trail_heads.setData([], [])
            return
        n, t, _ = xy.shape
        connect = np.ones((n, t), dtype=bool)
        connect[:, -1] = False  # do not join one chain's end to the next chain's start
        self.trails.setData(xy[..., 0].ravel(), xy[..., 1].ravel(), connect=connect.ravel())
        self.trail_heads.setData(pos=xy[:, -1, :])

    def set_marks(self, groups: list[tuple[np.ndarray, tuple[int, int, int]]]) -> None:
        """Ring points of a selection: one (coordinates [N, 2], RGB colour) per group; [] clears them."""
        groups = [(np.asarray(xy, dtype=float).reshape(-1, 2), colour) for xy, colour in groups if len(xy)]
        if not groups:
            self.marks.setData([], [])
            return
        self.marks.setData(pos=np.concatenate([xy for xy, _ in groups]),
                           pen=[pg.mkPen(*colour, width=2.5) for xy, colour in groups for _ in range(len(xy))])

    def set_axis_labels(self, x_label: str, y_label: str) -> None:
        item = self.plot.getPlotItem()
        item.setLabel("bottom", x_label)
        item.setLabel("left", y_label)

    def set_path(self, xy: np.ndarray | None) -> None:
        if xy is None or len(xy) == 0:
            self.path.setData([], [])
        else:
            self.path.setData(np.asarray(xy)[:, 0], np.asarray(xy)[:, 1])

    def place_handle(self, x: float, y: float) -> None:
        """Move the handle without reporting it as a drag."""
        self._placing_handle = True
        try:
            self.handle.setPos(x, y)
        finally:
            self._placing_handle = False

    def handle_position(self) -> tuple[float, float]:
        pos = self.handle.pos()
        return float(pos.x()), float(pos.y())

    # ------------------------------------------------------------------ events
    def _handle_changed(self) -> None:
        if not self._placing_handle:
            x, y = self.handle_position()
            self.handle_moved.emit(x, y)

    def point_at(self, x: float, y: float) -> tuple[str, int]:
        """The point nearest (x, y) (data coordinates) on screen within `HOVER_RADIUS` pixels, prior
        sample or encoded face: ("prior" | "atlas", index), or ("", -1) when none is that close."""
        view = self.plot.getPlotItem().getViewBox()
        pixel_size = view.viewPixelSize()
        best = ("", NO_POINT, float("inf"))
        for name, index in (("prior", self._prior_index), ("atlas", self.atlas_layer)):
            if name == "prior" and not self.prior.isVisible():
                continue
            found, distance = index.nearest(x, y, pixel_size, HOVER_RADIUS)
            if found != NO_POINT and distance < best[2]:
                best = (name, found, distance)
        return best[0], best[1]

    def _scene_point(self, scene_pos) -> tuple[str, int]:
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return "", NO_POINT
        position = view.mapSceneToView(scene_pos)
        return self.point_at(position.x(), position.y())

    def _mouse_moved(self, scene_pos) -> None:
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            return  # a drag (of the handle or the view) is not a hover
        self.atlas_layer.request_index()
        self.hover_at(*self._scene_point(scene_pos))

    def hover_at(self, layer: str, index: int) -> None:
        """Mark the point hovered and report it when it changed (("", -1): none)."""
        key = (layer, int(index))
        if key == self._hover_key:
            return
        self._hover_key = key
        if index == NO_POINT:
            self.hover_mark.setData([], [])
        else:
            xy = self._prior_index.xy if layer == "prior" else self.atlas_layer.xy
            self.hover_mark.setData(pos=xy[[index]])
        self.point_hovered.emit(*key)

    def _mouse_clicked(self, event) -> None:
        # Not skipped when accepted: the handle (a TargetItem) accepts clicks, and a face under it must
        # still be clickable (Ctrl+click chooses it for a direction's group).
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        self.atlas_layer.ensure_index()
        layer, index = self._scene_point(event.scenePos())
        if index != NO_POINT:
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)  # Ctrl+click: choose, don't jump
            (self.point_ctrl_clicked if ctrl else self.point_clicked).emit(layer, index)

    def shutdown(self) -> None:
        self.atlas_layer.shutdown()


class _Marks(SteadyScatter):
    """Rings drawn over points that leave clicks to the point beneath (pyqtgraph offers a click to
    every item under the pointer, top first, until one accepts it)."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()
