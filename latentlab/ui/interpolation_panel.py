"""Interpolation between two faces: endpoints A and B, a strip of decodes, a slider, export.

Display and delegate only: the path comes from `latentlab.sampling`, files from `latentlab.export`.
The strip (at most 64 small decodes) is decoded here on the GUI thread when the endpoints, mode or
steps change; the slider only emits `current_changed` with the code at its fraction t, and the main
window decodes it large on its latest-wins worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QSlider, QSpinBox, QVBoxLayout, QWidget)

from latentlab.errors import LatentLabError
from latentlab.explorer.session import ExplorerSession
from latentlab.export import save_gif, save_strip_png
from latentlab.sampling import interpolate, interpolation_path
from latentlab.ui.imaging import to_pixmap, to_qimage

THUMB = 72
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


class _Strip(QWidget):
    """One row of images scaled to fit the widget (aspect kept), with a marker at fraction t.
    Clicking a tile emits `tile_clicked(fraction of that tile)`."""

    tile_clicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images = []
        self._t = 0.0
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_images(self, images: np.ndarray | None) -> None:
        self._images = [] if images is None else [to_qimage(image) for image in images]
        self.update()

    def set_marker(self, t: float) -> None:
        self._t = t
        self.update()

    def count(self) -> int:
        return len(self._images)

    def sizeHint(self):  # noqa: N802 (Qt name)
        size = super().sizeHint()
        size.setWidth(max(1, self.count()) * 64)
        size.setHeight(72)
        return size

    def _cells(self) -> tuple[float, float]:
        """(cell width, tile side) for the current size: tiles as large as fits, aspect kept."""
        cell = self.width() / max(1, self.count())
        return cell, max(1.0, min(cell - 2, self.height() - 8))

    def paintEvent(self, event) -> None:  # noqa: N802
        if not self._images:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        cell, side = self._cells()
        top = (self.height() - side) / 2
        for i, image in enumerate(self._images):
            painter.drawImage(QRectF(i * cell + (cell - side) / 2, top, side, side), image)
        if len(self._images) > 1:  # centre of tile 0 .. centre of the last tile
            x = cell / 2 + self._t * (self.width() - cell)
            painter.setPen(QPen(QColor(230, 60, 40), 2))
            painter.drawLine(int(x), int(top) - 4, int(x), int(top + side) + 4)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self.count() > 1:
            cell, _ = self._cells()
            index = min(self.count() - 1, max(0, int(event.position().x() // cell)))
            self.tile_clicked.emit(index / (self.count() - 1))


class InterpolationPanel(QWidget):
    """Interpolate between two latent codes (picked on the map or encoded from image files)."""

    path_changed = Signal(object)  # np.ndarray [K, D] float32: the path's codes (draw it on the map)
    current_changed = Signal(object)  # np.ndarray [D] float32: the code at the slider (show it large)
    error_occurred = Signal(str)  # a user-facing message (also shown in the panel's status line)

    SLIDER_MAX = 1000  # the slider walks t = value / SLIDER_MAX continuously, not only the strip's steps

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ExplorerSession | None = None
        self._codes: list[np.ndarray | None] = [None, None]
        self._path: np.ndarray | None = None
        self._images: np.ndarray | None = None

        ends = QGridLayout()
        self.thumbs, self.captions, self.open_buttons = [], [], []
        for which, name in enumerate("AB"):
            thumb = QLabel(name, alignment=Qt.AlignmentFlag.AlignCenter)
            thumb.setFixedSize(THUMB, THUMB)
            thumb.setStyleSheet("border: 1px solid palette(mid);")
            caption = QLabel("(none)", wordWrap=True)
            button = QPushButton(f"Open image {name}…")
            button.clicked.connect(lambda _=False, w=which: self._open_dialog(w))
            column = 2 * which
            ends.addWidget(thumb, 0, column, 2, 1)
            ends.addWidget(caption, 0, column + 1)
            ends.addWidget(button, 1, column + 1)
            self.thumbs.append(thumb)
            self.captions.append(caption)
            self.open_buttons.append(button)

        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Spherical (slerp)", "slerp")
        self.mode_combo.addItem("Linear", "linear")
        self.mode_combo.setToolTip("Slerp stays on the shell where N(0, I) samples live; "
                                   "a linear path dips toward the origin, a low-density region")
        self.steps_spin = QSpinBox(minimum=3, maximum=64, value=10)
        self.steps_spin.setKeyboardTracking(False)  # recompute once the number is entered
        options = QHBoxLayout()
        options.addWidget(QLabel("Path:"))
        options.addWidget(self.mode_combo)
        options.addWidget(QLabel("Steps:"))
        options.addWidget(self.steps_spin)
        options.addStretch(1)

        self.strip = _Strip()
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=self.SLIDER_MAX)
        self.t_label = QLabel("t = 0.00")
        walk = QHBoxLayout()
        walk.addWidget(self.slider, 1)
        walk.addWidget(self.t_label)

        self.png_button = QPushButton("Save strip PNG…")
        self.gif_button = QPushButton("Save GIF…")
        export = QHBoxLayout()
        export.addStretch(1)
        export.addWidget(self.png_button)
        export.addWidget(self.gif_button)

        self.status_label = QLabel(wordWrap=True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(ends)
        layout.addLayout(options)
        layout.addWidget(self.strip, 1)
        layout.addLayout(walk)
        layout.addLayout(export)
        layout.addWidget(self.status_label)

        self.mode_combo.currentIndexChanged.connect(self._recompute)
        self.steps_spin.valueChanged.connect(self._recompute)
        self.slider.valueChanged.connect(self._on_slider)
        self.strip.tile_clicked.connect(lambda t: self.slider.setValue(round(t * self.SLIDER_MAX)))
        self.png_button.clicked.connect(lambda: self._save_dialog("Save strip PNG", "PNG image (*.png)", ".png"))
        self.gif_button.clicked.connect(lambda: self._save_dialog("Save GIF", "Animated GIF (*.gif)", ".gif"))
        self._recompute()
        self.set_session(None)

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    @property
    def steps(self) -> int:
        return self.steps_spin.value()

    def path(self) -> np.ndarray | None:
        """The current path codes [steps, D], or None until both endpoints are set."""
        return None if self._path is None else self._path.copy()

    def strip_images(self) -> np.ndarray | None:
        """The strip's decodes uint8 [steps, C, H, W], or None."""
        return None if self._images is None else self._images.copy()

    def current_t(self) -> float:
        return self.slider.value() / self.SLIDER_MAX

    def current_code(self) -> np.ndarray | None:
        a, b = self._codes
        if a is None or b is None:
            return None
        return interpolate(a, b, self.current_t(), self.mode).astype(np.float32)

    # ------------------------------------------------------------------ inputs
    def set_session(self, session: ExplorerSession | None) -> None:
        """Use `session`'s model; a different model (or none) clears both endpoints."""
        if session is not self._session:
            self._session = session
            self._codes = [None, None]
            for which, name in enumerate("AB"):
                self.thumbs[which].clear()
                self.thumbs[which].setText(name)
                self.captions[which].setText("(none)")
            self._clear_status()
            self._recompute()
        self.setEnabled(session is not None)
        can_encode = session is not None and session.has_encoder
        for button in self.open_buttons:
            button.setEnabled(can_encode)
            button.setToolTip("" if can_encode else "This model has no encoder: pick the endpoints on the map")

    def set_endpoint(self, which: int, z: np.ndarray, label: str, image: np.ndarray | None = None) -> None:
        """Set endpoint A (0) or B (1) to code z [D]; the thumbnail is `image` (uint8 [C, H, W]) or
        the decode of z."""
        if self._session is None:
            raise RuntimeError("set_session() before set_endpoint()")
        z = np.asarray(z, dtype=np.float32).reshape(-1)
        if z.shape != (self._session.latent_dim,):
            raise ValueError(f"endpoint code has {z.size} values, the model's latent space has "
                             f"{self._session.latent_dim}")
        if image is None:
            image = self._session.decode(z[None])[0]
        self._codes[which] = z.copy()
        self.thumbs[which].setPixmap(to_pixmap(image, THUMB - 2))
        self.captions[which].setText(f"{'AB'[which]}: {label}")
        self.captions[which].setToolTip(label)
        self._recompute()

    def load_endpoint_file(self, which: int, path: str | os.PathLike) -> bool:
        """Encode an image file (the checkpoint's training preprocessing) as endpoint `which`.
        A bad file is reported in the status line and by `error_occurred`; returns success."""
        if self._session is None:
            return False
        try:
            codes, images = self._session.encode_files([path])
        except LatentLabError as err:
            self._show_error(str(err))
            return False
        self._clear_status()
        self.set_endpoint(which, codes[0], Path(path).name, image=images[0])
        return True

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | os.PathLike) -> Path | None:
        """Save the strip as one PNG row; None (and an error message) when it cannot be written."""
        return self._export(save_strip_png, path)

    def export_gif(self, path: str | os.PathLike) -> Path | None:
        """Save the strip as an animated GIF playing A→B→A, looping forever."""
        return self._export(save_gif, path)

    def _export(self, save, path) -> Path | None:
        if self._images is None:
            self._show_error("Set both endpoints before exporting an interpolation")
            return None
        try:
            written = save(path, self._images)
        except LatentLabError as err:
            self._show_error(str(err))
            return None
        self._show_status(f"Saved {written}")
        return written

    # ------------------------------------------------------------------ internals
    def _recompute(self) -> None:
        a, b = self._codes
        self._path = self._images = None
        if self._session is not None and a is not None and b is not None:
            path = interpolation_path(a, b, self.steps, self.mode).astype(np.float32)
            try:
                self._images = self._session.decode(path)
                self._path = path
            except (LatentLabError, RuntimeError, ValueError) as err:
                self._show_error(f"Cannot decode the interpolation: {err}")
        self.strip.set_images(self._images)
        ready = self._path is not None
        for widget in (self.slider, self.png_button, self.gif_button):
            widget.setEnabled(ready)
        if ready:
            self.path_changed.emit(self._path.copy())
            self._on_slider(self.slider.value())

    def _on_slider(self, value: int) -> None:
        t = value / self.SLIDER_MAX
        self.t_label.setText(f"t = {t:.2f}")
        self.strip.set_marker(t)
        code = self.current_code()
        if code is not None:
            self.current_changed.emit(code)

    def _open_dialog(self, which: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Open image {'AB'[which]}", "", IMAGE_FILTER)
        if path:
            self.load_endpoint_file(which, path)

    def _save_dialog(self, title: str, file_filter: str, suffix: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, f"interpolation{suffix}", file_filter)
        if path:
            path = path if path.lower().endswith(suffix) else path + suffix
            (self.export_png if suffix == ".png" else self.export_gif)(path)

    def _show_error(self, message: str) -> None:
        self.status_label.setStyleSheet("color: #c62828;")
        self.status_label.setText(message)
        self.status_label.show()
        self.error_occurred.emit(message)

    def _show_status(self, message: str) -> None:
        self.status_label.setStyleSheet("")
        self.status_label.setText(message)
        self.status_label.show()

    def _clear_status(self) -> None:
        self.status_label.clear()
        self.status_label.hide()
