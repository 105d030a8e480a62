"""The pixel panel's control widgets, which only display and report: the model picker, the
sampling-mode combo, the Generate / Complete tab bar, the completion controls (image source, rows kept)
and the receptive-field legend. `PixelPanel` wires them to its model and jobs."""

from __future__ import annotations

import inspect
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTabBar,
    QWidget,
)

from latentlab.analysis.receptive_field import ReceptiveField, Region
from latentlab.resources import bundled_pixel_models
from latentlab.sampling.pixels import MODES, sample_steps
from latentlab.ui.pixels.views import legend_html

MODE_LABELS = {"fast": "Fast (per-layer activation caches)", "cached": "Cached (only the rows above)",
               "naive": "Naive (the whole image per sub-pixel)"}
NO_MODEL = "Choose a pixel model above, or open one (File → Open also routes PixelCNN checkpoints here)."
NO_IMAGE = "Open an image (or take one from the model's dataset) to complete its lower part."
CLICK_HINT = "Click a pixel to see which earlier pixels its prediction depends on."
BLIND_SPOT_NOTE = ("Magenta: the blind spot — earlier pixels this prediction never sees although it sees beyond "
                   "them. The PixelCNN's stacked masks never see this region; the Gated PixelCNN's vertical stack "
                   "does.")
NO_BLIND_SPOT_NOTE = ("No blind spot: every earlier pixel within reach influences this one (the Gated PixelCNN's "
                      "vertical stack sees all the rows above; the PixelCNN's stacked masks miss a region "
                      "above-right).")


class ModelPicker(QWidget):
    """A combo of the bundled pixel models and the ones opened here, Open…, and the loaded model's
    one-line description. Choosing or opening a file emits `path_chosen(path)`; the panel loads it."""

    path_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._opened: list[str] = []
        self._current: str | None = None
        self.combo = QComboBox()
        self.combo.setToolTip("Bundled autoregressive models and the ones opened here")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a PixelCNN / Gated PixelCNN / Row LSTM checkpoint")
        self.info = QLabel(NO_MODEL, wordWrap=True)
        self.info.setStyleSheet("color: #555;")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Model"), 0, 0)
        grid.addWidget(self.combo, 0, 1)
        grid.addWidget(self.open_button, 0, 2)
        grid.addWidget(self.info, 1, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.combo.activated.connect(self._chosen)
        self.open_button.clicked.connect(self._open_dialog)
        # Listed when first shown, not at construction: finding the bundled pixel models reads the
        # metadata of every bundled checkpoint (0.1 s), which the window's first paint does not need.
        self._listed = False

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._listed:
            self.refresh()

    def set_current(self, path: Path | None, description: str) -> None:
        """The model now loaded (listed from now on when it came from a file)."""
        self._current = None if path is None else str(path)
        if self._current is not None and self._current not in self._opened:
            self._opened.append(self._current)
        self.info.setText(description)
        self.refresh()

    def refresh(self) -> None:
        """List the bundled pixel models and the opened ones; before any model is loaded, the first
        entry says what to do."""
        self._listed = True
        bundled = [str(path.resolve()) for path in bundled_pixel_models()]
        self.combo.clear()
        if self.info.text() == NO_MODEL:
            self.combo.addItem("Choose a pixel model…" if bundled or self._opened else "(no pixel model yet: Open…)")
        for path in bundled:
            self.combo.addItem(f"{Path(path).stem} (bundled)", path)
        for path in self._opened:
            if self.combo.findData(path) < 0:
                self.combo.addItem(Path(path).name, path)
        self.combo.setCurrentIndex(max(self.combo.findData(self._current) if self._current else -1, 0))

    def _chosen(self, index: int) -> None:
        path = self.combo.itemData(index)
        if path and path != self._current:
            self.path_chosen.emit(path)
            self.refresh()  # shows the model loaded, whether or not the chosen one loaded

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a pixel model", "", "LatentLab checkpoints (*.ckpt *.pt *.pth)")
        if path:
            self.path_chosen.emit(path)


def mode_combo() -> QComboBox:
    """The sampler's modes (whatever `sampling.pixels.MODES` holds), the sampler's default selected."""
    combo = QComboBox()
    for mode in MODES:
        combo.addItem(MODE_LABELS.get(mode, mode), mode)
    default = inspect.signature(sample_steps).parameters["mode"].default
    combo.setCurrentIndex(max(0, combo.findData(default)))
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(16)
    combo.setToolTip("How each step's logits are computed; every mode draws the same images for a seed")
    return combo


def task_tabs() -> QTabBar:
    """Generate / Complete as a bare tab bar: Generate needs no page of its own, so it takes no height."""
    tabs = QTabBar()
    tabs.setDocumentMode(True)
    tabs.setExpanding(False)
    tabs.addTab("Generate")
    tabs.setTabToolTip(0, "New images from an empty canvas, one sub-pixel at a time: raster order, R → G → B")
    tabs.addTab("Complete")
    tabs.setTabToolTip(1, "Keep the top rows of an image and let the model draw the rest")
    return tabs


class CompleteControls(QWidget):
    """Where the image to complete comes from, how many of its top rows are kept, and what it is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_image_button = QPushButton("Open image…")
        self.open_image_button.setToolTip("An image file, cropped and resized as the model's training data was")
        self.dataset_button = QPushButton("Dataset image")
        self.rows_slider = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=1, value=1)
        self.rows_label = QLabel()
        self.caption = QLabel(NO_IMAGE, wordWrap=True)
        self.caption.setStyleSheet("color: #555;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_image_button)
        buttons.addWidget(self.dataset_button)
        buttons.addStretch(1)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addLayout(buttons, 0, 0, 1, 3)
        grid.addWidget(QLabel("Keep"), 1, 0)
        grid.addWidget(self.rows_slider, 1, 1)
        grid.addWidget(self.rows_label, 1, 2)
        grid.addWidget(self.caption, 2, 0, 1, 3)
        grid.setColumnStretch(1, 1)

    def set_height(self, height: int) -> None:
        """A new model's image height: keep the top half by default (without signalling)."""
        self.rows_slider.blockSignals(True)
        self.rows_slider.setRange(1, height - 1)
        self.rows_slider.setValue(height // 2)
        self.rows_slider.blockSignals(False)
        self.show_rows(height)

    def show_rows(self, height: int) -> None:
        self.rows_label.setText(f"the top {self.rows_slider.value()} of {height} rows")

    def set_dataset_available(self, spec: str | None) -> None:
        self.dataset_button.setEnabled(bool(spec))
        self.dataset_button.setToolTip(f"A random held-out image of {spec} (when it is on this computer)" if spec
                                       else "The checkpoint records no dataset")


class FieldLegend(QWidget):
    """The receptive-field key (region colours and counts), a one-line explanation, and Hide."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(CLICK_HINT, wordWrap=True)
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet("color: #444;")
        self.hide_button = QPushButton("Hide overlay")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.label, 0, 0)
        grid.addWidget(self.hide_button, 0, 1)
        grid.addWidget(self.note, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.clear()

    def clear(self) -> None:
        self.label.setText(CLICK_HINT)
        self.note.setText("")
        self.hide_button.setEnabled(False)

    def computing(self, row: int, col: int) -> None:
        self.label.setText(f"Receptive field of row {row}, column {col}: computing…")

    def show_field(self, field: ReceptiveField, image_number: int) -> None:
        row, col, _ = field.position
        self.label.setText(f"Row {row}, column {col} of image #{image_number}: " + legend_html(field))
        self.note.setText(BLIND_SPOT_NOTE if field.count(Region.BLIND_SPOT) else NO_BLIND_SPOT_NOTE)
        self.hide_button.setEnabled(True)
