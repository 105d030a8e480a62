"""One compared model's column in the Compare window (what it decodes is `explorer.compare_decodes`):
`FittedTiles` (numbered decodes laid out to fit), `SampleMarks` (the shared codes marked on a map)
and `ModelColumn` (one model: name, latent map, large face, decodes).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from latentlab.explorer import ExplorerSession
from latentlab.explorer.compare_decodes import ModelDecodes
from latentlab.explorer.map_layers import MapLayers
from latentlab.ui.widgets.face_panel import ScalingImage
from latentlab.ui.widgets.latent_map import LatentMap
from latentlab.ui.widgets.tile_grid import TileGrid

MARK_COLOUR = (148, 40, 170)
NOTE_STYLE = "color: #8a5a00;"
MAP_TIP = ("Stars: the compared codes, numbered as the decodes below. The same z lands at different places "
           "on each model's map, because each map is its own projection (the PCA of that model's encoded "
           "faces) and each model spreads its training faces differently over the latent space.")


class FittedTiles(TileGrid):
    """A TileGrid that picks its column count to make the tiles as large as the widget allows (or
    keeps them in one row, for a path), and numbers the tiles 1..N when `numbered`."""

    def __init__(self, one_row: bool = False, numbered: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(selectable=True, parent=parent)
        self._one_row = one_row
        self._numbered = numbered
        self.images: np.ndarray | None = None
        self.setMinimumSize(120, 48)

    def set_tiles(self, images: np.ndarray | None, one_row: bool | None = None) -> None:
        """Show uint8 images [N, C, H, W] (None clears); `one_row` switches between a path's strip
        and a fitted grid."""
        self.images = images
        if one_row is not None:
            self._one_row = one_row
        self.set_images(images, self._fitted_columns())

    def _fitted_columns(self) -> int | None:
        images = self.images
        return None if images is None else self._best_columns(len(images), *images.shape[2:4])

    def _best_columns(self, count: int, height: int, width: int) -> int:
        """One row for a path; otherwise the column count giving the largest tiles, preferring, among
        those within 3% of the largest, a grid without empty cells (8 tiles: 4 x 2, not 6 + 2)."""
        if self._one_row:
            return count

        def scale(columns: int) -> float:
            rows = math.ceil(count / columns)
            return min(self.width() / (columns * (width + 2) + 2), self.height() / (rows * (height + 2) + 2))

        best = max(scale(c) for c in range(1, count + 1))
        near = [c for c in range(1, count + 1) if scale(c) >= 0.97 * best]
        return min(near, key=lambda c: (math.ceil(count / c) * c - count, -scale(c)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        columns = self._fitted_columns()
        if columns is not None and columns != self._columns:
            self.set_images(self.images, columns)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._numbered or self.images is None:
            return
        painter = QPainter(self)
        font = QFont()
        font.setPointSize(7)
        font.setBold(True)
        painter.setFont(font)
        for i in range(len(self.images)):
            rect = self.tile_rect(i)
            if rect.height() < 48:
                break  # too small to carry a number legibly
            badge = QRectF(rect.x() + 2, rect.y() + 2, 14 if i < 9 else 20, 12)
            painter.fillRect(badge, QColor(255, 255, 255, 200))
            painter.setPen(QColor(*MARK_COLOUR))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(i + 1))
        painter.end()


class SampleMarks:
    """Codes on one model's map as labelled stars (the shared samples 1..N, or a path's ends A and B),
    clickable (`on_click(index)`)."""

    def __init__(self, latent_map: LatentMap, on_click) -> None:
        self._plot = latent_map.plot.getPlotItem()
        self.points = pg.ScatterPlotItem(size=14, symbol="star", pen=pg.mkPen(255, 255, 255, width=1),
                                         brush=pg.mkBrush(*MARK_COLOUR))
        self.points.setZValue(8)
        self.points.sigClicked.connect(lambda _item, points, _event: len(points) and on_click(int(points[0].data())))
        self._plot.addItem(self.points, ignoreBounds=True)
        self._labels: list[pg.TextItem] = []

    def set_points(self, xy: np.ndarray | None, labels: list[str] | None = None) -> None:
        """Mark codes at map coordinates xy [N, 2], labelled 1..N unless `labels` are given (None clears)."""
        for label in self._labels:
            self._plot.removeItem(label)
        self._labels = []
        if xy is None or len(xy) == 0:
            self.points.setData([], [])
            return
        self.points.setData(pos=np.asarray(xy, dtype=float), data=np.arange(len(xy)))
        for i, (x, y) in enumerate(xy):
            label = pg.TextItem(labels[i] if labels else str(i + 1), color=MARK_COLOUR, anchor=(-0.3, 0.9))
            label.setZValue(9)
            label.setPos(float(x), float(y))
            self._plot.addItem(label, ignoreBounds=True)
            self._labels.append(label)


def small_label(style: str = "color: #555;") -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label


class ModelColumn(QFrame):
    """One compared model: its name, its latent map (atlas, prior samples, gap map, the shared codes,
    the path and a handle), its large face with a caption, and its decodes of the shared codes.
    Signals: `sample_clicked(int)` (a tile), `mark_clicked(int)` (a star: a sample, or a path's end
    0 = A, 1 = B), `handle_moved(x, y)`, `point_clicked(layer, index)`."""

    sample_clicked = Signal(int)
    mark_clicked = Signal(int)
    handle_moved = Signal(float, float)
    point_clicked = Signal(str, int)

    def __init__(self, session: ExplorerSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.session = session
        self.layers: MapLayers | None = None
        self._marks_in_legend: str | None = None
        self.decodes: ModelDecodes | None = None
        self.current_image: np.ndarray | None = None  # what the large face shows (uint8 [C, H, W])
        self.title = QLabel(f"<b>{session.name}</b>")
        shape = "x".join(map(str, session.image_shape[1:]))
        data = session.dataset_spec or "unknown data"
        self.info = QLabel(f"{session.model_name.upper()} · latent {session.latent_dim} · {shape} · {data}")
        self.info.setStyleSheet("color: #555;")
        self.info.setToolTip(f"{session.path}\n{self.info.text()}")
        # One line, clipped when narrow: the maps of all columns then start at the same height.
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note = small_label(NOTE_STYLE)
        self.note.hide()
        self.map = LatentMap()
        self.map.plot.setMinimumSize(220, 200)
        self.map.plot.setToolTip(MAP_TIP)
        self.map.legend.setLabelTextSize("7pt")
        self.map.set_axis_labels("", "")
        self.map.handle_moved.connect(self.handle_moved)
        self.map.point_clicked.connect(self.point_clicked)
        self.marks = SampleMarks(self.map, self.mark_clicked.emit)
        self.face = ScalingImage(96, 200, "decoding…")
        # As wide as it is tall: the caption takes the rest of the row, right beside the face.
        self.face.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.caption = small_label()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.tiles = FittedTiles()
        self.tiles.tile_clicked.connect(self.sample_clicked)
        self._build_layout()

    def _build_layout(self) -> None:
        self.bottom = QGridLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for widget in (self.title, self.info, self.note):
            layout.addWidget(widget)
        layout.addWidget(self.map, 5)
        layout.addLayout(self.bottom, 3)
        self._arrange(one_row=False)

    def _arrange(self, one_row: bool) -> None:
        """Samples: the large face (caption below) beside the grid of decodes. A path: its strip across
        the column, the large face and its caption below."""
        for widget in (self.face, self.caption, self.tiles):
            self.bottom.removeWidget(widget)
        # The face sits against its caption: beside it for a path, above it for samples.
        self.face.setAlignment(Qt.AlignmentFlag.AlignCenter if one_row
                               else Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        if one_row:
            self.bottom.addWidget(self.tiles, 0, 0, 1, 2)
            self.bottom.addWidget(self.face, 1, 0)
            self.bottom.addWidget(self.caption, 1, 1)
            self.bottom.setRowStretch(0, 1)
            self.bottom.setRowStretch(1, 3)
        else:
            self.bottom.addWidget(self.face, 0, 0)
            self.bottom.addWidget(self.caption, 1, 0)
            self.bottom.addWidget(self.tiles, 0, 1, 2, 1)
            self.bottom.setRowStretch(0, 1)
            self.bottom.setRowStretch(1, 0)
        self.bottom.setColumnStretch(0, 0)
        self.bottom.setColumnStretch(1, 1)
        self._one_row = one_row

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def projection(self):
        return None if self.layers is None else self.layers.projection

    @property
    def images(self) -> np.ndarray | None:
        """The decodes shown under the map (uint8 [N, C, H, W]), or None before they arrive."""
        return None if self.decodes is None else self.decodes.images

    # ------------------------------------------------------------------ content
    def set_layers(self, layers: MapLayers) -> None:
        """Draw the model's map (its own projection: PCA of its encoded faces)."""
        self.layers = layers
        self.map.set_axis_labels(*layers.labels)
        self.map.set_gap_map(*(layers.gaps or (None,)))
        self.map.set_points(layers.atlas_xy, layers.prior_xy, atlas_label="P̂(Z): encoded faces",
                            prior_label="P(Z) samples")
        self._marks_in_legend = None

    def show_codes(self, codes: np.ndarray | None, path: np.ndarray | None = None, own: bool = False) -> None:
        """Mark the compared codes [N, D] (numbered; `own`: this model's own draws of its P̂(Z), not
        the shared codes) or, given a path [K, D], draw it with its ends marked A and B."""
        if self.layers is None:
            return
        project = self.layers.projection.project
        if path is not None:
            self.marks.set_points(project(path[[0, -1]]), ["A", "B"])
        else:
            self.marks.set_points(None if codes is None else project(codes))
        label = "its own draws of P̂(Z)" if own else "compared codes (the same z on every map)"
        self._legend_marks(label if path is None and codes is not None else None)
        self.map.set_path(None if path is None else project(path))

    def _legend_marks(self, label: str | None) -> None:
        """The legend names the stars while they are samples (a path's ends are lettered)."""
        if label != self._marks_in_legend:
            if self._marks_in_legend:
                self.map.legend.removeItem(self.marks.points)
            if label:
                self.map.legend.addItem(self.marks.points, label)
            self._marks_in_legend = label

    def show_decodes(self, decodes: ModelDecodes, one_row: bool) -> None:
        self.decodes = decodes
        if one_row != self._one_row:
            self._arrange(one_row)
        self.tiles.set_tiles(decodes.images, one_row=one_row)
        self.set_note(decodes.note)
        trails = decodes.trails
        if trails is None or self.layers is None:
            self.map.set_trails(None)
        else:
            n, t, d = trails.shape
            self.map.set_trails(self.layers.projection.project(trails.reshape(n * t, d)).reshape(n, t, 2))

    def clear_decodes(self) -> None:
        self.decodes = None
        self.tiles.set_tiles(None)
        self.map.set_trails(None)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def place_handle(self, z: np.ndarray) -> None:
        if self.layers is not None:
            self.map.place_handle(*self.layers.projection.project(z))

    def show_face(self, image: np.ndarray, caption: str, prescaled: QImage | None = None) -> None:
        self.current_image = image
        self.face.set_image(image, prescaled)
        self.caption.setText(caption)
