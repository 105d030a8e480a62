"""The pixel panel: watch an autoregressive model (PixelCNN, Gated PixelCNN, Row LSTM) draw images one
sub-pixel at a time, complete the lower part of a real image, and see which earlier pixels a
prediction depends on (the PixelCNN's blind spot).

The panel holds its own model, independent of the window's latent model. Sampling is
`sampling.pixels.sample_steps` (in `explorer.pixel_runs.pixel_frames`) driven by a `GeneratorJob` on
a worker thread through a `services.gate.Gate`, as the chain panel's (Step: one sub-pixel; Play: at
the chosen rate, or as fast as possible; Pause: none). The worker leaves each step in a one-slot
mailbox (`LatestFrame`); a QTimer takes the latest at most
~30 times a second and redraws, so the GUI thread's cost does not grow with the sampling speed.
Receptive fields (`analysis.receptive_field`) and dataset images are computed on short worker jobs;
their results come back through the `JobBridge`, tagged with the job id, so late ones are dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import latentlab
from latentlab.analysis.receptive_field import ReceptiveField, analyse
from latentlab.data import load_image_file
from latentlab.errors import LatentLabError
from latentlab.explorer.pixel_runs import (
    LatestFrame,
    PixelFrame,
    dataset_image,
    describe_model,
    pixel_frames,
    raster_start,
)
from latentlab.resources import bundled_pixel_models
from latentlab.services.foreground import RedrawYield
from latentlab.services.gate import Gate
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import REDRAW_MS, JobBridge
from latentlab.ui.pixels.controls import NO_IMAGE, CompleteControls, FieldLegend, ModelPicker, mode_combo, task_tabs
from latentlab.ui.pixels.views import CHANNEL_NAMES, DistributionPlot, PixelCanvas
from latentlab.ui.widgets.error_banner import ErrorBanner
from latentlab.ui.widgets.transport import GatedTransport

JOIN_TIMEOUT_S = 30.0
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)  # sub-pixels per second
DEFAULT_SPEED = 200
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


class PixelPanel(QWidget, GatedTransport):
    running_changed = Signal(bool)
    error_occurred = Signal(str)
    model_changed = Signal(str)       # the description line of the new model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = None
        self.model_path: Path | None = None
        self._offered_default = False
        self._known: np.ndarray | None = None      # uint8 [C, H, W] to complete
        self._job: GeneratorJob | None = None
        self._gate: Gate | None = None
        self._mailbox: LatestFrame | None = None
        self._retiring: dict[int, GeneratorJob] = {}  # stopped or one-result jobs, joined on their "done"
        self._last_id = 0
        self._run_id = self._field_id = self._dataset_id = -1  # the jobs whose messages are still wanted
        self._playing = False
        self.redraw_count = 0
        self.worker_threads = max(1, (os.cpu_count() or 2) - 1)
        self._build_widgets()
        self._connect()
        self._clear_state()
        self._speed_changed()
        self._update_enabled()

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.banner = ErrorBanner()
        self.picker = ModelPicker()
        self.model_info = self.picker.info
        self.count_spin = QSpinBox(minimum=1, maximum=16, value=4)
        self.count_spin.setToolTip("How many images to draw at once (one batch)")
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.mode_combo = mode_combo()
        self.task_tabs = task_tabs()
        self.complete_box = CompleteControls()
        self.complete_box.hide()
        self.rows_slider, self.image_caption = self.complete_box.rows_slider, self.complete_box.caption
        self.play_button, self.step_button, self.reset_button = (QPushButton(t) for t in ("Play", "Step", "Reset"))
        self.play_button.setToolTip("Play / pause the drawing")
        self.step_button.setToolTip("Draw one sub-pixel")
        self.reset_button.setToolTip("Start again with the settings above (images, seed, mode, rows kept)")
        self.speed_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=len(SPEEDS) - 1,
                                    value=SPEEDS.index(DEFAULT_SPEED))
        self.speed_slider.setMinimumWidth(70)
        self.speed_label = QLabel()
        self.fast_check = QCheckBox("As fast as possible")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m sub-pixels")
        self.canvas = PixelCanvas()
        self.plot = DistributionPlot()
        self.field_legend = FieldLegend()
        self._layout(self._form())
        self._controls = (self.count_spin, self.seed_spin, self.mode_combo,
                          self.task_tabs, self.play_button, self.step_button, self.reset_button,
                          self.speed_slider, self.fast_check)

    def _form(self) -> QGridLayout:
        form = QGridLayout()
        form.addWidget(self.picker, 0, 0, 2, 2)
        counts = QHBoxLayout()
        for widget in (self.count_spin, QLabel("Seed"), self.seed_spin):
            counts.addWidget(widget)
        counts.addStretch(1)
        form.addWidget(QLabel("Images"), 2, 0)
        form.addLayout(counts, 2, 1)
        form.addWidget(QLabel("Sampling"), 3, 0)
        form.addWidget(self.mode_combo, 3, 1)
        form.setColumnStretch(1, 1)
        return form

    def _layout(self, form: QGridLayout) -> None:
        """Short rows, so the panel fits a narrow dock; canvas and plot side by side only when wide."""
        buttons = QHBoxLayout()
        for widget in (self.play_button, self.step_button, self.reset_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        speed = QHBoxLayout()
        for widget in (QLabel("Speed"), self.speed_slider, self.speed_label, self.fast_check):
            speed.addWidget(widget)
        speed.addStretch(1)
        self.body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.body.addWidget(self.canvas, 3)
        self.body.addWidget(self.plot, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addWidget(self.task_tabs)
        layout.addWidget(self.complete_box)
        layout.addLayout(buttons)
        layout.addLayout(speed)
        layout.addWidget(self.progress)
        layout.addLayout(self.body, 1)
        layout.addWidget(self.field_legend)

    def _connect(self) -> None:
        self._bridge = JobBridge(self)
        self._redraw_yield = RedrawYield()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._draw)
        self.picker.path_chosen.connect(self.open_checkpoint)
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button.clicked.connect(self.step)
        self.reset_button.clicked.connect(self.reset)
        self.speed_slider.valueChanged.connect(self._speed_changed)
        self.fast_check.toggled.connect(self._speed_changed)
        self.task_tabs.currentChanged.connect(self._task_changed)
        self.rows_slider.valueChanged.connect(self._settings_changed)
        self.count_spin.valueChanged.connect(self._settings_changed)
        self.seed_spin.valueChanged.connect(self._settings_changed)
        self.mode_combo.activated.connect(self._settings_changed)
        self.complete_box.open_image_button.clicked.connect(self.open_image_dialog)
        self.complete_box.dataset_button.clicked.connect(self.take_dataset_image)
        self.canvas.pixel_clicked.connect(self.show_receptive_field)
        self.field_legend.hide_button.clicked.connect(self.hide_receptive_field)

    def resizeEvent(self, event) -> None:
        wide = event.size().width() > 1.1 * event.size().height()
        self.body.setDirection(QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom)
        super().resizeEvent(event)

    # ------------------------------------------------------------------ models
    def showEvent(self, event) -> None:
        """Shown for the first time without a model: load the first bundled pixel model, if any."""
        super().showEvent(event)
        if self.model is None and not self._offered_default:
            self._offered_default = True
            bundled = bundled_pixel_models()
            if bundled:
                self.open_checkpoint(bundled[0])

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load `path` as this panel's model; a bad file or a model that is not autoregressive is
        reported in the panel's banner and leaves the current model as it was."""
        path = Path(path).expanduser().resolve()
        try:
            model = latentlab.load(path)
        except (LatentLabError, OSError) as err:
            return self._fail(str(err))
        return self.set_model(model, path)

    def set_model(self, model, path: Path | None = None) -> bool:
        """Use `model` (already loaded, e.g. by the window) from now on; draws start paused at zero."""
        if not getattr(model, "is_autoregressive", False):
            name = getattr(model, "registry_name", type(model).__name__)
            return self._fail(f"{path or 'This model'}: a {name} model is not autoregressive; the pixel panel "
                              "shows PixelCNN, Gated PixelCNN and Row LSTM models (open latent models in the main "
                              "window)")
        self._retire_all()
        self.model, self.model_path = model, path
        self.banner.hide()
        if self._known is not None and self._known.shape != tuple(model.image_shape):
            self._known = None
            self.image_caption.setText(NO_IMAGE)
        self.complete_box.set_height(model.image_shape[1])
        self.picker.set_current(path, describe_model(model))
        self._update_enabled()
        self.reset()
        self.model_changed.emit(self.model_info.text())
        return True

    # ------------------------------------------------------------------ images to complete
    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image to complete", "", IMAGE_FILTER)
        if path:
            self.load_image(path)

    def load_image(self, path: str | Path) -> bool:
        """Preprocess an image file as the model's training data and make it the one to complete."""
        if self.model is None:
            return self._fail("Choose a pixel model first.")
        try:
            image = load_image_file(path, self._preprocessing())
        except LatentLabError as err:
            return self._fail(str(err))
        if image.shape != tuple(self.model.image_shape):
            return self._fail(f"{path}: preprocessed to {list(image.shape)}, but the model draws "
                              f"{list(self.model.image_shape)} images")
        self.set_known_image(image, Path(path).name)
        return True

    def set_known_image(self, image: np.ndarray, caption: str) -> None:
        """uint8 [C, H, W] (the model's image shape): complete it from the rows kept (Complete tab)."""
        self._known = np.ascontiguousarray(image, dtype=np.uint8)
        self.image_caption.setText(f"Completing: {caption}")
        self.banner.hide()
        if self.task_tabs.currentIndex() != 1:
            self.task_tabs.setCurrentIndex(1)  # resets
        else:
            self.reset()

    def take_dataset_image(self) -> None:
        """A random held-out image of the model's dataset, found on a worker (first use decodes it)."""
        if not self._dataset_spec():
            return
        meta, shape, seed = self.model.checkpoint_meta, tuple(self.model.image_shape), self.seed_spin.value()
        self.complete_box.dataset_button.setEnabled(False)
        self.image_caption.setText("Looking for the model's dataset…")
        self._dataset_id = self._start_side_job("dataset", lambda: dataset_image(meta, shape, seed))

    def _dataset_spec(self) -> str | None:
        """The model's training data as a dataset spec, when its checkpoint records one."""
        return getattr(self.model, "checkpoint_meta", {}).get("dataset", {}).get("spec")

    def _preprocessing(self) -> dict:
        """The training data's preprocessing, or (when the checkpoint records none) a centre crop to the
        model's size."""
        channels, height, _ = self.model.image_shape
        recorded = getattr(self.model, "checkpoint_meta", {}).get("preprocessing")
        return recorded or {"crop": "center", "size": height, "channels": channels, "resample": "bicubic"}

    def _task_changed(self, index: int) -> None:
        self.complete_box.setVisible(index == 1)
        self.reset()

    def _settings_changed(self, *_) -> None:
        """Images, seed, mode and rows kept apply on Reset; at once while nothing is drawn yet."""
        if self.model is not None:
            self.complete_box.show_rows(self.model.image_shape[1])
        if self._done == 0 and not self._playing and self.model is not None:
            self.reset()

    # ------------------------------------------------------------------ drawing control
    @property
    def done(self) -> int:
        """Sub-pixels drawn in the current run (those copied from a known image not counted)."""
        return self._done

    @property
    def total(self) -> int:
        """Sub-pixels the current run draws."""
        return self._total

    @property
    def known_image(self) -> tuple[np.ndarray, str] | None:
        """The image to complete (uint8 [C, H, W]) and its caption, or None."""
        caption = self.image_caption.text().removeprefix("Completing: ")
        return None if self._known is None else (self._known.copy(), caption)

    @property
    def images(self) -> np.ndarray | None:
        """uint8 [N, C, H, W]: the images as far as they are drawn (shown or about to be)."""
        return self._images

    def _ready(self) -> bool:
        """A job that can still draw, starting a fresh one when the last run has finished."""
        if self.model is None:
            return False
        if self._job is None:
            self.reset()
        return self._job is not None

    def reset(self) -> None:
        """Back to nothing drawn (or only the kept rows), with the current settings; paused."""
        self._retire()
        self._clear_state()
        if self.model is None:
            return
        completing = self.task_tabs.currentIndex() == 1
        if completing and self._known is None:
            self._update_enabled()  # nothing to complete yet: Play and Step wait for an image
            return
        shape = tuple(self.model.image_shape)
        known = self._known if completing else None
        start = raster_start(shape, self.rows_slider.value()) if completing else 0
        n = self.count_spin.value()
        self._start, self._total = start, int(np.prod(shape)) - start
        self._images = np.zeros((n, *shape), np.uint8) if known is None else self._start_images(n, known, start)
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self._start_run(n, known, start)

    def _start_run(self, n: int, known: np.ndarray | None, start: int) -> None:
        """The sampling job, started and waiting at its gate for Play or Step."""
        seed, mode, model, threads = self.seed_spin.value(), self.mode_combo.currentData(), self.model, self.worker_threads
        self._run_id = job_id = self._new_id()
        emit = self._bridge.to_gui(self._on_message)  # (job id, kind, payload)
        self._gate, self._mailbox = gate, mailbox = Gate(self._interval()), LatestFrame()
        self._job = GeneratorJob(lambda: pixel_frames(model, n, mode, seed, gate, threads, known, start),
                                 name="pixels", on_cancel=gate.stop, on_event=mailbox.put,
                                 on_error=lambda text: emit((job_id, "error", text)),
                                 on_done=lambda: emit((job_id, "done", None)))
        self._dirty = True
        self._update_enabled()
        self._timer.start()
        self._job.start()

    @staticmethod
    def _start_images(n: int, known: np.ndarray, start: int) -> np.ndarray:
        """n copies of `known` with the sub-pixels from `start` on blanked (as the sampler starts)."""
        channels, height, width = known.shape
        flat = known.transpose(1, 2, 0).reshape(-1).copy()
        flat[start:] = 0
        return np.repeat(flat.reshape(height, width, channels).transpose(2, 0, 1)[None], n, axis=0)

    def shutdown(self, timeout: float = JOIN_TIMEOUT_S) -> bool:
        """Stop every worker of the panel and wait for them (window close). True when all ended."""
        self._retire_all()
        ended = all([job.join(timeout) for job in self._retiring.values()])  # a list: join every one
        self._retiring.clear()
        self._timer.stop()
        return ended

    # ------------------------------------------------------------------ receptive field
    def show_receptive_field(self, tile: int, row: int, col: int) -> None:
        """Which pixels the prediction at (row, col) of image `tile` depends on, computed on a worker
        (tens of ms for a 32x32 model: too long for the GUI thread while a sampler also runs)."""
        if self.model is None or self._images is None:
            return
        self._selected = tile
        self.canvas.set_selected(tile)
        model, image = self.model, self._images[tile].copy()

        def compute():
            import torch

            torch.set_num_threads(1)
            yield analyse(model, row, col, 0, image)

        self._field_id = self._start_side_job("field", compute)
        self.field_legend.computing(row, col)

    def hide_receptive_field(self) -> None:
        self._field_id = -1
        self.canvas.set_overlay(None)
        self.field_legend.clear()

    def _show_field(self, field: ReceptiveField) -> None:
        self.canvas.set_overlay(self._selected, field)
        self.field_legend.show_field(field, self._selected + 1)

    @property
    def field_shown(self) -> bool:
        return self.canvas.has_overlay

    # ------------------------------------------------------------------ worker plumbing (GUI thread)
    def _new_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _start_side_job(self, kind: str, generator_fn) -> int:
        """A one-result job (receptive field, dataset image): its result arrives as (id, kind, result),
        a failure as (id, kind + "-error", message)."""
        job_id, emit = self._new_id(), self._bridge.to_gui(self._on_message)
        job = GeneratorJob(generator_fn, name=f"pixels-{kind}", on_event=lambda item: emit((job_id, kind, item)),
                           on_error=lambda text: emit((job_id, f"{kind}-error", text)),
                           on_done=lambda: emit((job_id, "done", None)))
        self._retiring[job_id] = job
        job.start()
        return job_id

    def _retire(self) -> None:
        """Stop the sampling job without waiting: it ends after its step in progress and is joined when
        its "done" message arrives (or by shutdown); its other late messages are dropped."""
        self._set_playing(False)
        if self._job is not None:
            self._job.cancel()
            self._retiring[self._run_id] = self._job
        self._job, self._gate, self._mailbox = None, None, None
        self._run_id = -1

    def _retire_all(self) -> None:
        self._retire()
        self._field_id = self._dataset_id = -1
        for job in self._retiring.values():
            job.cancel()

    def _on_message(self, message: tuple) -> None:
        job_id, kind, payload = message
        if kind == "done":
            self._job_done(job_id)
        elif kind == "field" and job_id == self._field_id:
            self._show_field(payload)
        elif kind == "dataset" and job_id == self._dataset_id:
            self._update_enabled()
            self.set_known_image(*payload)
        elif kind == "dataset-error" and job_id == self._dataset_id:
            self._update_enabled()
            self.image_caption.setText(NO_IMAGE)
            self._fail(f"No dataset image: {payload}")
        elif kind == "field-error" and job_id == self._field_id:
            self.hide_receptive_field()
            self._fail(f"The receptive field could not be computed: {payload}")
        elif kind == "error" and job_id == self._run_id:
            self._fail(f"Drawing stopped: {payload}")

    def _job_done(self, job_id: int) -> None:
        retired = self._retiring.pop(job_id, None)
        if retired is not None:
            retired.join(JOIN_TIMEOUT_S)  # its last message: it ends at once
        elif job_id == self._run_id and self._job is not None:  # the run finished (or failed)
            self._job.join(JOIN_TIMEOUT_S)
            self._job, self._gate = None, None
            self._set_playing(False)
            self._dirty = True

    def _fail(self, message: str) -> bool:
        self.banner.show_message(message)
        self.error_occurred.emit(message)
        return False

    # ------------------------------------------------------------------ state
    def _interval(self) -> float:
        return 0.0 if self.fast_check.isChecked() else 1.0 / SPEEDS[self.speed_slider.value()]

    def _speed_changed(self, *_) -> None:
        fast = self.fast_check.isChecked()
        self.speed_slider.setEnabled(self.model is not None and not fast)
        self.speed_label.setText("max" if fast else f"{SPEEDS[self.speed_slider.value()]} sub-pixels/s")
        if self._gate is not None:
            self._gate.set_interval(self._interval())

    def _update_enabled(self) -> None:
        usable = self.model is not None
        for widget in self._controls:
            widget.setEnabled(usable)
        can_draw = usable and not (self.task_tabs.currentIndex() == 1 and self._known is None)
        for widget in (self.play_button, self.step_button):
            widget.setEnabled(can_draw)
        for widget in (self.complete_box.open_image_button, self.rows_slider):
            widget.setEnabled(usable)
        self.complete_box.set_dataset_available(self._dataset_spec())
        self._speed_changed()

    def _clear_state(self) -> None:
        self._images: np.ndarray | None = None
        self._latest: PixelFrame | None = None
        self._done = self._total = self._start = 0
        self._selected = 0
        self._dirty = True
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.canvas.set_images(None)
        self.canvas.set_selected(0)
        self.plot.clear_data()
        self.hide_receptive_field()

    # ------------------------------------------------------------------ drawing (timer, GUI thread)
    def _draw(self) -> None:
        if self._redraw_yield.skip():  # the face under the handle is decoding: it is shown first
            return
        frame = self._mailbox.take() if self._mailbox is not None else None
        if frame is not None:
            self._latest, self._images, self._done = frame, frame.images, frame.done
            self._dirty = True
        if not self._dirty or self._images is None or not self.isVisible():
            return  # still dirty when hidden: drawn on the first tick after the panel is shown again
        self._dirty = False
        self.redraw_count += 1
        self.progress.setValue(self._done)
        latest = self._latest
        current = None if latest is None else latest.position[:2]
        drawn = self._start + self._done
        self.canvas.set_images(self._images, drawn=drawn, current=current)
        if latest is not None:
            self._show_distribution(latest)
        elif self._total:
            self.plot.set_title(f"Nothing drawn yet: {self._total} sub-pixels to go")

    def _show_distribution(self, frame: PixelFrame) -> None:
        row, col, channel = frame.position
        tile = min(self._selected, len(frame.probs) - 1)
        name = CHANNEL_NAMES[frame.images.shape[1]][channel]
        value = int(frame.images[tile, channel, row, col])
        caption = f"p(x | earlier) at row {row}, col {col}{'' if name == 'gray' else ', ' + name} · image #{tile + 1}"
        self.plot.set_distribution(frame.probs[tile], value, name, caption)
