"""Record and export walks: the Record menu, its status-bar button, and the export jobs.

Record (Ctrl+R) keeps every face the main window shows, with its code and time, in an
`explorer.recording.Recording` until Record is pressed again (or the model changes, or it is full).
Export recording… (Ctrl+E), Export path walk… and Export chain run… ask for settings
(`dialog.AnimationDialog`) and a file name, then encode on a `GeneratorJob`
(`explorer.recording.export_frames`) whose progress shows in a QProgressDialog. A path walk and a
chain run are decoded from their codes on that worker, not replayed. Cancel closes the job's
generator: the partial file is removed, and the recording, the window and any file already at the
path are as they were. One export runs at a time.

The window it serves needs: `session`, `current_z`, `face_panel.current_image`, `interpolation`
(`path()`, `mode`), `chain.trail_codes`, `show_error(text)`, `statusBar()`, `session_changed`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QMenu, QProgressDialog, QToolButton

from latentlab.errors import LatentLabError
from latentlab.explorer.recording import AnimationSettings, Recording, export_frames, tiled_shape
from latentlab.export import save_codes
from latentlab.sampling import interpolation_path
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import JobBridge
from latentlab.ui.recording.dialog import AnimationDialog

JOIN_TIMEOUT_S = 30.0
NAMES = {"recording": "walk", "path": "path-walk", "chain": "chain-run"}


class RecordingController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.recording = Recording()
        self._job: GeneratorJob | None = None
        self._progress: QProgressDialog | None = None
        self._target: Path | None = None
        self._outcome = ""
        self.last_written: Path | None = None
        self._bridge = JobBridge(self)

        self.record_action = QAction("● &Record walk", window, checkable=True)
        self.record_action.setShortcut(QKeySequence("Ctrl+R"))
        self.record_action.setToolTip("Record every face shown (drag the handle, walk a path…) until pressed again "
                                      "(Ctrl+R)")
        self.record_action.toggled.connect(self._record_toggled)
        self.export_action = QAction("&Export recording as GIF / MP4…", window)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.export_recording)
        self.codes_action = QAction("Save recorded c&odes (CSV / NPZ)…", window)
        self.codes_action.triggered.connect(self.save_codes_dialog)
        self.path_action = QAction("Export &path walk A → B as GIF / MP4…", window)
        self.path_action.triggered.connect(self.export_path_walk)
        self.chain_action = QAction("Export &chain run as GIF / MP4…", window)
        self.chain_action.triggered.connect(self.export_chain_run)
        self.menu = QMenu("&Record", window)
        self.menu.addAction(self.record_action)
        self.menu.addAction(self.export_action)
        self.menu.addAction(self.codes_action)
        self.menu.addSeparator()
        self.menu.addAction(self.path_action)
        self.menu.addAction(self.chain_action)

        self.button = QToolButton()  # in the status bar, so Record is one click away
        self.button.setDefaultAction(self.record_action)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.indicator = QLabel()
        self.indicator.setStyleSheet("color: #c62828; font-weight: bold;")
        self.indicator.hide()
        window.session_changed.connect(lambda _session: self.stop())

    # ------------------------------------------------------------------ recording
    @property
    def is_recording(self) -> bool:
        return self.record_action.isChecked()

    def start(self) -> None:
        self.record_action.setChecked(True)

    def stop(self) -> None:
        self.record_action.setChecked(False)

    def face_shown(self, image: np.ndarray, z: np.ndarray) -> None:
        """The window showed `image` (decoded from `z`): keep it while recording."""
        if not self.is_recording:
            return
        if not self.recording.add(image, z, time.monotonic()):
            self.stop()
            self.window.statusBar().showMessage(
                f"Recording stopped: it holds the most faces it can ({self.recording.max_frames}); export it "
                "with Record → Export recording (Ctrl+E)")
            return
        self.indicator.setText(f"● REC {len(self.recording)}")

    def _record_toggled(self, on: bool) -> None:
        self.record_action.setText("■ Stop &recording" if on else "● &Record walk")
        self.indicator.setVisible(on)
        if on:
            self.recording.clear()
            self.indicator.setText("● REC 0")
            image, z = self.window.face_panel.current_image, self.window.current_z
            if image is not None and z is not None:  # the walk starts on the face shown now
                self.face_shown(image, z)
            self.window.statusBar().showMessage("Recording: drag the handle, walk the path… Ctrl+R stops")
        elif len(self.recording):
            self.window.statusBar().showMessage(
                f"Recorded {len(self.recording)} faces over {self.recording.seconds:.1f} s: Record → Export "
                "recording (Ctrl+E) writes a GIF or MP4")

    # ------------------------------------------------------------------ exports
    @property
    def exporting(self) -> bool:
        return self._job is not None

    def export_recording(self) -> Path | None:
        """Ask for settings and a file, then write the recorded faces (stops a recording in progress)."""
        self.stop()
        if not len(self.recording):
            self.window.show_error("Nothing is recorded yet: press Record (Ctrl+R), drag the handle or walk the "
                                   "path, then export.")
            return None
        recording = self.recording
        dialog = AnimationDialog("recording", len(recording), recording.images[0].shape, recording.seconds,
                                 self.window)
        settings = self._ask(dialog)
        if settings is None:
            return None
        return self.start_export(settings, images=recording.frames(),
                                 order=recording.order(settings.fps, settings.real_time))

    def save_codes(self, path: str | Path) -> Path | None:
        """The recorded codes, one row per face shown, with their place on the map's current axes and the
        seconds since the first face (`export.save_codes`: CSV or NPZ by suffix)."""
        self.stop()
        if not len(self.recording):
            self.window.show_error("Nothing is recorded yet: press Record (Ctrl+R) and drag the handle first.")
            return None
        codes, times = self.recording.codes_array(), np.asarray(self.recording.times)
        projection = self.window.projection
        coords = projection.project(codes) if projection is not None and projection.axes.shape[1] == codes.shape[1] else None
        try:
            written = save_codes(path, codes, coords, {"seconds": times - times[0]})
        except (LatentLabError, ValueError) as err:
            self.window.show_error(str(err))
            return None
        self.window.statusBar().showMessage(f"Saved {written}")
        return written

    def save_codes_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save recorded codes", "walk-codes.csv",
                                              "CSV (*.csv);;NumPy archive (*.npz)")
        if path:
            self.save_codes(path)

    def export_path_walk(self) -> Path | None:
        """The Interpolate tab's A → B path, decoded at the chosen number of frames."""
        session, path = self.window.session, self.window.interpolation.path()
        if session is None or path is None:
            self.window.show_error("Set faces A and B first (Use as A / Use as B, or open two images in the "
                                   "Interpolate tab).")
            return None
        dialog = AnimationDialog("path", 60, session.image_shape, parent=self.window)
        settings = self._ask(dialog)
        if settings is None:
            return None
        codes = interpolation_path(path[0], path[-1], dialog.walk_frames, self.window.interpolation.mode)
        return self.start_export(settings, session=session, codes=codes.astype(np.float32))

    def export_chain_run(self) -> Path | None:
        """The Chain tab's chains over their last steps (each frame: every chain's face, tiled)."""
        session, trail = self.window.session, self.window.chain.trail_codes
        if session is None or trail is None or trail.shape[1] < 2:
            self.window.show_error("Run the chain first: Chain tab, then Step or Play (a chain run needs at least "
                                   "two steps).")
            return None
        codes = trail.transpose(1, 0, 2)  # [steps, chains, D]
        dialog = AnimationDialog("chain", len(codes), tiled_shape(session.image_shape, codes.shape[1]),
                                 parent=self.window)
        settings = self._ask(dialog)
        if settings is None:
            return None
        return self.start_export(settings, session=session, codes=codes)

    def _ask(self, dialog: AnimationDialog) -> AnimationSettings | None:
        if self.exporting:
            self.window.show_error("An export is still running: wait for it, or cancel it, first.")
            return None
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        suffix = dialog.suffix
        name = f"{NAMES[dialog.walk]}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self.window, dialog.windowTitle(), name,
                                              f"{dialog.kind} (*{suffix})")
        if not path:
            return None
        path = Path(path if path.lower().endswith(suffix) else path + suffix)
        return AnimationSettings(path, fps=dialog.fps, scale=dialog.scale, bounce=dialog.bounce,
                                 real_time=dialog.real_time)

    def start_export(self, settings: AnimationSettings, **source) -> Path | None:
        """Encode `source` (images= and order=, or session= and codes=: `explorer.recording.export_frames`)
        on a worker with a progress dialog; returns the target path (`last_written` once the job ended
        well)."""
        self._target, self._outcome = settings.path, ""
        progress = QProgressDialog(f"Writing {settings.path.name}…", "Cancel", 0, 1, self.window)
        progress.setWindowTitle("Export")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(self.cancel)
        self._progress = progress
        update, failed, done = (self._bridge.to_gui(slot) for slot in (self._advanced, self._failed, self._done))
        self._job = GeneratorJob(lambda: export_frames(settings, **source), name="export-animation",
                                 on_event=update, on_error=failed, on_done=done)
        progress.show()
        self._job.start()
        return settings.path

    def cancel(self) -> None:
        """Stop the export: the job closes its generator, which removes the partial file."""
        if self._job is not None and not self._job.cancelled:
            self._outcome = "cancelled"
            self._job.cancel()

    def _advanced(self, event: tuple[str, int, int]) -> None:
        what, done, total = event
        if self._progress is not None and not self._outcome:
            self._progress.setLabelText(f"{what} {self._target.name}: frame {min(done, total)} of {total}")
            self._progress.setMaximum(total)
            self._progress.setValue(done)

    def _failed(self, message: str) -> None:
        self._outcome = "failed"
        self.window.show_error(f"The export failed: {message}")

    def _done(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.join(JOIN_TIMEOUT_S)
        if self._progress is not None:
            self._progress.canceled.disconnect(self.cancel)
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None
        if self._outcome == "cancelled":
            self.window.statusBar().showMessage(f"Export cancelled: {self._target} was not written")
        elif not self._outcome:
            self.last_written = self._target
            self.window.statusBar().showMessage(f"Saved {self._target}")

    def shutdown(self) -> None:
        """Window closing: stop an export in progress and wait for it (its partial file is removed)."""
        self.stop()
        if self._job is not None:
            self.cancel()
            self._job.join(JOIN_TIMEOUT_S)

