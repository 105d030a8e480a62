"""The large decoded face, a hover preview (original and reconstruction when the data is on disk),
and the buttons that hand the current face to the interpolation."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget

from latentlab.ui.widgets.imaging import to_pixmap, to_qimage

FACE_SIDE = 256      # preferred side of the large face
FACE_MIN_SIDE = 120  # it shrinks to this when the tabs below need the room
PREVIEW_SIDE = 88


class ScalingImage(QLabel):
    """A square image that fills the space it is given (down to a minimum). The image is kept at its
    own resolution and scaled (bilinear) as it is painted, so showing a new one costs no conversion or
    rescale here: `set_image` stores it and asks for a repaint. The label's text shows while there is
    no image."""

    def __init__(self, minimum: int, preferred: int, text: str) -> None:
        super().__init__(text)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._preferred = preferred
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("color: #888;")

    def sizeHint(self) -> QSize:
        return QSize(self._preferred, self._preferred)

    @property
    def side(self) -> int:
        return max(16, min(self.width(), self.height()))

    @property
    def shown(self) -> QImage | None:
        """The image on screen at its own resolution (None: the text shows)."""
        return self._qimage

    def set_image(self, image: np.ndarray | None, qimage: QImage | None = None) -> None:
        """Show uint8 [C, H, W] `image`; `qimage`, the same pixels as a QImage (a worker's
        `imaging.pixel_buffer`), saves converting it here."""
        self._image = image
        self._qimage = None if image is None else (qimage if qimage is not None else to_qimage(image))
        self.update()

    def target_rect(self) -> QRect:
        """Where the image is painted: scaled to fit the widget, placed by the label's alignment."""
        image = self._qimage
        scale = min(self.width() / image.width(), self.height() / image.height())
        size = QSize(max(1, round(image.width() * scale)), max(1, round(image.height() * scale)))
        return QStyle.alignedRect(self.layoutDirection(), self.alignment(), size, self.rect())

    def paintEvent(self, event) -> None:
        if self._qimage is None:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self.target_rect(), self._qimage)
        painter.end()


def _image_label(side: int, text: str) -> QLabel:
    label = QLabel(text)
    label.setFixedSize(side, side)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: #f2f2f2; border: 1px solid #d0d0d0; color: #888;")
    return label


P_HAT_TIP = ("Jump to a random draw of P̂(Z): the density of this model's encoded training faces (a Gaussian "
             "mixture fitted to its atlas; ex-post density estimation, Ghosh et al. 2020). Unlike prior "
             "samples, these land where the decoder learned faces")
NO_ATLAS_TIP = ("Unavailable: this model carries no atlas of encoded training faces{why}, so P̂(Z) cannot be "
                "fitted. Bundle a checkpoint with python -m latentlab.bundle to add one")


class FacePanel(QWidget):
    """Signals: `use_as(int)` (0 = A, 1 = B), `random_requested()` (a prior sample),
    `p_hat_requested()` (a draw of the model's P̂(Z))."""

    use_as = Signal(int)
    random_requested = Signal()
    p_hat_requested = Signal()
    image_shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face = ScalingImage(FACE_MIN_SIDE, FACE_SIDE, "no model loaded")
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555;")
        self.last_shown_at = 0.0
        self.current_image: np.ndarray | None = None

        buttons = QHBoxLayout()
        self.a_button = QPushButton("Use as A")
        self.b_button = QPushButton("Use as B")
        self.random_button = QPushButton("Random from prior")
        self.p_hat_button = QPushButton("Random from P̂(Z)")
        self.a_button.setToolTip("Make this face the start of the interpolation")
        self.b_button.setToolTip("Make this face the end of the interpolation")
        self.random_button.setToolTip("Jump to a random sample z ~ N(0, I)")
        self.p_hat_button.setToolTip(P_HAT_TIP)
        for button in (self.a_button, self.b_button, self.random_button, self.p_hat_button):
            buttons.addWidget(button)
        self.a_button.clicked.connect(lambda: self.use_as.emit(0))
        self.b_button.clicked.connect(lambda: self.use_as.emit(1))
        self.random_button.clicked.connect(self.random_requested.emit)
        self.p_hat_button.clicked.connect(self.p_hat_requested.emit)

        self.hover_original = _image_label(PREVIEW_SIDE, "")
        self.hover_decoded = _image_label(PREVIEW_SIDE, "")
        self.hover_caption = QLabel("Hover a point on the map")
        self.hover_caption.setStyleSheet("color: #555;")
        self.hover_caption.setWordWrap(True)
        hover = QGridLayout()
        hover.addWidget(self.hover_original, 0, 0)
        hover.addWidget(self.hover_decoded, 0, 1)
        hover.addWidget(self.hover_caption, 0, 2)
        hover.setColumnStretch(2, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.face, 1)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        layout.addLayout(hover)
        self.set_enabled_for_model(False)

    def set_enabled_for_model(self, loaded: bool, has_atlas: bool = False, why: str = "") -> None:
        """Enable the buttons for a loaded model; "Random from P̂(Z)" only when the model carries an
        atlas, else disabled with a tooltip that says why (`why`: e.g. " (a GAN has no encoder)")."""
        for button in (self.a_button, self.b_button, self.random_button):
            button.setEnabled(loaded)
        self.p_hat_button.setEnabled(loaded and has_atlas)
        self.p_hat_button.setToolTip(P_HAT_TIP if has_atlas or not loaded else NO_ATLAS_TIP.format(why=why))
        if not loaded:
            self.face.set_image(None)
            self.face.clear()
            self.face.setText("no model loaded")

    def show_face(self, image: np.ndarray, caption: str | None = None, qimage: QImage | None = None) -> None:
        """Show uint8 [C, H, W] large (`qimage`: the same pixels as a QImage, see ScalingImage.set_image);
        records when pixels were last updated (for the drag benchmark)."""
        self.current_image = image
        self.face.set_image(image, qimage)
        if caption is not None:
            self.caption.setText(caption)
        self.last_shown_at = time.perf_counter()
        self.image_shown.emit()

    def show_hover(self, decoded: np.ndarray | None, original: np.ndarray | None, caption: str) -> None:
        for label, image, empty in ((self.hover_decoded, decoded, ""), (self.hover_original, original, "")):
            if image is None:
                label.clear()
                label.setText(empty)
            else:
                label.setPixmap(to_pixmap(image, PREVIEW_SIDE))
        self.hover_caption.setText(caption)
