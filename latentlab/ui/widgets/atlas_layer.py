"""The encoded faces on the latent map, readable and fast at any atlas size.

At the full view of a large atlas the faces are drawn as a shaded density (`explorer.map_overview`:
a 2-D histogram of the points in view, opacity and darkness on log(1 + count), and each bin's mean
colour variable when the faces are coloured); once the view holds at most `point_cap` faces (zoomed
in, or any view of a small atlas) they are dots again. The view is re-planned after each pan or zoom,
once per pass of the event loop. Hover and click find the face under the pointer through a k-d tree
(`explorer.point_index.PointIndex`) instead of scanning every point; the tree is built on a worker when
the pointer first moves over the map (`request_index`), so a launch never waits for it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem

from latentlab.explorer.map_overview import POINT_CAP, OverviewPlan, contains, plan_view
from latentlab.explorer.point_index import NO_POINT, PointIndex
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.widgets.steady_scatter import SteadyScatter

ATLAS_COLOUR = (31, 119, 180)
# Uncoloured density: greys (Brewer's Greys), apart from the gap map's blue and red under it.
DENSITY_LIGHT = np.array([189, 189, 189], dtype=np.float64)  # the sparsest bins
DENSITY_DARK = np.array([37, 37, 37], dtype=np.float64)      # the fullest bins
MIN_ALPHA, POINT_ALPHA = 70, 130
COLOUR_MAP = "viridis"


class AtlasLayer:
    """The atlas's dots (`points`, a ScatterPlotItem holding only the faces near the view) and its
    density image (`density`), added to `plot_item`."""

    def __init__(self, plot_item: pg.PlotItem, point_cap: int = POINT_CAP) -> None:
        self.view = plot_item.getViewBox()
        self.point_cap = point_cap
        self.points = SteadyScatter(size=5, pen=None, brush=pg.mkBrush(*ATLAS_COLOUR, POINT_ALPHA), name="atlas")
        self.points.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # hover and click: the map's k-d tree (`nearest`)
        # Rendered once into a device pixmap and blitted afterwards: moving the handle must not repaint
        # thousands of points (re-rendered only when the view or the data change).
        self.points.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.density = pg.ImageItem(axisOrder="row-major")
        self.density.setZValue(-10)  # above the gap map, under the prior samples and the path
        self.density.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot_item.addItem(self.points)
        plot_item.addItem(self.density, ignoreBounds=True)
        self.density.hide()
        self.xy: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self._levels: np.ndarray | None = None  # colour level 0..255 per face when coloured
        self._lut = pg.colormap.get(COLOUR_MAP).getLookupTable(nPts=256, alpha=False)
        self._brush_table = [QBrush(QColor(int(r), int(g), int(b), 200)) for r, g, b in self._lut]
        self.plan: OverviewPlan | None = None
        self.index: PointIndex | None = None
        self._index_job: GeneratorJob | None = None
        self._refresh_timer = QTimer()
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)  # once per pass of the event loop, however many range signals
        self._refresh_timer.timeout.connect(self.refresh)
        self.view.sigRangeChanged.connect(self._refresh_timer.start)
        self.view.sigResized.connect(self._refresh_timer.start)

    # ------------------------------------------------------------------ data
    def set_data(self, xy: np.ndarray | None, values: np.ndarray | None = None,
                 value_range: tuple[float, float] | None = None) -> None:
        """The faces' map coordinates [N, 2] (None: no atlas) and, to colour them, one value per face
        mapped linearly from `value_range` (default its min and max) onto the colour map."""
        self.xy = None if xy is None or len(xy) == 0 else np.ascontiguousarray(xy, dtype=np.float64)
        self.values = None if values is None or self.xy is None else np.asarray(values, dtype=np.float64)
        self._levels = None
        if self.values is not None:
            low, high = value_range or (float(np.nanmin(self.values)), float(np.nanmax(self.values)))
            self._levels = _to_levels(self.values, low, high)
            self._value_range = (low, high)
        self.plan = None
        self.index = None
        self._cancel_index_job()
        self.refresh()

    @property
    def count(self) -> int:
        return 0 if self.xy is None else len(self.xy)

    @property
    def index_ready(self) -> bool:
        return self.xy is None or self.index is not None

    def request_index(self) -> None:
        """Build the k-d tree of the current points on a worker, unless it is built or being built."""
        if self.xy is None or self.index is not None or self._index_job is not None:
            return
        xy = self.xy

        def keep(index: PointIndex) -> None:  # on the worker; the GUI thread reads a finished index only
            if xy is self.xy:
                self.index = index

        self._index_job = GeneratorJob(lambda: iter([PointIndex(xy)]), name="atlas-index", on_event=keep)
        self._index_job.start()

    def _cancel_index_job(self) -> None:
        """Forget the tree being built (its points are no longer shown). Its thread is joined: a build
        is bounded (a fraction of a second for 200,000 points), and a thread still inside scipy's C++
        at interpreter exit would abort the process."""
        if self._index_job is not None:
            self._index_job.cancel()
            self._index_job.join()
            self._index_job = None

    def ensure_index(self) -> None:
        """Build the k-d tree here and now when it is not there yet: a click must find its face even
        when no pointer move came first (a fraction of a second even for 200,000 points)."""
        if self.xy is None or self.index is not None:
            return
        self._cancel_index_job()  # joined: it may have finished the tree meanwhile
        if self.index is None:
            self.index = PointIndex(self.xy)

    def nearest(self, x: float, y: float, pixel_size: tuple[float, float], radius: float) -> tuple[int, float]:
        """The face nearest (x, y) on screen within `radius` pixels: (index, distance) or (NO_POINT, inf);
        no face until the index is built (`request_index`: a fraction of a second)."""
        index = self.index
        if index is None:
            return NO_POINT, float("inf")
        return index.nearest(x, y, pixel_size, radius)

    # ------------------------------------------------------------------ drawing
    def view_extent(self) -> tuple[float, float, float, float]:
        (x_min, x_max), (y_min, y_max) = self.view.viewRange()
        return float(x_min), float(x_max), float(y_min), float(y_max)

    def refresh(self) -> None:
        """Re-plan for the current view: dots or density (skipped while the dots loaded still cover it)."""
        if self.xy is None:
            self.points.setData([], [])
            self.density.hide()
            self.plan = None
            return
        extent = self.view_extent()
        if not (extent[1] > extent[0] and extent[3] > extent[2]):
            return
        if self.plan is not None and self.plan.mode == "points" and contains(self.plan.loaded, extent):
            return  # zoomed in or panned within the faces already drawn
        rect = self.view.screenGeometry() if hasattr(self.view, "screenGeometry") else None
        width, height = int(self.view.width()), int(self.view.height())
        if rect is not None and (width <= 1 or height <= 1):
            width, height = rect.width(), rect.height()
        plan = plan_view(self.xy, extent, (max(width, 120), max(height, 120)), self.values, self.point_cap)
        self.plan = plan
        if plan.mode == "points":
            self.density.hide()
            indices = plan.indices
            brush = (None if self._levels is None else [self._brush_table[level] for level in self._levels[indices]])
            self.points.setData(pos=self.xy[indices], data=indices, brush=brush)
            if brush is None:
                self.points.setBrush(pg.mkBrush(*ATLAS_COLOUR, POINT_ALPHA))
        else:
            self.points.setData([], [])
            if self._levels is None:  # the legend's sample shows the density's ink, not the dots' blue
                self.points.setBrush(pg.mkBrush(*DENSITY_DARK.astype(int), 200))
            tile = plan.tile
            x_min, x_max, y_min, y_max = tile.extent
            self.density.setImage(self._tile_rgba(tile), autoLevels=False)
            self.density.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
            self.density.show()

    def _tile_rgba(self, tile) -> np.ndarray:
        """RGBA uint8 [rows, columns, 4] of a density tile: darker and more opaque with log(1 + count);
        coloured by each bin's mean value when the faces are coloured."""
        shade = tile.shading[..., None]
        if tile.mean_values is None:
            rgb = DENSITY_LIGHT + (DENSITY_DARK - DENSITY_LIGHT) * shade
        else:
            low, high = self._value_range
            rgb = self._lut[_to_levels(tile.mean_values, low, high)].astype(np.float64)
        alpha = np.where(tile.counts > 0, MIN_ALPHA + (255 - MIN_ALPHA) * shade[..., 0], 0.0)
        return np.dstack([rgb, alpha]).round().clip(0, 255).astype(np.uint8)

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self._cancel_index_job()


def _to_levels(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Colour-map levels 0..255 of `values` on [low, high] (NaN: 0)."""
    scaled = (np.nan_to_num(np.asarray(values, dtype=np.float64), nan=low) - low) / ((high - low) or 1.0)
    return (np.clip(scaled, 0.0, 1.0) * 255).round().astype(np.intp)
