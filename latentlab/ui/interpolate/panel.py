"""Interpolation between two faces: endpoints A and B, a strip of decodes, a slider, export.

Display and delegate only: the path comes from `latentlab.sampling`, files from `latentlab.export`.
The strip (at most 64 small decodes) is decoded here on the GUI thread when the endpoints, mode or
steps change; the slider only emits `current_changed` with the code at its fraction t, and the main
window decodes it large on its latest-wins worker.

With "Chain steps k" > 0 a second strip shows the same path after k steps of the latent Markov
chain applied to every point (`latentlab.sampling.chained_path`; the interpolation figure of
Creswell et al. 2016), aligned column by column with the direct decodes. It is computed on the GUI
thread, under a busy cursor with a "Running the chain… t/k" label, only when the endpoints, path
mode, steps, k or chain mode change, never on slider moves. Cost at 64x64: about 0.15 s for the
default 10 points x 5 steps, and up to ~6 s for the worst case 64 points x 20 steps on a busy 2-core
CPU (measured); a worker job would be the next step if that proves too long.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import LatentLabError
from latentlab.explorer.session import ExplorerSession
from latentlab.export import save_gif, save_pair_gif, save_strip_png, save_strips_png
from latentlab.sampling import interpolate, interpolation_path
from latentlab.sampling.chained_path import chained_path
from latentlab.ui.widgets.imaging import to_pixmap, to_qimage

THUMB = 72
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
CHAIN_MAX = 20
NO_ENCODER_TIP = "This model has no encoder, so the latent Markov chain (decode, then re-encode) does not apply"
CHAIN_TIP = ("k steps of the latent Markov chain (decode, re-encode) applied to every point of the path, shown "
             "in a second strip: the chain moves points in the gaps of P̂(Z) toward codes the decoder learned "
             "(Creswell et al. 2016). 0 = off")


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

    def sizeHint(self):
        size = super().sizeHint()
        size.setWidth(max(1, self.count()) * 64)
        size.setHeight(72)
        return size

    def _cells(self) -> tuple[float, float]:
        """(cell width, tile side) for the current size: tiles as large as fits, aspect kept."""
        cell = self.width() / max(1, self.count())
        return cell, max(1.0, min(cell - 2, self.height() - 8))

    def paintEvent(self, event) -> None:
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

    def mousePressEvent(self, event) -> None:
        if self.count() > 1:
            cell, _ = self._cells()
            index = min(self.count() - 1, max(0, int(event.position().x() // cell)))
            self.tile_clicked.emit(index / (self.count() - 1))


class InterpolationPanel(QWidget):
    """Interpolate between two latent codes (picked on the map or encoded from image files)."""

    path_changed = Signal(object)  # np.ndarray [K, D] float32: the path's codes (draw it on the map)
    current_changed = Signal(object)  # np.ndarray [D] float32: the code at the slider (show it large)
    # np.ndarray [D] float32: with k > 0, the chained code at the path point nearest the slider
    chained_current_changed = Signal(object)
    error_occurred = Signal(str)  # a user-facing message (also shown in the panel's status line)

    SLIDER_MAX = 1000  # the slider walks t = value / SLIDER_MAX continuously, not only the strip's steps

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ExplorerSession | None = None
        self._codes: list[np.ndarray | None] = [None, None]
        self._path: np.ndarray | None = None
        self._images: np.ndarray | None = None
        self._chained_codes: np.ndarray | None = None  # the path after k chain steps [steps, D]
        self._chained_images: np.ndarray | None = None
        self._can_chain = False
        self._chain_run = 0  # counts chain requests, so a result overtaken by a newer request is dropped

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
        self.chain_spin = QSpinBox(minimum=0, maximum=CHAIN_MAX, value=0)
        self.chain_spin.setKeyboardTracking(False)
        self.chain_spin.setSpecialValueText("0 (off)")
        self.chain_mode_combo = QComboBox()
        self.chain_mode_combo.addItem("Mean", "mean")
        self.chain_mode_combo.addItem("Stochastic", "stochastic")
        options.addSpacing(12)
        options.addWidget(QLabel("Chain steps k:"))
        options.addWidget(self.chain_spin)
        options.addWidget(self.chain_mode_combo)
        self.busy_label = QLabel("Running the chain…")
        options.addWidget(self.busy_label)
        options.addStretch(1)

        self.strip = _Strip()
        self.direct_label = QLabel("decoded directly")
        self.chained_label = QLabel()
        self.chained_strip = _Strip()
        for widget in (self.direct_label, self.chained_label, self.chained_strip, self.busy_label):
            widget.hide()
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
        layout.addWidget(self.direct_label)
        layout.addWidget(self.strip, 1)
        layout.addWidget(self.chained_label)
        layout.addWidget(self.chained_strip, 1)
        layout.addLayout(walk)
        layout.addLayout(export)
        layout.addWidget(self.status_label)

        self.mode_combo.currentIndexChanged.connect(self._recompute)
        self.steps_spin.valueChanged.connect(self._recompute)
        self.chain_spin.valueChanged.connect(self._recompute_chain)
        self.chain_mode_combo.currentIndexChanged.connect(self._recompute_chain)
        self.slider.valueChanged.connect(self._on_slider)
        for strip in (self.strip, self.chained_strip):
            strip.tile_clicked.connect(lambda t: self.slider.setValue(round(t * self.SLIDER_MAX)))
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

    @property
    def chain_steps(self) -> int:
        """k, the chain steps applied to every point of the path (0: off, or the model has no encoder)."""
        return self.chain_spin.value() if self._can_chain else 0

    @property
    def chain_mode(self) -> str:
        return self.chain_mode_combo.currentData()

    def chained_codes(self) -> np.ndarray | None:
        """The path after k chain steps [steps, D], or None when k = 0 or there is no path."""
        return None if self._chained_codes is None else self._chained_codes.copy()

    def chained_images(self) -> np.ndarray | None:
        """The second strip's decodes uint8 [steps, C, H, W], or None when it is hidden."""
        return None if self._chained_images is None else self._chained_images.copy()

    def current_t(self) -> float:
        return self.slider.value() / self.SLIDER_MAX

    def endpoint(self, which: int) -> tuple[np.ndarray, str] | None:
        """Endpoint A (0) or B (1) as (code [D], its caption), or None while it is unset."""
        z = self._codes[which]
        return None if z is None else (z.copy(), self.captions[which].toolTip())

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
        if can_encode != self._can_chain:
            self._can_chain = can_encode
            self._recompute_chain()
        for widget in (self.chain_spin, self.chain_mode_combo):
            widget.setEnabled(can_encode)
        self.chain_spin.setToolTip(CHAIN_TIP if can_encode else NO_ENCODER_TIP)
        self.chain_mode_combo.setToolTip(
            "Mean: decode the mean image, encode the posterior mean (deterministic). Stochastic: sample "
            "both (the faithful chain, seed 0)" if can_encode else NO_ENCODER_TIP)

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
        """Save the strip as one PNG row (with k > 0: the direct strip on top, the chained strip below);
        None (and an error message) when it cannot be written."""
        if self._chained_images is not None:
            return self._export(lambda p, images: save_strips_png(p, [images, self._chained_images]), path)
        return self._export(save_strip_png, path)

    def export_gif(self, path: str | os.PathLike) -> Path | None:
        """Save the strip as an animated GIF playing A→B→A, looping forever (with k > 0 each frame
        shows the direct decode on the left and the chained one on the right)."""
        if self._chained_images is not None:
            return self._export(lambda p, images: save_pair_gif(p, images, self._chained_images), path)
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
        self._recompute_chain(emit=False)
        if ready and self._path is not None:  # (None if a new request replaced it during the chain)
            self.path_changed.emit(self._path.copy())
            self._on_slider(self.slider.value())

    def _recompute_chain(self, *_args, emit: bool = True) -> None:
        """The second strip: the path after k chain steps (hidden when k = 0 or there is no path)."""
        self._chained_codes = self._chained_images = None
        self._chain_run += 1
        run, k = self._chain_run, self.chain_steps
        codes = images = None
        if k > 0 and self._path is not None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self._show_progress(f"Running the chain… 0/{k}")
                # Not under the session's lock: that would stall the window's drag decoder for the whole
                # chain; eval-mode inference under no_grad only reads the weights (as the chain panel's
                # worker does).
                codes, images = chained_path(
                    self._session.model, self._path, k, mode=self.chain_mode, seed=0,
                    progress=lambda t: self._show_progress(f"Running the chain… {t}/{k}"))
            except (LatentLabError, RuntimeError, ValueError) as err:
                codes = images = None
                if run == self._chain_run:
                    self._show_error(f"Cannot run the latent chain along the path: {err}")
            finally:
                QApplication.restoreOverrideCursor()
                self.busy_label.hide()
            if run != self._chain_run:  # a newer request arrived while the progress label was painted
                return
        self._chained_codes, self._chained_images = codes, images
        shown = self._chained_images is not None
        self.chained_strip.set_images(self._chained_images)
        self.chained_label.setText(f"after {k} chain step{'s' if k != 1 else ''} ({self.chain_mode} mode)")
        for widget in (self.direct_label, self.chained_label, self.chained_strip):
            widget.setVisible(shown)
        if emit and shown:
            self._emit_chained(self.current_t())

    def _show_progress(self, text: str) -> None:
        self.busy_label.setText(text)
        self.busy_label.show()
        # Lay out and paint the label now; user input waits, so nothing re-enters this panel.
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)

    def _on_slider(self, value: int) -> None:
        t = value / self.SLIDER_MAX
        self.t_label.setText(f"t = {t:.2f}")
        self.strip.set_marker(t)
        self.chained_strip.set_marker(t)
        code = self.current_code()
        if code is not None:
            self.current_changed.emit(code)
        self._emit_chained(t)

    def _emit_chained(self, t: float) -> None:
        if self._chained_codes is not None:
            nearest = int(round(t * (len(self._chained_codes) - 1)))
            self.chained_current_changed.emit(self._chained_codes[nearest].copy())

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
