"""The export dialog of a walk: format (GIF / MP4), frame rate, size, and how the frames play.

It only asks; the file name comes from a save dialog afterwards, and the encoding runs on a worker
(`ui.recording.controller`). MP4 is offered only when imageio-ffmpeg's encoder is there; otherwise
its entry is greyed out with the reason as its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.animation import GIF_MAX_FPS, MP4_MAX_FPS, duration_seconds, find_mp4_encoder
from latentlab.errors import ExportError
from latentlab.explorer.recording import output_size

MAX_SCALE = 8
MAX_WALK_FRAMES = 600


class AnimationDialog(QDialog):
    """Settings for one export. `walk` is "recording" (a recorded drag: real-time or one face per
    frame), "path" (a path walk: how many frames along A → B) or "chain" (a chain run: one step per
    frame). `frames` is the number of faces (recording, chain) or the default frames along the path;
    `image_shape` the shape of one frame [C, H, W]; `seconds` how long the recording took."""

    def __init__(self, walk: str, frames: int, image_shape: tuple[int, ...], seconds: float = 0.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.walk, self.frames, self.image_shape, self.seconds = walk, frames, tuple(image_shape), seconds
        titles = {"recording": "Export the recorded walk", "path": "Export the path walk A → B",
                  "chain": "Export the chain run"}
        self.setWindowTitle(titles[walk])
        self.format_combo = QComboBox()
        self.format_combo.addItem("GIF (animated, loops)", ".gif")
        self.format_combo.addItem("MP4 (H.264 video)", ".mp4")
        try:
            find_mp4_encoder()
            self.mp4_problem = ""
        except ExportError as err:
            self.mp4_problem = str(err)
            item = self.format_combo.model().item(1)
            item.setEnabled(False)
            self.format_combo.setItemData(1, self.mp4_problem, Qt.ItemDataRole.ToolTipRole)
        self.fps_spin = QSpinBox(minimum=1, maximum=int(GIF_MAX_FPS), value=15, suffix=" frames/s")
        self.scale_spin = QSpinBox(minimum=1, maximum=MAX_SCALE, value=max(1, min(MAX_SCALE, 256 // image_shape[-1])),
                                   prefix="× ")
        self.size_label = QLabel()
        self.timing_combo = QComboBox()
        self.timing_combo.addItem("Real time (as dragged)", True)
        self.timing_combo.addItem("One face per frame", False)
        self.frames_spin = QSpinBox(minimum=2, maximum=MAX_WALK_FRAMES, value=max(2, min(MAX_WALK_FRAMES, frames)))
        self.bounce_check = QCheckBox("Play forward, then back (a seamless loop)")
        self.bounce_check.setChecked(walk == "path")
        self.summary_label = QLabel()
        self.summary_label.setStyleSheet("color: #555;")

        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Frame rate", self.fps_spin)
        form.addRow("Size", self.scale_spin)
        form.addRow("", self.size_label)
        if walk == "recording":
            form.addRow("Timing", self.timing_combo)
        if walk == "path":
            form.addRow("Frames along the path", self.frames_spin)
        form.addRow("", self.bounce_check)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary_label)
        layout.addWidget(buttons)
        for signal in (self.format_combo.currentIndexChanged, self.fps_spin.valueChanged, self.scale_spin.valueChanged,
                       self.timing_combo.currentIndexChanged, self.frames_spin.valueChanged, self.bounce_check.toggled):
            signal.connect(self._update)
        self._update()

    # ------------------------------------------------------------------ answers
    @property
    def suffix(self) -> str:
        return self.format_combo.currentData()

    @property
    def kind(self) -> str:
        return "GIF" if self.suffix == ".gif" else "MP4"

    @property
    def fps(self) -> int:
        return self.fps_spin.value()

    @property
    def scale(self) -> int:
        return self.scale_spin.value()

    @property
    def real_time(self) -> bool:
        return bool(self.timing_combo.currentData())

    @property
    def walk_frames(self) -> int:
        """Frames along the path (path walks)."""
        return self.frames_spin.value()

    @property
    def bounce(self) -> bool:
        return self.bounce_check.isChecked()

    def frame_count(self) -> int:
        """Frames the file will hold with the current answers."""
        if self.walk == "path":
            count = self.walk_frames
        elif self.walk == "recording" and self.real_time:
            count = int(self.seconds * self.fps) + 2  # at most: the sampled faces and the last one
        else:
            count = self.frames
        return 2 * count - 2 if self.bounce and count > 2 else count

    # ------------------------------------------------------------------ internals
    def _update(self, *_args) -> None:
        self.fps_spin.setMaximum(int(GIF_MAX_FPS if self.kind == "GIF" else MP4_MAX_FPS))
        width, height = output_size(self.image_shape, self.scale, self.kind)
        self.size_label.setText(f"{width} × {height} pixels")
        count = self.frame_count()
        about = "about " if self.walk == "recording" and self.real_time else ""
        self.summary_label.setText(f"{about}{count} frames, {duration_seconds(count, self.fps, self.kind):.1f} s"
                                   + (" (GIF delays are whole hundredths of a second)"
                                      if self.kind == "GIF" and 100 % self.fps else ""))
