"""The chain panel: N latent Markov chains (decode → re-encode, Creswell et al. 2016) run step by step
or animated, showing codes moving out of the gaps of P̂(Z).

The chain is `sampling.latent_chain` (infinite) driven by a `GeneratorJob` on a worker thread. The
worker asks a `Gate` before every transition: Step grants exactly one (a credit consumed at the
moment of the pull, so two quick Steps are two transitions), Play grants them at the chosen rate (the
worker sleeps on the gate, so Pause and a speed change take effect at once), Pause grants none; the
worker is then blocked between two steps. Each transition goes to the GUI thread as one owned-numpy
`Frame` through the panel's `JobBridge`; the GUI keeps the latest frame plus the short histories the
plots, filmstrip and trails need, and a QTimer redraws at most ~30 Hz, only when something changed
(GAN Lab: computation and redraw at different rates). Settings (N, mode, start, seed) apply on Reset.

A model opens on its measured default setting (`explorer.chain_defaults`: mode, debiasing and the
step count after which Play pauses by itself), which the panel states with its source.
"""

from __future__ import annotations

import math
import os
from collections import deque

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.analysis.density import expected_norm
from latentlab.explorer.chain_defaults import NOT_MEASURED, ChainDefault, chain_default
from latentlab.explorer.chain_runs import Frame, chain_frames
from latentlab.explorer.session import ExplorerSession
from latentlab.services.foreground import RedrawYield
from latentlab.services.gate import Gate
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import REDRAW_MS, JobBridge
from latentlab.ui.chain.plots import ChainPlots
from latentlab.ui.widgets.tile_grid import TileGrid
from latentlab.ui.widgets.transport import GatedTransport

TRAIL_STEPS = 50        # codes per chain kept for the map's trails
FILM_STEPS = 12         # the selected chain's last decodes
HISTORY_STEPS = 5000    # points kept in the curves
JOIN_TIMEOUT_S = 30.0
MODES = (("mean", "Mean (decode mean → encode mean, deterministic)"),
         ("stochastic", "Stochastic (sample decoder → sample encoder: converges to P̂(Z))"),
         ("mean-decode", "Mean decode → sampled encode (decoder mean, then a posterior draw)"))
STARTS = (("prior", "Prior samples z ~ N(0, I)"), ("current", "The current face (N copies)"),
          ("p_hat", "Samples of P̂(Z) (fitted to the encoded faces)"))
NO_ENCODER = "This model has no encoder, so the latent chain (decode → re-encode) does not apply."
NO_MODEL = "Load a model to run latent chains."
P_HAT_START_TIP = ("Start from draws of P̂(Z): a Gaussian mixture fitted to this model's encoded training faces "
                   "(the chain's stationary distribution in stochastic mode), seeded by Seed")
NO_ATLAS = ("this model carries no atlas of encoded training faces, so P̂(Z) cannot be fitted "
            "(bundle the checkpoint with python -m latentlab.bundle to add one)")
DEBIAS_TIP = ("Debiased chain z_(t+1) = T(z_t) − b, where b is the mean move of the encoded training faces in one "
              "transition (0 if P̂(Z) were stationary). It removes the chain's systematic drift (toward darker "
              "faces for the bundled VAE's stochastic chain); measured in docs/chain-study.md. Applies on Reset")


class ChainPanel(QWidget, GatedTransport):
    trails_changed = Signal(object)   # float32 [N, T, D]: each chain's codes over the last <= 50 steps
    running_changed = Signal(bool)    # playing or not
    error_occurred = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ExplorerSession | None = None
        self._current: np.ndarray | None = None
        self._job: GeneratorJob | None = None
        self._gate: Gate | None = None
        self._retiring: dict[int, GeneratorJob] = {}
        self._job_id = 0
        self._first_step = 0  # the step the chains now running started at (a resumed session's)
        self._playing = False
        self._reference: float | None = None
        self._selected = 0
        self.redraw_count = 0
        self.worker_threads = max(1, (os.cpu_count() or 2) - 1)

        self.chains_spin = QSpinBox(minimum=1, maximum=256, value=16)
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.mode_combo, self.start_combo = QComboBox(), QComboBox()
        for combo, items in ((self.mode_combo, MODES), (self.start_combo, STARTS)):
            for key, text in items:
                combo.addItem(text, key)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.play_button, self.step_button, self.reset_button = (QPushButton(t) for t in ("Play", "Step", "Reset"))
        self.play_button.setToolTip("Play / pause the chains (Space)")
        self.step_button.setToolTip("One transition: decode, then re-encode (Right)")
        self.reset_button.setToolTip("Back to step 0, with starting points from the settings (R)")
        self.speed_slider = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=30, value=5)
        self.speed_slider.setMinimumWidth(70)
        self.speed_label = QLabel()
        self.fast_check = QCheckBox("As fast as possible")
        self.debias_check = QCheckBox("Debias")
        self.debias_check.setToolTip(DEBIAS_TIP)
        self.pause_spin = QSpinBox(minimum=0, maximum=10000, value=0)
        self.pause_spin.setSpecialValueText("never")
        self.pause_spin.setToolTip("Play pauses by itself after this many steps from step 0 (the model's measured "
                                   "best step count by default); Step or Play again goes on")
        self.pause_spin.valueChanged.connect(self._pause_changed)
        self.default_label = QLabel(wordWrap=True)
        self.default_label.setStyleSheet("color: #555;")
        self.default_label.hide()
        self.default_setting: ChainDefault = NOT_MEASURED
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet("color: #666;")
        self.busy_label.hide()
        self.step_label = QLabel("Step 0")
        self.step_label.setStyleSheet("font-weight: bold;")
        self.note_label, self.error_label = QLabel(NO_MODEL), QLabel()
        for label in (self.note_label, self.error_label):
            label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error_label.hide()
        self.left_label = QLabel(wordWrap=True)  # the chains have left P̂(Z)
        self.left_label.setStyleSheet("color: #b45309; font-weight: bold;")
        self.left_label.hide()
        self.grid, self.film = TileGrid(), TileGrid(selectable=False)
        self.film.setFixedHeight(100)
        self.film_label = QLabel("Selected chain (click a face above)", wordWrap=True)
        self.plots = ChainPlots()

        form = QGridLayout()
        counts = QHBoxLayout()
        for widget in (self.chains_spin, QLabel("Seed"), self.seed_spin):
            counts.addWidget(widget)
        counts.addStretch(1)
        form.addWidget(QLabel("Chains"), 0, 0)
        form.addLayout(counts, 0, 1)
        for row, (name, combo) in enumerate((("Start", self.start_combo), ("Mode", self.mode_combo)), start=1):
            form.addWidget(QLabel(name), row, 0)
            form.addWidget(combo, row, 1)
        options = QHBoxLayout()
        for widget in (self.debias_check, QLabel("Pause after"), self.pause_spin, QLabel("steps")):
            options.addWidget(widget)
        options.addStretch(1)
        form.addLayout(options, 3, 1)
        form.setColumnStretch(1, 1)
        buttons = QHBoxLayout()  # two short rows, so the panel fits a narrow column
        for widget in (self.play_button, self.step_button, self.reset_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.step_label)
        speed = QHBoxLayout()
        for widget in (QLabel("Speed"), self.speed_slider, self.speed_label, self.fast_check):
            speed.addWidget(widget)
        speed.addStretch(1)
        chains = QVBoxLayout()
        chains.addWidget(self.grid, 1)
        chains.addWidget(self.film_label)
        chains.addWidget(self.film)
        body = QHBoxLayout()
        body.addLayout(chains, 1)
        body.addWidget(self.plots, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(speed)
        for item in (self.default_label, self.note_label, self.busy_label, self.error_label, self.left_label):
            layout.addWidget(item)
        layout.addLayout(body, 1)
        self._controls = (self.chains_spin, self.seed_spin, self.mode_combo, self.start_combo, self.play_button,
                          self.step_button, self.reset_button, self.speed_slider, self.fast_check, self.pause_spin)
        self._p_hat_index = self.start_combo.findData("p_hat")

        self._bridge = JobBridge(self)
        self._redraw_yield = RedrawYield()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._draw)
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button.clicked.connect(self.step)
        self.reset_button.clicked.connect(self.reset)
        self.speed_slider.valueChanged.connect(self._speed_changed)
        self.fast_check.toggled.connect(self._speed_changed)
        self.grid.tile_clicked.connect(self.select_chain)
        self._clear_state()
        self._speed_changed()
        self._update_enabled()

    # ------------------------------------------------------------------ public API
    def set_session(self, session: ExplorerSession | None) -> None:
        """Stop any chain and, for a model with an encoder, start fresh chains at step 0 (paused), on the
        model's measured default setting."""
        self._retire()
        self._session, self._reference, self._current = session, None, None
        self._clear_state()
        self._update_enabled()
        self.apply_default(chain_default(session.path, session.model_name) if self._usable else NOT_MEASURED)
        self.grid.set_images(None)
        self.film.set_images(None)
        self.trails_changed.emit(np.zeros((0, 0, session.latent_dim if session else 0), np.float32))  # clear
        if self._usable and self.isVisible():
            self.reset()
        # Hidden (another tab in front, as at launch), the chains start when the panel is first shown,
        # or on the first Play / Step: their set-up (P̂ fit, debias measurement: seconds of CPU) would
        # otherwise compete with the window's first paint and hold up closing it.

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._usable and self._job is None:
            self.reset()

    def apply_default(self, default: ChainDefault) -> None:
        """Set mode, debiasing and the pause step count from `default` and say where they come from
        (applies from the next Reset; set_session resets right after)."""
        self.default_setting = default
        index = self.mode_combo.findData(default.mode)
        self.mode_combo.setCurrentIndex(max(index, 0))
        self.debias_check.setChecked(default.debias and self.debias_check.isEnabled())
        self.pause_spin.setValue(default.pause_after)
        self.default_label.setText(default.describe())
        self.default_label.setVisible(self._usable)

    def set_current_code(self, z: np.ndarray) -> None:
        """The code under the drag handle; chains start from N copies of it on the next Reset."""
        self._current = np.asarray(z, dtype=np.float32).reshape(-1).copy()

    @property
    def step_count(self) -> int:
        return self._latest.step if self._latest is not None else 0

    @property
    def latest_codes(self) -> np.ndarray | None:
        """[N, D]: the chains' codes at the latest step received."""
        return None if self._latest is None else self._latest.z

    @property
    def trail_codes(self) -> np.ndarray | None:
        """float32 [N, T, D]: each chain's codes over its last T <= 50 steps (None before the first step)."""
        return np.stack(self._trail, axis=1) if self._trail else None

    def _ready(self) -> bool:
        """A job that can take a step, starting one (paused, at step 0) when there is none."""
        if not self._usable:
            return False
        if self._job is None:
            self.reset()
        return True

    def reset(self) -> None:
        """Back to step 0 with new starting points from the current settings (chains paused)."""
        self._retire()
        self._clear_state()
        if not self._usable:
            return
        n, seed = self.chains_spin.value(), self.seed_spin.value()
        session = self._session
        start = self.start_combo.currentData()
        if start == "current":
            current = self._current if self._current is not None else np.zeros(session.latent_dim, np.float32)
            z0 = np.repeat(current[None], n, axis=0)
        elif start == "p_hat" and self._has_atlas:
            z0 = lambda: session.p_hat_draws(n, seed)  # noqa: E731 -- on the worker: the first use fits P̂(Z)
        else:
            z0 = session.prior_samples(n, seed=seed).astype(np.float32)
        self._start(z0)

    def resume(self, codes: np.ndarray, step: int) -> None:
        """Continue chains whose state after `step` transitions was `codes` [N, D] (a saved session),
        with the current mode, seed and debias settings; paused."""
        self._retire()
        self._clear_state()
        if not self._usable:
            return
        codes = np.asarray(codes, dtype=np.float32)
        self.chains_spin.setValue(len(codes))
        self._start(codes, first_step=step)

    def _start(self, z0, first_step: int = 0) -> None:
        session, seed = self._session, self.seed_spin.value()
        debias = self.debias_check.isChecked() and self.debias_check.isEnabled()
        self._job_id += 1
        job_id, emit = self._job_id, self._bridge.to_gui(self._on_message)  # (job id, kind, payload)
        self._gate = gate = Gate(self._interval())
        mode, threads = self.mode_combo.currentData(), self.worker_threads
        want_reference = self._reference is None
        self._job = GeneratorJob(lambda: chain_frames(session, z0, mode, seed, gate, threads, want_reference, debias,
                                                      first_step),
                                 name="chain", on_cancel=gate.stop,
                                 on_event=lambda item: emit((job_id, *item)),
                                 on_error=lambda text: emit((job_id, "error", text)),
                                 on_done=lambda: emit((job_id, "done", None)))
        self._debiased = debias
        self._first_step = first_step
        self._pause_changed(self.pause_spin.value())
        self._timer.start()
        self._job.start()

    def request_redraw(self) -> None:
        """Redraw on the next timer tick even without a new step (used to measure redraw capacity)."""
        self._dirty = True

    def shutdown(self, timeout: float = JOIN_TIMEOUT_S) -> bool:
        """Stop every chain worker and wait for it (window close, model change). True when all ended."""
        self._retire()
        ended = all([job.join(timeout) for job in self._retiring.values()])  # a list: join every one
        self._retiring.clear()
        self._timer.stop()
        return ended

    def select_chain(self, index: int) -> None:
        self._selected = index
        self.grid.set_selected(index)
        self._dirty = True

    # ------------------------------------------------------------------ state (GUI thread)
    @property
    def _usable(self) -> bool:
        return self._session is not None and self._session.has_encoder

    @property
    def _has_atlas(self) -> bool:
        return self._session is not None and self._session.atlas_codes is not None

    @property
    def debiased(self) -> bool:
        """The chains now running are the debiased chain (set on Reset)."""
        return self._debiased

    def _interval(self) -> float:
        return 0.0 if self.fast_check.isChecked() else 1.0 / self.speed_slider.value()

    def _pause_changed(self, value: int) -> None:
        if self._gate is not None:  # counted from step 0 of the chains now running (the gate counts from its start)
            self._gate.pause_after(value - self._first_step if value > max(self.step_count, self._first_step) else None)

    def _speed_changed(self, *_) -> None:
        self.speed_slider.setEnabled(self._usable and not self.fast_check.isChecked())
        self.speed_label.setText("max" if self.fast_check.isChecked() else f"{self.speed_slider.value()} steps/s")
        if self._gate is not None:
            self._gate.set_interval(self._interval())

    def _update_enabled(self) -> None:
        for widget in self._controls:
            widget.setEnabled(self._usable)
        # Options that need P̂(Z) stay visible for a model without an atlas, disabled, saying why.
        usable_p_hat = self._usable and self._has_atlas
        why = (NO_MODEL if self._session is None else NO_ENCODER if not self._session.has_encoder
               else f"Unavailable: {NO_ATLAS}.")
        item = self.start_combo.model().item(self._p_hat_index)
        item.setEnabled(usable_p_hat)
        self.start_combo.setItemData(self._p_hat_index, P_HAT_START_TIP if usable_p_hat else why,
                                     Qt.ItemDataRole.ToolTipRole)
        if not usable_p_hat and self.start_combo.currentData() == "p_hat":
            self.start_combo.setCurrentIndex(0)
        self.debias_check.setEnabled(usable_p_hat)
        self.debias_check.setToolTip(DEBIAS_TIP if usable_p_hat else
                                     why.replace("P̂(Z) cannot be fitted", "the drift b cannot be measured"))
        self._speed_changed()
        note = NO_MODEL if self._session is None else None if self._session.has_encoder else NO_ENCODER
        self.note_label.setText(note or "")
        self.note_label.setVisible(note is not None)

    def _retire(self) -> None:
        """Stop the current job without waiting: it ends after its step in progress, and is joined
        when its "done" message arrives (or by shutdown). Its other late messages are dropped."""
        self._set_playing(False)
        if self._job is not None:
            self._job.cancel()
            self._retiring[self._job_id] = self._job
        self._job, self._gate = None, None
        self._job_id += 1

    def _clear_state(self) -> None:
        self._debiased = False
        self.busy_label.hide()
        self._latest: Frame | None = None
        self._history = {key: deque(maxlen=HISTORY_STEPS)
                         for key in ("step", "gap", "change", "intensity", "log_p_hat", "z_norm")}
        self._p_hat_floor: float | None = None
        self.left_label.hide()
        self._trail: deque[np.ndarray] = deque(maxlen=TRAIL_STEPS)
        self._film: deque[tuple[int, np.ndarray]] = deque(maxlen=FILM_STEPS)
        self._step0_intensity: float | None = None
        self._new_codes = False
        self._dirty = True
        self.error_label.hide()
        self._selected = 0
        self.grid.set_selected(0)

    def _on_message(self, message: tuple) -> None:
        job_id, kind, payload = message
        if kind == "done" and job_id in self._retiring:
            self._retiring.pop(job_id).join(JOIN_TIMEOUT_S)  # its last message: it ends at once
        if job_id != self._job_id:
            return  # a late message from a retired job
        self._dirty = True
        if kind == "frame":
            self._add_frame(payload)
        elif kind == "gap0" and payload is not None and self._history["step"]:
            self._history["gap"][0] = float(np.mean(payload))
        elif kind == "logp0" and self._history["step"]:
            log_p_hat, self._p_hat_floor = payload
            if log_p_hat is not None:
                self._history["log_p_hat"][0] = float(np.mean(log_p_hat))
        elif kind == "reference":
            self._reference = payload
        elif kind == "status":
            self.busy_label.setText(payload or "")
            self.busy_label.setVisible(bool(payload))
        elif kind == "error":
            self.error_label.setText(f"The chain stopped: {payload}")
            self.error_label.show()
            self.error_occurred.emit(payload)
        elif kind == "done":
            self._job.join(JOIN_TIMEOUT_S)
            self._job, self._gate = None, None
            self._set_playing(False)

    def _add_frame(self, frame: Frame) -> None:
        self._latest = frame
        for key, value in (("step", frame.step), ("gap", np.nan if frame.gap is None else np.mean(frame.gap)),
                           ("change", np.mean(frame.change)), ("intensity", np.mean(frame.intensity)),
                           ("log_p_hat", np.nan if frame.log_p_hat is None else np.mean(frame.log_p_hat)),
                           ("z_norm", np.nan if frame.z_norm is None else np.mean(frame.z_norm))):
            self._history[key].append(float(value))
        if self._step0_intensity is None:  # the first frame: step 0, or the step a saved session resumed at
            self._step0_intensity = float(np.mean(frame.intensity))
        if self._playing and frame.step == self.pause_spin.value():
            self._set_playing(False)  # the gate paused the worker at this step (Gate.pause_after)
        self._trail.append(frame.z)
        self._film.append((frame.step, frame.images))
        self._new_codes = True

    def _warn_if_left(self, frame: Frame) -> None:
        """Say so when most chains sit below the encoded faces' 1 % floor of log P̂: the gap score then
        keeps falling although the codes have left P̂(Z) as well as P(Z), and the decodes drift."""
        if frame.log_p_hat is None or self._p_hat_floor is None:
            self.left_label.hide()
            return
        outside = float(np.mean(frame.log_p_hat < self._p_hat_floor))
        self.left_label.setVisible(outside > 0.5)
        if outside > 0.5:
            self.left_label.setText(
                f"Step {frame.step}: {outside:.0%} of the chains have left P̂(Z) (log P̂(z) below that of 99 % "
                "of the encoded faces); their decodes no longer follow the training faces. Reset, lower "
                "the steps, or try Debias / another mode.")

    # ------------------------------------------------------------------ drawing (timer, GUI thread)
    def _draw(self) -> None:
        if self._redraw_yield.skip():  # the face under the handle is decoding: it is shown first
            return
        if not self._dirty or self._latest is None:
            return
        if self._new_codes:  # the map draws the trails even while this panel is on a hidden tab
            self._new_codes = False
            self.trails_changed.emit(np.stack(self._trail, axis=1).astype(np.float32, copy=False))
        if not self.isVisible():
            return  # still dirty: drawn on the first tick after the panel is shown again
        self._dirty = False
        self.redraw_count += 1
        frame = self._latest
        n = len(frame.z)
        self._selected = min(self._selected, n - 1)
        self.grid.set_images(frame.images, columns=math.ceil(math.sqrt(n)))
        self.step_label.setText(f"Step {frame.step}")
        film_steps = [s for s, _ in self._film]
        self.film.set_images(np.stack([images[self._selected] for _, images in self._film]), columns=FILM_STEPS // 2)
        self.film_label.setText(f"Chain #{self._selected + 1} of {n}, steps {film_steps[0]}–{film_steps[-1]}"
                                " (click a face to follow another)")
        history = {key: np.asarray(values) for key, values in self._history.items()}
        has_gap = self._session is not None and self._session.atlas_codes is not None
        reference, name = ((self._reference, "atlas decodes") if self._reference is not None
                           else (self._step0_intensity, "step 0"))
        self.plots.set_data(history["step"], history["gap"] if has_gap else None, history["change"],
                            history["intensity"], reference, name,
                            log_p_hat=history["log_p_hat"] if has_gap else None, p_hat_floor=self._p_hat_floor,
                            z_norm=history["z_norm"], prior_norm=expected_norm(frame.z.shape[1]))
        self._warn_if_left(frame)
