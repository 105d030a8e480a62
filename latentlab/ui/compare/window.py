"""The Compare window: the same prior samples, or the same latent path, decoded by two or more models
side by side, each beside its own latent map.

Models join only when their latent spaces have the same size (the point is that every model decodes
the very same z); image sizes may differ. Two modes:

- **Same prior samples**: N codes z ~ N(0, I) drawn once from the seed shown, decoded by every model
  (optionally after k mean-mode steps of the latent Markov chain, for the models with an encoder);
  or, with Codes = "Each model's P̂(Z) draws", N draws from each model's fitted P̂(Z) (the
  same seed, different codes per model: each model at its best, not the same z).
- **Same path**: a slerp or linear path between two codes (two of the samples, or two random codes),
  decoded by every model as a strip; the slider walks it and moves every model's handle and large
  face at once.

Decoding runs on two latest-request workers (the strips and grids; the large faces), maps are built
by one GeneratorJob per model, so the window stays responsive; results reach the GUI thread through
the window's `JobBridge`, carrying owned arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import LatentLabError
from latentlab.explorer import ExplorerSession
from latentlab.explorer.compare_decodes import ModelDecodes, decode_for, draw_codes
from latentlab.explorer.map_layers import PRIOR_POINTS, default_layers
from latentlab.export import save_comparison_png
from latentlab.resources import bundled_models
from latentlab.sampling import interpolate, interpolation_path
from latentlab.services.decode import LatestRequestWorker, one_torch_thread
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import JobBridge
from latentlab.ui.compare.chooser import ModelChooser
from latentlab.ui.compare.columns import ModelColumn
from latentlab.ui.widgets.error_banner import ErrorBanner
from latentlab.ui.widgets.imaging import to_qimage
from latentlab.ui.widgets.scroll_areas import scroll_area

DEFAULT_SAMPLES = 8
SLIDER_MAX = 1000
EXPORT_SCALE = 2
COLUMN_MIN_WIDTH = 300
SEED_MAX = 2**31 - 1
DECODE_ERRORS = (LatentLabError, RuntimeError, ValueError)
SOURCES = (("prior", "Same prior samples N(0, I)"), ("p_hat", "Each model's P̂(Z) draws"))
P_HAT_SOURCE_TIP = ("Each model decodes N draws (from the seed shown) of its own P̂(Z): a Gaussian mixture fitted to "
                    "its encoded training faces. The codes differ between models: this shows each model's samples "
                    "at their best, where prior samples fall into the gaps of its P̂(Z)")
NO_P_HAT_SOURCE = ("Unavailable: no compared model carries an atlas of encoded training faces (a GAN has no encoder), "
                   "so no P̂(Z) can be fitted")
GAP_TIP = ("gap score = log P(z) − log P̂(z) for this model: high where the prior puts mass but the model "
           "encoded no training face (decodes there tend to look unrealistic). With the chain: at the sample → "
           "after k steps. Shown once the model's P̂(Z) density is fitted")


@dataclass(frozen=True)
class GridRequest:
    """Decode `codes` [N, D] with every model (after `chain_steps` chain steps where possible)."""

    entries: tuple[tuple[str, ExplorerSession], ...]
    codes: np.ndarray
    chain_steps: int
    p_hat_seed: int | None = None  # decode each model's own P̂(Z) draws from this seed instead


@dataclass(frozen=True)
class FaceRequest:
    """Decode one code with every model, scaled for each model's large face (`side` pixels); the gap
    score only where the model's P̂(Z) density is already fitted (`with_gap`), so a decode never waits
    for a fit."""

    entries: tuple[tuple[str, ExplorerSession, int, bool], ...]  # key, session, side, with_gap
    code: np.ndarray
    label: str  # what the code is, for the captions


def _render_grid(request: GridRequest) -> dict[str, ModelDecodes | str]:
    """Worker thread: every model's decodes, or the message of what went wrong with that model."""
    one_torch_thread()
    results: dict[str, ModelDecodes | str] = {}
    for key, session in request.entries:
        try:
            results[key] = decode_for(session, request.codes, request.chain_steps, request.p_hat_seed)
        except DECODE_ERRORS as err:
            results[key] = f"Decoding failed: {err}"
    return results


def _render_faces(request: FaceRequest) -> tuple[FaceRequest, dict[str, tuple]]:
    """Worker thread: the request, and per model (image, the same as a QImage for its face view, gap score or None)."""
    one_torch_thread()
    results = {}
    for key, session, side, with_gap in request.entries:
        image = session.decode(request.code[None])[0]
        gaps = session.gap_scores(request.code) if with_gap else None
        results[key] = (image, to_qimage(image), None if gaps is None else float(gaps[0]))
    return request, results


def face_caption(label: str, z: np.ndarray, gap: float | None, chained_gap: float | None = None) -> str:
    """The text by a large face: what the code is, its norm, and this model's gap score there (and
    where the chain took it, "start → end", when it ran)."""
    lines = [label, f"‖z‖ = {float(np.linalg.norm(z)):.2f}"]
    if gap is not None:
        lines.append(f"gap score {gap:.1f}" + ("" if chained_gap is None else f" → {chained_gap:.1f}"))
    return "\n".join(lines)


class CompareWindow(QMainWindow):
    """Two or more models side by side (see the module docstring). Checkpoints join with
    `add_model(path)`; `export_png(path)` writes the comparison grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("LatentLab — Compare models")
        self._size_to_screen()
        self.sessions: dict[str, ExplorerSession] = {}
        self.columns: dict[str, ModelColumn] = {}
        self.latent_dim: int | None = None
        self.sample_codes: np.ndarray | None = None
        self._prior_codes: np.ndarray | None = None
        self._selected = 0
        self._free: tuple[np.ndarray, str] | None = None  # a dragged or clicked code, shown large
        self._grid_request = 0   # the newest grid request submitted ...
        self._grid_shown = 0     # ... and the one whose decodes are shown
        self._last_face = 0
        self._map_jobs: list[GeneratorJob] = []
        self._read_jobs: list[GeneratorJob] = []
        self._fitted: set[str] = set()  # models whose full-D P̂(Z) density is fitted (for gap scores)
        self._bridge = JobBridge(self)  # every worker's results reach this window through it
        to_gui = self._bridge.to_gui
        self.grid_worker = LatestRequestWorker(_render_grid, to_gui(self._grid_done), to_gui(self._decode_failed),
                                               name="latentlab-compare-grid")
        self.face_worker = LatestRequestWorker(_render_faces, to_gui(self._faces_done), to_gui(self._decode_failed),
                                               name="latentlab-compare-face")
        self._build_widgets()
        self._models_changed()

    def _size_to_screen(self) -> None:
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        self.resize(min(1600, int(available.width() * 0.92)) if available else 1400,
                    min(980, int(available.height() * 0.92)) if available else 900)

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.banner = ErrorBanner()
        self.chooser = ModelChooser()
        self.chooser.toggled.connect(self._model_toggled)
        self.chooser.add_requested.connect(self.add_dialog)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_samples_page(), "Same prior samples")
        self.tabs.addTab(self._build_path_page(), "Same path")
        self.tabs.currentChanged.connect(lambda _: self._mode_changed())
        self.export_button = QPushButton("Save comparison as PNG…")
        self.export_button.setToolTip("One row per model, named, with the decodes shown under its map")
        self.export_button.clicked.connect(self.export_dialog)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        side = QVBoxLayout()
        for widget in (self.chooser, self.tabs, self.export_button, self.status):
            side.addWidget(widget)
        side.addStretch(1)
        sidebar = QWidget()
        sidebar.setLayout(side)
        sidebar.setFixedWidth(300)

        self.columns_box = QHBoxLayout()
        self.columns_box.setSpacing(6)
        self.empty_label = QLabel("Tick two or more models on the left to compare them.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #888;")
        self.columns_box.addWidget(self.empty_label)
        holder = QWidget()
        holder.setLayout(self.columns_box)
        self.columns_area = scroll_area(holder)
        right = QVBoxLayout()
        right.addWidget(self.columns_area, 1)
        right.addWidget(self._build_slider_row())

        body = QHBoxLayout()
        body.addWidget(sidebar)
        body.addLayout(right, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)

    def _build_samples_page(self) -> QWidget:
        self.count_spin = QSpinBox(minimum=2, maximum=32, value=DEFAULT_SAMPLES)
        self.count_spin.setKeyboardTracking(False)
        self.count_spin.valueChanged.connect(lambda _: self._samples_changed())
        self.seed_spin = QSpinBox(minimum=0, maximum=SEED_MAX, value=0)
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.setToolTip("The codes come from this seed: the same seed gives the same z (here and in "
                                  "the main window's \"prior sample (seed s)\")")
        self.seed_spin.valueChanged.connect(lambda _: self._samples_changed())
        self.source_combo = QComboBox()
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
        self.source_combo.setItemData(1, P_HAT_SOURCE_TIP, Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setToolTip("Which codes the models decode")
        self.source_combo.currentIndexChanged.connect(lambda _: self._samples_changed())
        self.new_button = QPushButton("New samples")
        self.new_button.setToolTip("Draw new codes from a new random seed")
        self.new_button.clicked.connect(self.new_samples)
        self.chain_box = QCheckBox("Latent chain (mean mode)")
        self.chain_box.setToolTip("Apply k steps of each model's latent Markov chain (decode the mean image, "
                                  "encode the posterior mean; Creswell et al. 2016) to the samples before "
                                  "decoding: samples in the gaps of that model's P̂(Z) move toward faces it learned")
        self.chain_box.toggled.connect(lambda _: self._submit_grid())
        self.chain_spin = QSpinBox(minimum=1, maximum=20, value=5)
        self.chain_spin.setKeyboardTracking(False)
        self.chain_spin.valueChanged.connect(lambda _: self.chain_box.isChecked() and self._submit_grid())
        self.chain_note = QLabel()
        self.chain_note.setWordWrap(True)
        self.chain_note.setStyleSheet("color: #666;")
        form = QFormLayout()
        form.addRow("Codes:", self.source_combo)
        form.addRow("Samples N:", self.count_spin)
        form.addRow("Seed:", self.seed_spin)
        form.addRow(self.new_button)
        form.addRow(self.chain_box)
        form.addRow("Chain steps k:", self.chain_spin)
        return self._page(form, self.chain_note,
                          "Every model decodes the same N codes z ~ N(0, I), or N draws of its own P̂(Z) (Codes). "
                          "Click a face or a star on a map "
                          "to show that sample large in every column; drag a handle to decode the same "
                          "dragged code with every model.")

    def _build_path_page(self) -> QWidget:
        self.ends_combo = QComboBox()
        self.ends_combo.addItem("two of the samples", "samples")
        self.ends_combo.addItem("two random codes", "random")
        self.ends_combo.currentIndexChanged.connect(lambda _: self._path_changed())
        self.a_spin = QSpinBox(minimum=1, maximum=DEFAULT_SAMPLES, value=1)
        self.b_spin = QSpinBox(minimum=1, maximum=DEFAULT_SAMPLES, value=2)
        self.path_seed_spin = QSpinBox(minimum=0, maximum=SEED_MAX, value=1)
        for spin in (self.a_spin, self.b_spin, self.path_seed_spin):
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda _: self._path_changed())
        self.path_mode_combo = QComboBox()
        self.path_mode_combo.addItem("Spherical (slerp)", "slerp")
        self.path_mode_combo.addItem("Linear", "linear")
        self.path_mode_combo.setToolTip("Slerp stays on the shell where N(0, I) samples live; a linear path "
                                        "dips toward the origin, a low-density region")
        self.path_mode_combo.currentIndexChanged.connect(lambda _: self._path_changed())
        self.steps_spin = QSpinBox(minimum=3, maximum=32, value=10)
        self.steps_spin.setKeyboardTracking(False)
        self.steps_spin.valueChanged.connect(lambda _: self._path_changed())
        form = QFormLayout()
        form.addRow("Endpoints:", self.ends_combo)
        form.addRow("A = sample #", self.a_spin)
        form.addRow("B = sample #", self.b_spin)
        form.addRow("Seed of A, B:", self.path_seed_spin)
        form.addRow("Path:", self.path_mode_combo)
        form.addRow("Steps:", self.steps_spin)
        self.path_form = form
        self._show_endpoint_fields()
        return self._page(form, None, "Every model decodes the same path. Move the slider under the "
                                            "models to walk it: every handle and large face follows.")

    @staticmethod
    def _page(form: QFormLayout, note: QLabel | None, help_text: str) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        if note is not None:
            layout.addWidget(note)
        explanation = QLabel(help_text)
        explanation.setWordWrap(True)
        explanation.setStyleSheet("color: #555;")
        layout.addWidget(explanation)
        layout.addStretch(1)
        return page

    def _build_slider_row(self) -> QWidget:
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_MAX)
        self.slider.setToolTip("Walk the path: every model decodes the same code")
        self.slider.valueChanged.connect(lambda _: self._walk())
        self.t_label = QLabel("t = 0.00")
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Walk the path  A"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(QLabel("B"))
        layout.addWidget(self.t_label)
        self.slider_row = row
        return row

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> str:
        """"samples" or "path"."""
        return "samples" if self.tabs.currentIndex() == 0 else "path"

    def set_mode(self, mode: str) -> None:
        self.tabs.setCurrentIndex(0 if mode == "samples" else 1)

    @property
    def codes_source(self) -> str:
        """"prior" (the same codes for every model) or "p_hat" (draws of each model's own P̂(Z))."""
        index = self.source_combo.currentIndex()
        usable = self.source_combo.model().item(index).isEnabled()
        return self.source_combo.currentData() if usable else "prior"

    def model_codes(self, key: str) -> np.ndarray | None:
        """The sample codes model `key` decodes [N, D]: its own P̂(Z) draws, or the shared codes."""
        column = self.columns.get(key)
        decodes = None if column is None else column.decodes
        if self.mode == "samples" and decodes is not None and decodes.codes is not None:
            return decodes.codes
        return self.sample_codes

    @property
    def chain_steps(self) -> int:
        """k for the samples (0: the chain is off or no compared model has an encoder)."""
        return self.chain_spin.value() if self.chain_box.isChecked() and self.chain_box.isEnabled() else 0

    def endpoints(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The path's ends A, B [D] each, or None while no model is compared."""
        if self.latent_dim is None:
            return None
        if self.ends_combo.currentData() == "random":
            a, b = draw_codes(2, self.latent_dim, self.path_seed_spin.value())
            return a, b
        return self.sample_codes[self.a_spin.value() - 1], self.sample_codes[self.b_spin.value() - 1]

    def path_codes(self) -> np.ndarray | None:
        """The path [steps, D] float32 that every model decodes, or None while no model is compared."""
        ends = self.endpoints()
        if ends is None:
            return None
        return interpolation_path(*ends, self.steps_spin.value(), self.path_mode_combo.currentData()).astype(np.float32)

    def current_t(self) -> float:
        return self.slider.value() / SLIDER_MAX

    def decodes_ready(self) -> bool:
        """Every compared model shows its decodes of the current codes (nothing is being decoded)."""
        return (bool(self.columns) and self._grid_shown == self._grid_request
                and all(c.decodes is not None for c in self.columns.values()))

    def maps_ready(self) -> bool:
        return bool(self.columns) and all(c.layers is not None for c in self.columns.values())

    def densities_ready(self) -> bool:
        """Every compared model with an atlas has its P̂(Z) density fitted (the captions show gap scores)."""
        return all(key in self._fitted for key, c in self.columns.items() if c.session.atlas_codes is not None)

    # ------------------------------------------------------------------ models
    def add_candidate(self, path: str | Path, label: str | None = None) -> str:
        """List a checkpoint in the chooser (unticked); returns its key (the resolved path)."""
        key = str(Path(path).expanduser().resolve())
        self.chooser.add_candidate(key, label or Path(key).name)
        return key

    def add_model(self, path: str | Path, quiet: bool = False) -> bool:
        """Compare `path` too. A checkpoint that cannot be read, or whose latent size differs from the
        compared models', is refused: the reason appears beside it (and, unless `quiet`, in the banner)."""
        key = self.add_candidate(path)
        if key in self.columns:
            return True
        session = self._session_for(key, quiet)
        reason = "" if session is None else self._refusal(session)
        if session is None or reason:
            self.chooser.set_checked(key, False)
            if reason:
                self.chooser.set_note(key, reason, problem=True)
                if not quiet:
                    self.show_error(f"{Path(key).name} cannot join the comparison: {reason}.")
            return False
        self._add_column(key, session)
        return True

    def add_default_models(self, paths: list[str | Path], want: int = 2) -> None:
        """Tick the first `want` of `paths` that can be compared together (refusals noted quietly)."""
        for path in paths:
            if len(self.columns) >= want:
                return
            self.add_model(path, quiet=True)

    def remove_model(self, path: str | Path) -> None:
        key = str(Path(path).expanduser().resolve())
        column = self.columns.pop(key, None)
        if key in self.chooser.candidates():
            self.chooser.set_checked(key, False)
        if column is not None:
            self.columns_box.removeWidget(column)
            column.deleteLater()
            self._models_changed()

    def _session_for(self, key: str, quiet: bool) -> ExplorerSession | None:
        if key not in self.sessions:
            try:
                self.sessions[key] = ExplorerSession.from_checkpoint(key)
            except (LatentLabError, OSError) as err:
                self.chooser.set_note(key, "could not be read (see the message above)", problem=True)
                if not quiet:
                    self.show_error(str(err))
                return None
        return self.sessions[key]

    def _refusal(self, session: ExplorerSession) -> str:
        """Why `session` cannot join the compared models ("" when it can)."""
        model = session.model
        if getattr(model, "is_autoregressive", False) or getattr(model, "latent_dim", None) is None:
            return "it has no latent code to decode (a pixel-by-pixel model)"
        if self.latent_dim is not None and self.columns and session.latent_dim != self.latent_dim:
            return (f"its latent space has {session.latent_dim} dimensions and the compared models' have "
                    f"{self.latent_dim}, so no code can be decoded by both (untick the others to compare "
                    f"{session.latent_dim}-D models)")
        return ""

    def _add_column(self, key: str, session: ExplorerSession) -> None:
        column = ModelColumn(session)
        column.setMinimumWidth(COLUMN_MIN_WIDTH)
        column.sample_clicked.connect(self._sample_clicked)
        column.mark_clicked.connect(self._mark_clicked)
        column.handle_moved.connect(lambda x, y, c=column: self._handle_dragged(c, x, y))
        column.point_clicked.connect(lambda layer, index, c=column: self._point_clicked(c, layer, index))
        self.columns[key] = column
        self.columns_box.addWidget(column, 1)
        self.chooser.set_checked(key, True)
        self.chooser.set_note(key, "")
        if self.latent_dim != session.latent_dim or self.sample_codes is None:
            self.latent_dim = session.latent_dim
            self._prior_codes = draw_codes(PRIOR_POINTS, session.latent_dim, 0)
            self._draw_samples()
        self._start_map_job(key, session)
        self._models_changed()

    def _model_toggled(self, key: str, checked: bool) -> None:
        if checked:
            self.request_add(key)
        else:
            self.remove_model(key)

    def request_add(self, path: str | Path) -> None:
        """Compare `path` too, reading the checkpoint on a worker thread when it is not read yet (a
        large file takes a while, and the window keeps answering meanwhile); it joins when read."""
        key = self.add_candidate(path)
        if key in self.sessions:
            self.add_model(key)
            return
        self.chooser.set_checked(key, True)  # wanted; unticking it before the read ends cancels the join
        self.chooser.set_note(key, "reading…")
        read_done, read_failed = self._bridge.to_gui(self._read_done), self._bridge.to_gui(self._read_failed)
        self._read_jobs = [job for job in self._read_jobs if job.is_running]

        def read():
            yield ExplorerSession.from_checkpoint(key)

        job = GeneratorJob(read, name="compare-read", on_event=lambda session: read_done(key, session),
                           on_error=lambda message: read_failed(key, message))
        self._read_jobs.append(job)
        job.start()

    def _read_done(self, key: str, session: ExplorerSession) -> None:
        self.sessions[key] = session
        self.chooser.set_note(key, "")
        if self.chooser.is_checked(key):  # still wanted: it was not unticked while being read
            self.add_model(key)

    def _read_failed(self, key: str, message: str) -> None:
        self.chooser.set_checked(key, False)
        self.chooser.set_note(key, "could not be read (see the message above)", problem=True)
        self.show_error(message)

    def _models_changed(self) -> None:
        """After a model joined or left: notes, the chain toggle, and fresh decodes."""
        self.empty_label.setVisible(not self.columns)
        if not self.columns:
            self.latent_dim = self.sample_codes = None
        for key, session in self.sessions.items():
            if key not in self.columns:
                reason = self._refusal(session)
                self.chooser.set_note(key, reason, problem=bool(reason))
        self._update_chain_toggle()
        self._update_source_option()
        self.status.setText(self._hint())
        self._refresh()

    def _hint(self) -> str:
        """The status line when nothing is being decoded."""
        return {0: "No model is compared yet.", 1: "Tick a second model to compare."}.get(len(self.columns), "")

    def _update_chain_toggle(self) -> None:
        without = [c.name for c in self.columns.values() if not c.session.has_encoder]
        any_encoder = len(without) < len(self.columns)
        self.chain_box.setEnabled(any_encoder)
        self.chain_spin.setEnabled(any_encoder)
        if self.columns and not any_encoder:
            self.chain_note.setText("No compared model has an encoder, so the latent chain (decode, "
                                    "re-encode) does not apply.")
        elif without:
            self.chain_note.setText(f"{', '.join(without)}: no encoder, shown without the chain.")
        else:
            self.chain_note.setText("Each model's own chain: the samples move toward its P̂(Z) (green trails).")

    def _update_source_option(self) -> None:
        """"Each model's P̂(Z) draws" needs an atlas: disabled, saying why, when no compared
        model has one; models without one decode the prior's codes and say so in their column."""
        any_atlas = not self.columns or any(c.session.atlas_codes is not None for c in self.columns.values())
        self.source_combo.model().item(1).setEnabled(any_atlas)
        self.source_combo.setItemData(1, P_HAT_SOURCE_TIP if any_atlas else NO_P_HAT_SOURCE,
                                      Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setToolTip("Which codes the models decode" if any_atlas else NO_P_HAT_SOURCE)

    def _start_map_job(self, key: str, session: ExplorerSession) -> None:
        """Build the model's map, then fit its full-D P̂(Z) density (seconds on a busy CPU) for gap scores."""
        self._map_jobs = [job for job in self._map_jobs if job.is_running]
        prior = self._prior_codes
        map_ready, density_ready = self._bridge.to_gui(self._map_ready), self._bridge.to_gui(self._density_ready)
        map_failed = self._bridge.to_gui(self._map_failed)

        def work():
            yield default_layers(session, prior)
            if session.density() is not None:
                yield None

        def report(layers) -> None:
            if layers is None:
                density_ready(key)
            else:
                map_ready(key, layers)

        job = GeneratorJob(work, name="compare-map", on_event=report, on_error=lambda message: map_failed(key, message))
        self._map_jobs.append(job)
        job.start()

    def _map_failed(self, key: str, message: str) -> None:
        self.show_error(f"{Path(key).name}: {message}")

    def _density_ready(self, key: str) -> None:
        self._fitted.add(key)
        if key in self.columns:
            self._update_faces()  # the captions gain the gap scores

    def _gap_scores(self, key: str, codes: np.ndarray | None) -> np.ndarray | None:
        """log P(z) − log P̂(z) of `codes` for the model `key`, once its density is fitted (else None)."""
        if codes is None or key not in self._fitted:
            return None
        return self.columns[key].session.gap_scores(codes)

    def _map_ready(self, key: str, layers) -> None:
        column = self.columns.get(key)
        if column is None:
            return  # unticked while its map was being built
        column.set_layers(layers)
        self._show_codes(column)
        if column.decodes is not None:
            column.show_decodes(column.decodes, one_row=self.mode == "path")
        self._update_faces()

    # ------------------------------------------------------------------ codes
    def new_samples(self) -> None:
        """Draw new codes from a new random seed (shown, and editable, in the Seed box)."""
        self.seed_spin.setValue(int(np.random.default_rng().integers(SEED_MAX)))

    def _draw_samples(self) -> None:
        n = self.count_spin.value()
        self.sample_codes = None if self.latent_dim is None else draw_codes(n, self.latent_dim, self.seed_spin.value())
        self._selected = min(self._selected, n - 1)
        for spin in (self.a_spin, self.b_spin):
            spin.blockSignals(True)
            spin.setMaximum(n)
            spin.blockSignals(False)

    def _samples_changed(self) -> None:
        self._draw_samples()
        self._free = None
        self._refresh()

    def _show_endpoint_fields(self) -> None:
        random_ends = self.ends_combo.currentData() == "random"
        for spin, visible in ((self.a_spin, not random_ends), (self.b_spin, not random_ends),
                              (self.path_seed_spin, random_ends)):
            self.path_form.setRowVisible(spin, visible)

    def _path_changed(self) -> None:
        self._show_endpoint_fields()
        if self.mode == "path":
            self._free = None
            self._refresh()

    def _mode_changed(self) -> None:
        self._free = None
        self._refresh()

    def _refresh(self) -> None:
        """Redraw what depends on the codes: marks and paths on the maps, decodes, large faces."""
        self.slider_row.setVisible(self.mode == "path")
        for column in self.columns.values():
            self._show_codes(column)
        self._submit_grid()
        self._update_faces()

    def _show_codes(self, column: ModelColumn) -> None:
        if self.mode == "samples":
            own = column.decodes is not None and column.decodes.codes is not None
            column.show_codes(column.decodes.codes if own else self.sample_codes, own=own)
        else:
            column.show_codes(None, self.path_codes())

    # ------------------------------------------------------------------ decoding
    def _submit_grid(self) -> None:
        codes = self.sample_codes if self.mode == "samples" else self.path_codes()
        if codes is None or not self.columns:
            return
        chain = self.chain_steps if self.mode == "samples" else 0
        p_hat_seed = self.seed_spin.value() if self.mode == "samples" and self.codes_source == "p_hat" else None
        entries = tuple((key, column.session) for key, column in self.columns.items())
        self._grid_request = self.grid_worker.submit(GridRequest(entries, codes.copy(), chain, p_hat_seed))
        self.status.setText(f"Decoding with {len(entries)} model{'s' if len(entries) != 1 else ''}"
                            f"{f' and running the chain ({chain} steps)' if chain else ''}…")

    def _grid_done(self, request_id: int, results: dict) -> None:
        if request_id != self._grid_request:
            return  # overtaken by a newer request
        self._grid_shown = request_id
        for key, result in results.items():
            column = self.columns.get(key)
            if column is None:
                continue
            if isinstance(result, str):
                column.clear_decodes()
                column.set_note(result)
            else:
                column.show_decodes(result, one_row=self.mode == "path")
                self._show_codes(column)  # its own P̂(Z) draws, when it decoded those
        self.status.setText(self._hint())
        self._update_faces()

    def _current(self) -> tuple[np.ndarray | None, str]:
        """The code the large faces and handles show, and what it is."""
        if self._free is not None:
            return self._free
        if self.mode == "samples":
            codes = self.sample_codes
            return (None, "") if codes is None else (codes[self._selected], f"sample #{self._selected + 1}")
        ends = self.endpoints()
        if ends is None:
            return None, ""
        t = self.current_t()
        z = interpolate(*ends, t, self.path_mode_combo.currentData()).astype(np.float32)
        return z, f"path at t = {t:.2f}"

    def _update_faces(self) -> None:
        z, label = self._current()
        if z is None or not self.columns:
            return
        for column in self.columns.values():
            column.place_handle(z)
        if self.mode == "samples" and self._free is None:
            self._show_selected_sample(label)
            return
        if self.mode == "path":
            steps = self.steps_spin.value()
            for column in self.columns.values():
                column.tiles.set_selected(round(self.current_t() * (steps - 1)))
        entries = tuple((key, c.session, c.face.side, key in self._fitted) for key, c in self.columns.items())
        self.face_worker.submit(FaceRequest(entries, z.copy(), label))

    def _show_selected_sample(self, label: str) -> None:
        i, k = self._selected, self.chain_steps
        for key, column in self.columns.items():
            column.tiles.set_selected(i)
            decodes = column.decodes
            if decodes is None or i >= len(decodes.images):
                continue
            z = self.model_codes(key)[i]  # its own P̂(Z) draw, or the shared code
            final = None if decodes.final_codes is None else decodes.final_codes[i]
            column.place_handle(final if final is not None else z)  # the code whose decode is shown
            gap, chained = self._gap_scores(key, z), self._gap_scores(key, final)
            text = label if final is None else f"{label}, after {k} chain step{'s' if k != 1 else ''}"
            column.show_face(decodes.images[i], face_caption(text, z, None if gap is None else float(gap[0]),
                                                             None if chained is None else float(chained[0])))
            column.caption.setToolTip(GAP_TIP)

    def _faces_done(self, request_id: int, answer: tuple[FaceRequest, dict]) -> None:
        if request_id < self._last_face:
            return  # older than what is shown
        self._last_face = request_id
        request, results = answer
        for key, (image, prescaled, gap) in results.items():
            column = self.columns.get(key)
            if column is not None:
                column.show_face(image, face_caption(request.label, request.code, gap), prescaled)
                column.caption.setToolTip(GAP_TIP)

    # ------------------------------------------------------------------ user actions on the columns
    def _sample_clicked(self, index: int) -> None:
        if self.mode == "path":
            self.slider.setValue(round(index / max(1, self.steps_spin.value() - 1) * SLIDER_MAX))
            return
        self._selected = index
        self._free = None
        self._update_faces()

    def _mark_clicked(self, index: int) -> None:
        """A star: a sample (samples mode), or the path's end A (0) or B (1)."""
        if self.mode == "path":
            self.slider.setValue(index * SLIDER_MAX)
        else:
            self._sample_clicked(index)

    def _handle_dragged(self, column: ModelColumn, x: float, y: float) -> None:
        start, _ = self._current()
        if self.mode == "samples" and self._free is None and start is not None:
            key = next((k for k, c in self.columns.items() if c is column), None)
            codes = None if key is None else self.model_codes(key)
            start = start if codes is None else codes[self._selected]  # the code under this map's handle
        if column.projection is None or start is None:
            return
        # Only the plotted coordinates (of this model's map) change; the code's other components stay.
        z = column.projection.lift(np.array([x, y]), start)
        self._free = (z, f"dragged on {column.name}'s map")
        self._update_faces()

    def _point_clicked(self, column: ModelColumn, layer: str, index: int) -> None:
        if layer == "atlas":
            z, label = column.session.atlas_codes[index], f"{column.name}'s training face #{index}"
        else:
            z, label = self._prior_codes[index], f"prior point #{index} (the same on every map)"
        self._free = (np.asarray(z, dtype=np.float32), label)
        self._update_faces()

    def _walk(self) -> None:
        self.t_label.setText(f"t = {self.current_t():.2f}")
        self._free = None
        self._update_faces()

    # ------------------------------------------------------------------ export
    def export_png(self, path: str | Path) -> Path | None:
        """The comparison grid as PNG: one named row per model with the decodes shown under its map."""
        columns = list(self.columns.values())
        if not columns or any(c.images is None for c in columns):
            self.show_error("Nothing to save yet: wait until every model's decodes are shown.")
            return None
        try:
            written = save_comparison_png(path, [c.images for c in columns], [self._row_name(c) for c in columns],
                                          scale=EXPORT_SCALE)
        except (LatentLabError, OSError, ValueError) as err:
            self.show_error(str(err))
            return None
        self.status.setText(f"Saved {written}")
        return written

    def _row_name(self, column: ModelColumn) -> str:
        what = (f"samples, seed {self.seed_spin.value()}" if self.mode == "samples"
                else f"{self.path_mode_combo.currentData()} path")
        note = f" · {column.decodes.note}" if column.decodes is not None and column.decodes.note else ""
        return f"{column.name} ({column.session.model_name.upper()}) · {what}{note}"

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save comparison", "comparison.png", "PNG image (*.png)")
        if path:
            self.export_png(path if path.lower().endswith(".png") else path + ".png")

    def add_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add checkpoint", "", "LatentLab checkpoints (*.ckpt *.pt *.pth)")
        if path:
            self.request_add(path)

    def show_error(self, message: str) -> None:
        self.banner.show_message(message)

    def _decode_failed(self, _request_id: int, message: str) -> None:
        self.show_error(f"Decoding failed: {message}")

    # ------------------------------------------------------------------ closing
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Close together with the main window this window was opened from."""
        if watched is self.parent() and event.type() == QEvent.Type.Close:
            self.close()
        return False

    def closeEvent(self, event) -> None:
        self.shutdown(wait=0.5)  # closing never hangs on a chain or a density fit in progress
        super().closeEvent(event)

    def shutdown(self, wait: float = 10.0) -> None:
        """Stop the decoders and the map jobs, waiting up to `wait` seconds for the work in progress
        (a density fit cannot be interrupted: one still running ends by itself, its result dropped)."""
        self.grid_worker.close(wait)
        self.face_worker.close(wait)
        for job in self._map_jobs + self._read_jobs:
            job.cancel()
            job.join(wait)
        self._map_jobs, self._read_jobs = [], []


def show_compare_window(main_window) -> CompareWindow:
    """Open (or raise) the Compare window of `main_window`: the bundled models, its current model and
    its recent files are listed; its current model and the next one of the same latent size are ticked."""
    existing = [w for w in main_window.findChildren(CompareWindow) if w.isVisible()]
    if existing:
        existing[0].raise_()
        existing[0].activateWindow()
        return existing[0]
    window = CompareWindow(main_window)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    current = main_window.session.path if main_window.session is not None and main_window.session.path else None
    bundled = bundled_models()
    if current is not None:
        window.add_candidate(current, f"{Path(current).stem} (open in the main window)")
    for path in bundled:
        window.add_candidate(path, f"{path.stem} (bundled)")
    for path in main_window.recent_files():
        window.add_candidate(path)
    window.add_default_models([p for p in [current, *bundled] if p is not None])
    main_window.installEventFilter(window)
    window.show()
    return window
