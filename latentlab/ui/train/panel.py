"""The training panel: settings, Start / Pause / Resume / Cancel, progress, live curves, latent map, previews.

The run is a `trainers.loop.Trainer` generator driven by a `GeneratorJob` on a worker thread. The
worker only sends (job id, kind, payload) messages through the `JobBridge` (queued to the GUI
thread, carrying owned Python / numpy payloads); the GUI thread stores the latest state and a QTimer
redraws at most ~30 Hz, so however fast steps come the window stays responsive. Only the GUI thread
touches Qt and pyqtgraph items.

Signals: `model_trained(str)` with the checkpoint path when a run ends (completed, or stopped by
Cancel: that checkpoint is resumable and loadable); `error_occurred(str)` when a run fails (the
message is also shown in the panel); `running_changed(bool)`. Call `shutdown()` from the window's
closeEvent: it cancels (a run in progress writes its resumable checkpoint) and joins the worker.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from latentlab.analysis.projection import LinearProjection
from latentlab.errors import LatentLabError
from latentlab.services.collector import collector_paused
from latentlab.services.jobs import GeneratorJob, JobCancelled
from latentlab.ui.bridge import REDRAW_MS, JobBridge
from latentlab.ui.train.form import TrainingForm
from latentlab.ui.train.preview_images import (PREVIEW_WIDTH, SAMPLE_COLUMNS, ReadyPreview, ready_preview,
                                               reserved_height)
from latentlab.ui.widgets.steady_axes import cache_axes, fit_xy_with_slack, fit_y_with_slack
from trainers.events import CheckpointSaved, EpochEnd, Failed, Finished, Preview, Step
from trainers.loop import PREVIEW_RECONSTRUCTIONS, PREVIEW_SAMPLES, Trainer

SHOWN_TERMS = ("loss", "recon", "kl", "mse")
JOIN_TIMEOUT_S = 30.0


def _ready(event):
    """Worker thread: a Preview becomes a ReadyPreview (its images made here, off the GUI thread)."""
    return ready_preview(event) if isinstance(event, Preview) else event


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainingPanel(QWidget):
    model_trained = Signal(str)
    error_occurred = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = TrainingForm()
        self.start_button, self.pause_button = QPushButton("Start"), QPushButton("Pause")
        self.resume_button, self.cancel_button = QPushButton("Resume"), QPushButton("Cancel")
        self.phase_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.status_label = QLabel("")
        self.saved_label = QLabel("")
        self.notes_label = QLabel("")  # what the run noted while preparing (e.g. unreadable images left out)
        self.notes_label.hide()
        self.error_label = QLabel("")
        self.save_elsewhere_button = QPushButton("Save elsewhere…")  # after a save failed mid-run
        self.save_elsewhere_button.hide()
        for label in (self.status_label, self.saved_label, self.notes_label, self.error_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error_label.hide()

        self.loss_plot = pg.PlotWidget(background="w", title="<span style='color:#333'>Loss</span>")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend(labelTextColor=(40, 40, 40))
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen((100, 150, 255, 140), width=1),
                                               name="train (per step)")
        self.train_curve.setDownsampling(auto=True)
        self.train_curve.setClipToView(True)
        self.held_out_curve = self.loss_plot.plot([], [], pen=None, symbol="o", symbolSize=8,
                                                  symbolBrush=(230, 120, 30), name="held-out (per epoch)")
        # Steps 0 .. total on x and y with slack (`_draw`): the axes stay still while steps arrive
        self.loss_plot.getPlotItem().disableAutoRange()
        self._x_total: int | None = None  # the run length the steps axis spans
        self.latent_plot = pg.PlotWidget(background="w",
                                         title="<span style='color:#333'>Latent map (held-out faces)</span>")
        self.latent_scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(60, 160, 90, 160))
        self.latent_plot.addItem(self.latent_scatter)
        self.latent_plot.getPlotItem().disableAutoRange()  # ranges with slack (`_draw_preview`)
        self.samples_label, self.recon_label = QLabel(), QLabel()
        # Room for the previews from the start: the first one would otherwise re-lay out the panel and
        # redraw both plots' axes in one pass (a stall over 50 ms in `bench heartbeat`)
        for label, rows, columns in ((self.samples_label, math.ceil(PREVIEW_SAMPLES / SAMPLE_COLUMNS), SAMPLE_COLUMNS),
                                     (self.recon_label, 2, PREVIEW_RECONSTRUCTIONS)):
            label.setMinimumSize(PREVIEW_WIDTH, reserved_height(rows, columns))
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        left = QVBoxLayout()
        for item in (self.form, buttons, self.phase_label, self.progress, self.status_label, self.saved_label,
                     self.notes_label, self.error_label, self.save_elsewhere_button):
            (left.addLayout if isinstance(item, QHBoxLayout) else left.addWidget)(item)
        left.addStretch(1)
        for plot in (self.loss_plot, self.latent_plot):
            plot.setMinimumSize(170, 170)
            plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
            cache_axes(plot.getPlotItem())
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 3)
        plots.addWidget(self.latent_plot, 2)
        previews = QHBoxLayout()
        for caption, label in (("Samples from the prior", self.samples_label),
                               ("Held-out images / reconstructions", self.recon_label)):
            column = QVBoxLayout()
            column.addWidget(QLabel(caption))
            column.addWidget(label)
            column.addStretch(1)
            previews.addLayout(column)
        previews.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(plots, 1)
        right.addLayout(previews)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)

        self._bridge = JobBridge(self)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._draw)
        self._job: GeneratorJob | None = None
        self._threads: int | None = None
        self._job_id = 0
        self._config = None
        self._reset_run_state()
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_elsewhere_button.clicked.connect(self._save_elsewhere_dialog)
        self._trainer: Trainer | None = None  # the last run's, kept while its model may still need saving
        self._set_buttons("idle")

    # ------------------------------------------------------------------ public API
    def set_dataset_spec(self, spec: str) -> None:
        self.form.set_dataset_spec(spec)

    def set_options(self, **options) -> None:
        """See `TrainingForm.set_options` (model, size, latent, epochs, batch, lr, limit, out, max_steps, ...)."""
        self.form.set_options(**options)

    @property
    def is_running(self) -> bool:
        return self._job is not None

    @property
    def steps_done(self) -> int:
        return self._step.step if self._step is not None else 0

    @property
    def training_threads(self) -> int:
        """Torch threads for a run started from the window: all cores but one (at least one)."""
        return self._threads if self._threads is not None else max(1, (os.cpu_count() or 2) - 1)

    @training_threads.setter
    def training_threads(self, value: int | None) -> None:
        self._threads = value

    def start(self) -> None:
        if self._job is not None:
            return
        self.error_label.hide()
        self.notes_label.hide()
        self.save_elsewhere_button.hide()
        self.saved_label.setText("")
        self.form.refresh_output_folder()
        self._job_id += 1
        job_id, send = self._job_id, self._bridge.to_gui(self._on_message)  # (job id, kind, payload)
        job: GeneratorJob | None = None

        def data_progress(done: int, total: int) -> None:  # worker thread
            if job is not None and job.cancelled:
                raise JobCancelled()  # stop decoding at once: nothing is saved yet, nothing is lost
            send((job_id, "data", (done, total)))

        try:
            config = self.form.build_config()
            trainer = Trainer(config, data_progress=data_progress)
        except LatentLabError as err:
            self._show_error(str(err))
            return
        threads = self.training_threads

        def run_with_threads():
            # OpenMP's thread count is per thread: this limits training's intra-op threads only, and
            # leaves a core to the window (and the drag decoder) on the GUI thread.
            torch.set_num_threads(threads)
            with collector_paused():
                # torch.optim imports torch._dynamo when the first optimiser is made (about 1 s, 120,000
                # objects); collections during that import stalled the window for up to 150 ms.
                importlib.import_module("torch._dynamo")
            noted = False
            for event in trainer.run():
                if not noted and trainer.notes:  # notes are complete once the run yields its first event
                    noted = True
                    send((job_id, "notes", list(trainer.notes)))
                yield event

        job = GeneratorJob(run_with_threads, name="training", on_cancel=trainer.request_stop,
                           on_event=lambda event: send((job_id, "event", _ready(event))),
                           on_error=lambda text: send((job_id, "error", text)),
                           on_done=lambda: send((job_id, "done", None)))
        self._config = config
        self._trainer = trainer
        self._reset_run_state()
        self._job = job
        self.phase_label.setText("Preparing data…")
        self.progress.setRange(0, 0)  # busy until the first progress report
        self._set_buttons("running")
        self.running_changed.emit(True)
        self._timer.start()
        job.start()

    def pause(self) -> None:
        if self._job is not None and not self._job.cancelled:
            self._job.pause()
            self._set_buttons("paused")
            self._dirty = True

    def resume(self) -> None:
        if self._job is not None and not self._job.cancelled:
            self._job.resume()
            self._set_buttons("running")
            self._dirty = True

    def cancel(self) -> None:
        """Stop after the current step; the run writes a resumable checkpoint (emitted via model_trained)."""
        if self._job is not None:
            self._job.cancel()
            self._set_buttons("stopping")
            self.phase_label.setText("Stopping: saving a resumable checkpoint…")

    def shutdown(self, timeout: float = JOIN_TIMEOUT_S) -> bool:
        """For the window's closeEvent: cancel any run (it writes its resumable checkpoint), wait for
        the worker, and drop its late messages (no signals after this). True when the worker ended."""
        job = self._job
        if job is None:
            return True
        job.cancel()
        ended = job.join(timeout)
        self._job_id += 1  # messages still queued from that run are ignored
        self._job = None
        self._timer.stop()
        self._set_buttons("idle")
        return ended

    # ------------------------------------------------------------------ worker messages (GUI thread)
    def _reset_run_state(self) -> None:
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._epoch_steps: list[int] = []
        self._epoch_losses: list[float] = []
        self._step: Step | None = None
        self._data: tuple[int, int] | None = None
        self._preview: ReadyPreview | None = None
        self._projection: LinearProjection | None = None
        self._ended = False
        self._dirty = True
        self._x_total = None  # a new run sets the loss plot's steps axis afresh
        self.train_curve.setData([], [])
        self.held_out_curve.setData([], [])

    def _on_message(self, message: tuple) -> None:
        job_id, kind, payload = message
        if job_id != self._job_id:
            return  # a late message from an earlier run
        self._dirty = True
        if kind == "data":
            self._data = payload
        elif kind == "event":
            self._on_event(payload)
        elif kind == "notes":
            self.notes_label.setText("\n".join(f"Note: {note}" for note in payload))
            self.notes_label.show()
        elif kind == "error":
            self._ended = True
            self._show_error(payload)
        elif kind == "done":
            self._on_done()

    def _on_event(self, event) -> None:
        if isinstance(event, Step):
            self._step = event
            self._steps.append(event.step)
            self._losses.append(event.losses.get("loss", float("nan")))
        elif isinstance(event, EpochEnd) and "loss" in event.held_out:
            self._epoch_steps.append(event.step)
            self._epoch_losses.append(event.held_out["loss"])
        elif isinstance(event, ReadyPreview):
            self._preview = event
        elif isinstance(event, CheckpointSaved):
            self.saved_label.setText(f"Checkpoint at step {event.step}: {event.path}")
        elif isinstance(event, Finished):
            self._ended = True
            if event.checkpoint is not None:
                what = ("Stopped at step {s} (resumable)" if event.reason == "stopped"
                        else "Done after {s} steps").format(s=event.step)
                self.saved_label.setText(f"{what}. Saved to {event.checkpoint}")
                self.model_trained.emit(str(event.checkpoint))
        elif isinstance(event, Failed):
            self._ended = True
            self._show_error(event.message)
            if self._trainer is not None and self._trainer.unsaved:
                self.save_elsewhere_button.show()

    def _on_done(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.join(JOIN_TIMEOUT_S)  # it has sent its last message: ends at once
            if job.cancelled and not self._ended:
                self.saved_label.setText("Cancelled before training started; nothing to save.")
        self._draw()
        self._timer.stop()
        self.phase_label.setText("Ready")
        self._set_buttons("idle")
        self.running_changed.emit(False)

    def save_elsewhere(self, folder: str | Path) -> Path | None:
        """Write the model a failed save left in memory to `folder` (a resumable run); the message on
        failure names the folder and the reason. Returns the checkpoint written, or None."""
        trainer = self._trainer
        if trainer is None or not trainer.unsaved or self._job is not None:
            return None
        try:
            saved = trainer.save_to(folder)
        except LatentLabError as err:
            self._show_error(str(err))
            return None
        self.error_label.hide()
        self.save_elsewhere_button.hide()
        self.saved_label.setText(f"Saved to {saved} (resumable)")
        self.model_trained.emit(str(saved))
        return saved

    def _save_elsewhere_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the trained model in a folder")
        if folder:
            self.save_elsewhere(folder)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.error_occurred.emit(text)

    def _set_buttons(self, state: str) -> None:
        self.start_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.cancel_button.setEnabled(state in ("running", "paused"))
        self.form.setEnabled(state == "idle")

    # ------------------------------------------------------------------ drawing (timer, GUI thread)
    def _draw(self) -> None:
        job = self._job
        if job is not None and job.is_paused:  # the worker blocks only once its current step is done
            self.phase_label.setText("Paused" if job.is_blocked else "Pausing after this step…")
        if not self._dirty:
            return
        self._dirty = False
        if self._preview is not None:
            # A preview alone in this tick, the curves at the next: a preview, an epoch's held-out point
            # and new steps arrive together, and both plots repainting in one pass held the window for
            # over 50 ms (`bench heartbeat`).
            preview, self._preview = self._preview, None
            self._draw_preview(preview)
            self._dirty = self._step is not None or self._data is not None
            return
        step = self._step
        if step is None and self._data is not None:
            done, total = self._data
            if job is not None and not job.cancelled and not job.is_paused:
                self.phase_label.setText(f"Decoding images… {done}/{total}")
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
        elif step is not None:
            if job is not None and not job.cancelled and not job.is_paused:
                self.phase_label.setText("Training")
            self.progress.setRange(0, step.total_steps)
            self.progress.setValue(step.step)
            self.status_label.setText(self._status_text(step))
            self.train_curve.setData(np.asarray(self._steps), np.asarray(self._losses))
            self.held_out_curve.setData(np.asarray(self._epoch_steps), np.asarray(self._epoch_losses))
            if self._x_total != step.total_steps:
                self._x_total = step.total_steps
                self.loss_plot.setXRange(0, step.total_steps, padding=0.02)
            fit_y_with_slack(self.loss_plot.getPlotItem(), np.concatenate([self._losses, self._epoch_losses]))

    def _status_text(self, step: Step) -> str:
        epochs = self._config.epochs if self._config is not None else 0
        terms = "  ".join(f"{k} {step.losses[k]:.4g}" for k in SHOWN_TERMS if k in step.losses)
        batch = self._config.batch_size if self._config is not None else 0
        eta = (step.total_steps - step.step) * batch / max(step.images_per_sec, 1e-9)
        return (f"epoch {step.epoch + 1}/{epochs} · step {step.step}/{step.total_steps}\n{terms}\n"
                f"{step.images_per_sec:.0f} images/s · ETA {_duration(eta)}")

    def _draw_preview(self, ready: ReadyPreview) -> None:
        """Show a preview prepared on the worker (preview_images.py): only pixmaps and points are made here."""
        preview = ready.preview
        if ready.projection is not None:
            projection = self._aligned(ready.projection)
            points = projection.project(preview.codes)
            self.latent_scatter.setData(pos=points)
            fit_xy_with_slack(self.latent_plot.getPlotItem(), points)
            for side, name, share in zip(("bottom", "left"), projection.labels, projection.explained or (None, None)):
                self.latent_plot.setLabel(side, name if share is None else f"{name} ({share:.0%})")
        self.samples_label.setPixmap(QPixmap.fromImage(ready.samples))
        if ready.reconstructions is not None:
            self.recon_label.setPixmap(QPixmap.fromImage(ready.reconstructions))
            self.recon_label.setToolTip("top: held-out images; bottom: their reconstructions")

    def _aligned(self, projection: LinearProjection) -> LinearProjection:
        """Flip PCA axes to agree with the previous map, so the cloud does not mirror between previews."""
        previous, self._projection = self._projection, projection
        if previous is None or previous.axes.shape != projection.axes.shape:
            return projection
        signs = np.where(np.sum(previous.axes * projection.axes, axis=1) < 0, -1.0, 1.0)
        self._projection = dataclasses.replace(projection, axes=projection.axes * signs[:, None])
        return self._projection
