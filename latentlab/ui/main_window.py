"""The explorer's main window: latent map | large face, with Interpolate and Train tabs.

Display and delegate: maths lives in `latentlab.explorer` / `latentlab.analysis`. Three long-lived
latest-request workers keep the GUI thread free: one decodes for the drag handle (and every jump),
one for the hover preview (so hovering never drops a pending drag decode), and one fits the gap
map's density (EM on the map's plane) when the axes change; training runs in the Train tab's job.
Their results come back through the window's `JobBridge`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.analysis.density import P_HAT
from latentlab.analysis.projection import (
    LinearProjection,
    custom_projection,
    default_projection,
    narrowest_projection,
)
from latentlab.errors import LatentLabError
from latentlab.explorer import ExplorerSession
from latentlab.explorer.directions import direction_projection
from latentlab.explorer.map_layers import PRIOR_POINTS, GapGrid, axis_labels, gap_layer
from latentlab.explorer.nearest_faces import dataset_specs
from latentlab.export import save_codes
from latentlab.fileio import atomic_write
from latentlab.images import save_png
from latentlab.resources import bundled_models
from latentlab.services.decode import DECODE_THREADS, LatestRequestWorker, QuickRenders, one_torch_thread, torch_threads
from latentlab.services.foreground import FOREGROUND
from latentlab.services.jobs import GeneratorJob
from latentlab.services.memory import release_freed_memory
from latentlab.ui.bridge import JobBridge
from latentlab.ui.chain.panel import ChainPanel
from latentlab.ui.compare.window import show_compare_window
from latentlab.ui.directions.panel import DirectionsPanel, sync_axis_entries
from latentlab.ui.interpolate.panel import InterpolationPanel
from latentlab.ui.nearest.dock import NearestDock
from latentlab.ui.recording.controller import RecordingController
from latentlab.ui.sessions.files import SessionFiles
from latentlab.ui.widgets.error_banner import ErrorBanner
from latentlab.ui.widgets.face_panel import FacePanel
from latentlab.ui.widgets.imaging import pixel_buffer
from latentlab.ui.widgets.latent_map import LatentMap
from latentlab.ui.widgets.scroll_areas import LazyScrollArea, scroll_area

if TYPE_CHECKING:  # built on first use (`LazyScrollArea`): imported then
    from latentlab.ui.pixels.panel import PixelPanel
    from latentlab.ui.train.panel import TrainingPanel

log = logging.getLogger(__name__)

MAX_RECENT = 8
ATLAS_IMAGES_MAX = 20_000  # larger atlases: no training images held for hover (20,000 64x64 faces: 245 MB)
RELEASE_DELAY_MS = 2000  # after a model switch, when the old model's jobs have finished with it
CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth")
HELP_TEXT = """<h3>LatentLab</h3>
<p><b>Latent map</b> (left): blue dots are training faces encoded by the model — samples of the
encoded distribution P̂(Z); orange circles are samples of the prior P(Z) = N(0, I). Where orange
circles fall away from blue dots, the prior has mass the decoder never learned (the gaps).</p>
<p><b>Drag</b> the cross-hair handle to move through latent space; the face on the right is decoded
live. Only the two plotted coordinates change; the others are kept from where you started.</p>
<p><b>Click</b> a point to jump to it; <b>hover</b> to preview it. <b>Use as A / B</b> sets the ends
of an interpolation (Interpolate tab), or open two image files there. <b>Random from prior</b> jumps to
z ~ N(0, I); <b>Random from P̂(Z)</b> to a draw of a Gaussian mixture fitted to the encoded faces
(ex-post density estimation, Ghosh et al. 2020), which lands where the decoder learned faces rather
than in the gaps (models without an atlas of encoded faces, such as a GAN, cannot offer it).</p>
<p><b>Gaps</b>: the background is log P(z) − log P̂(z) on the map's plane, with P̂ a Gaussian
mixture fitted by EM to draws z ~ Q(z|x) of the encoded faces: red where the prior puts mass but no training face was
encoded (decodes there tend to look unrealistic), blue where encoded faces are denser than the prior.</p>
<p><b>Axes</b>: PCA of the encoded faces by default; "A → B" puts the direction between the two
chosen faces on the x axis; "where P̂(Z) is narrowest" shows the two directions in which the encoded
faces vary least, where the prior's gaps are widest.</p>
<p><b>Chain</b> (Chain tab): start chains from prior samples, from the current face or from samples of
P̂(Z), then step or play the latent Markov chain (decode, then re-encode; Creswell et al. 2016). Their
trails are drawn on the map; the plots show the mean gap score, the change per step and the mean
intensity, so drift is visible. "Mean" mode re-encodes the decoder's mean image; "Stochastic" samples
both, and is the chain whose stationary distribution is P̂(Z). <i>Debias</i> subtracts the mean move
one transition gives the encoded faces (the chain's systematic drift) at every step.</p>
<p><b>Pixels</b> (View → Pixels, Ctrl+Shift+P; opening a PixelCNN, Gated PixelCNN or Row LSTM
checkpoint shows it too): watch an autoregressive model draw images one sub-pixel at a time (raster
order, R → G → B) with the distribution each value was drawn from: Play, Step, Reset, speed, sampling
mode, seed. <i>Complete</i> keeps the top rows of an image (a file, or one from the model's dataset)
and draws the rest. Click a pixel to see which earlier pixels its prediction depends on: blue
influences it, magenta is the blind spot the PixelCNN's stacked masks never see (the Gated PixelCNN's
vertical stack has none), yellow is not generated yet. The panel is a dock: it runs beside the Chain
tab, on the right or at the bottom.</p>
<p><b>Directions</b> (Directions tab): Ctrl+click faces on the map into group A (without an attribute)
and B (with it), or pick a label of the training faces, then Create: the direction is the normal of a
logistic-regression boundary between the groups (or the difference of their means). The slider moves
the current face along it; the Axes box offers it as the map's x axis; Export… / Import… save and load
directions as JSON.</p>
<p><b>Compare</b> (View → Compare models…): two or more models with the same latent size side by
side, each with its own latent map: the same prior samples (one seed, optionally after k chain steps),
draws of each model's own P̂(Z), or the same path decoded by every model; Save comparison as PNG
writes one named row per model.</p>
<p><b>Nearest training faces</b> (View → Nearest training faces, Ctrl+Shift+N): a memorisation check.
The atlas codes nearest to the current code (decoded, and the training images when on disk), and the
training images nearest to the face in pixels, with its distance against what faces the model never
saw give: "0.42× the typical held-out distance — closer than 97 % of held-out faces: possible copy".</p>
<p><b>Record</b> (Ctrl+R, or the button in the status bar): every face shown until you press it again
is kept with its code; Record → Export recording (Ctrl+E) writes it as an animated GIF or an MP4 (frame
rate, size, real time or one face per frame). The path A → B and the chain run export directly from
their codes.</p>
<p>Keys: Ctrl+O open a checkpoint, Ctrl+S save the current face, Ctrl+Shift+S / Ctrl+Shift+O save / open
a session (everything the window shows), Ctrl+R record, Ctrl+E export the recording, F1 this help; on
the Chain tab:
Space play / pause, Right one step, R reset.</p>"""


class MainWindow(QMainWindow):
    session_changed = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("LatentLab")
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        self.resize(min(1600, int(available.width() * 0.92)) if available else 1280,
                    min(1000, int(available.height() * 0.92)) if available else 800)
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings("LatentLab", "LatentLab")
        self.session: ExplorerSession | None = None
        self.projection: LinearProjection | None = None
        self.prior_codes: np.ndarray | None = None
        self.atlas_images: np.ndarray | None = None
        self._atlas_images_state = "absent"  # looking / found / absent: what the hover caption says
        self.current_z: np.ndarray | None = None
        self._generation = 0
        self._last_shown_request = 0
        self._atlas_job: GeneratorJob | None = None
        self._p_hat_job: GeneratorJob | None = None
        self._trail_codes: np.ndarray | None = None

        self._bridge = JobBridge(self)  # every worker's results reach this window through it
        to_gui = self._bridge.to_gui
        # The face under the handle is what the user waits for: playing chains and pixel sampling hold
        # back while it decodes (services.foreground).
        self.decoder = LatestRequestWorker(self._render, to_gui(self._decoded), to_gui(self._decode_failed),
                                           foreground=FOREGROUND)
        self.face_renders = QuickRenders()  # a quick model's face decodes in place (_decode_current)
        self.hover_decoder = LatestRequestWorker(_decode_hover, to_gui(self._hover_decoded),
                                                 to_gui(self._decode_failed), name="latentlab-hover")
        self.gap_worker = LatestRequestWorker(_fit_gap_map, to_gui(self._gap_map_ready), to_gui(self._gap_map_failed),
                                              name="latentlab-gap-map")
        self._hover_request = 0  # the hover preview on its way (0: none; any other answer is dropped)
        self._gap_request: tuple[int, LinearProjection] | None = None  # (request id, axes) of the gap map on its way
        self._gap_map: tuple[LinearProjection, GapGrid] | None = None  # the last gap map fitted, with its axes
        self._open_request = 0
        self._open_jobs: list[GeneratorJob] = []

        self._build_widgets()
        self.recorder = RecordingController(self)  # Record menu, its status-bar button, GIF / MP4 exports
        self._build_menus()
        self._refresh_model_list()

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.banner = ErrorBanner()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(260)
        self.model_combo.setToolTip("Bundled, recent and trained models")
        self.model_combo.activated.connect(self._model_chosen)
        self.axes_combo = QComboBox()
        self.axes_combo.setToolTip("How latent codes are projected to the plane")
        self.axes_combo.activated.connect(lambda _: self._update_projection())
        self.colour_combo = QComboBox()
        self.colour_combo.setToolTip("Colour the encoded faces by a label of the training data")
        self.colour_combo.activated.connect(lambda _: self._draw_map())
        self.gaps_box = QCheckBox("Gaps of P̂(Z)")
        self.gaps_box.setChecked(True)
        self.gaps_box.setToolTip("Colour the map by log P(z) − log P̂(z), with P̂ fitted (Gaussian mixture, EM) to the "
                                 "encoded faces on the map's plane: red where the prior puts mass but no training "
                                 "face was encoded")
        self.gaps_box.toggled.connect(lambda _: self._draw_map())
        self.model_info = QLabel("")
        self.model_info.setStyleSheet("color: #555;")

        top = QHBoxLayout()
        for text, widget in (("Model", self.model_combo), ("Axes", self.axes_combo), ("Colour", self.colour_combo)):
            top.addWidget(QLabel(text))
            top.addWidget(widget)
        top.addWidget(self.gaps_box)
        top.addWidget(self.model_info, 1)

        self.map = LatentMap()
        self.map.handle_moved.connect(self._handle_dragged)
        self.map.point_hovered.connect(self._point_hovered)
        self.map.point_clicked.connect(self._point_clicked)
        self.face_panel = FacePanel()
        self.face_panel.use_as.connect(self._use_current_as)
        self.face_panel.random_requested.connect(self._jump_to_random)
        self.face_panel.p_hat_requested.connect(self._jump_to_p_hat)
        self.interpolation = InterpolationPanel()
        self.interpolation.path_changed.connect(self._path_changed)
        self.interpolation.current_changed.connect(self._go_to)
        self.interpolation.error_occurred.connect(self.show_error)
        self._training_area = LazyScrollArea(self._make_training_panel)  # built when first shown
        self.chain = ChainPanel()
        self.chain.trails_changed.connect(self._trails_changed)
        self.chain.error_occurred.connect(self.show_error)
        self.tabs = QTabWidget()
        # Scroll areas keep a panel's minimum width from squeezing the latent map.
        self.tabs.addTab(scroll_area(self.interpolation), "Interpolate")
        self.chain_tab = self.tabs.addTab(scroll_area(self.chain), "Chain")
        self.tabs.addTab(self._training_area, "Train")
        self.directions = DirectionsPanel(self.map)
        self.directions.move_requested.connect(self._go_to)
        self.directions.error_occurred.connect(self.show_error)
        self.directions.directions_changed.connect(
            lambda names: sync_axis_entries(self.axes_combo, names) and self._update_projection())
        self.tabs.insertTab(2, scroll_area(self.directions), "Directions")  # Train stays last
        # Chain keys act while the Chain tab is shown (Space and Right mean other things elsewhere).
        for key, action in ((Qt.Key.Key_Space, self.chain.toggle_play), (Qt.Key.Key_Right, self.chain.step),
                            (Qt.Key.Key_R, self.chain.reset)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(lambda act=action: self.tabs.currentIndex() == self.chain_tab and act())

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.face_panel)
        right.addWidget(self.tabs)
        right.setStretchFactor(1, 1)
        self.right_split = right
        self.tabs.currentChanged.connect(self._tab_changed)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.map)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([720, 560])
        self.main_split = split

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Open a checkpoint with File → Open, or drop one on the window")
        self._build_pixel_dock()
        self.nearest_dock = NearestDock(self)  # View → Nearest training faces: a memorisation check
        self.session_changed.connect(self.nearest_dock.panel.set_session)

    def _build_pixel_dock(self) -> None:
        """The pixel panel in a dock (right or bottom), hidden until asked for: View → Pixels, or
        opening an autoregressive checkpoint."""
        self._pixel_area = LazyScrollArea(self._make_pixel_panel)  # built when the dock first shows
        self.pixel_dock = QDockWidget("Pixels — autoregressive models", self)
        self.pixel_dock.setObjectName("pixels")
        self.pixel_dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea)
        self.pixel_dock.setWidget(self._pixel_area)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.pixel_dock)
        self.pixel_dock.hide()
        self.pixel_dock.visibilityChanged.connect(self._size_pixel_dock)
        self._pixel_dock_sized = False
        self.pixel_dock_action = self.pixel_dock.toggleViewAction()
        self.pixel_dock_action.setText("&Pixels (autoregressive models)")
        self.pixel_dock_action.setShortcut(QKeySequence("Ctrl+Shift+P"))

    @property
    def training(self) -> TrainingPanel:
        """The Train tab's panel, built on first use: it is not on screen at launch."""
        return self._training_area.panel()

    def _make_training_panel(self) -> TrainingPanel:
        from latentlab.ui.train.panel import TrainingPanel

        panel = TrainingPanel()
        panel.model_trained.connect(self._training_finished)
        panel.error_occurred.connect(self.show_error)
        return panel

    @property
    def pixels(self) -> PixelPanel:
        """The Pixels dock's panel, built on first use: the dock is hidden at launch."""
        return self._pixel_area.panel()

    def _make_pixel_panel(self) -> PixelPanel:
        from latentlab.ui.pixels.panel import PixelPanel

        panel = PixelPanel()
        panel.error_occurred.connect(lambda _: self.statusBar().showMessage("Error — see the Pixels panel"))
        return panel

    def _tab_changed(self, index: int) -> None:
        """The chain and training views need height; the face shrinks for them (it scales)."""
        total = sum(self.right_split.sizes())
        share = 0.45 if index == 0 else 0.3
        self.right_split.setSizes([int(total * share), total - int(total * share)])
        self._trails_changed(self._trail_codes)
        # Training shows a form beside two plots: give the right column more of the width.
        width = sum(self.main_split.sizes())
        right = 0.62 if self.tabs.widget(index) is not None and index == self.tabs.count() - 1 else 0.47
        self.main_split.setSizes([int(width * (1 - right)), width - int(width * (1 - right))])

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&Open checkpoint…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.session_files = SessionFiles(self, file_menu)  # Open / Save session…, recent sessions
        file_menu.addSeparator()
        self._add_action(file_menu, "Save current &face as PNG…", self.export_face_dialog, QKeySequence.StandardKey.Save)
        self._add_action(file_menu, "Save latent &map as PNG…", self.export_map_dialog)
        self._add_action(file_menu, "Export latent &codes (CSV / NPZ)…", self.export_codes_dialog)
        self._add_action(file_menu, "Save interpolation strip as PNG…", self._export_strip_png)
        self._add_action(file_menu, "Save interpolation as animated &GIF…", self._export_strip_gif)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.pixel_dock_action)
        view_menu.addAction(self.nearest_dock.toggle_action)
        self._add_action(view_menu, "&Compare models…", lambda: show_compare_window(self))
        self.menuBar().addMenu(self.recorder.menu)
        for widget in (self.recorder.indicator, self.recorder.button):
            self.statusBar().addPermanentWidget(widget)
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "&How to use LatentLab", self.show_help, QKeySequence.StandardKey.HelpContents)
        self._rebuild_recent_menu()

    def _add_action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # ------------------------------------------------------------------ models
    def open_checkpoint(self, path: str | Path) -> bool:
        """Load `path` and show it; on failure the message appears in the window and nothing changes."""
        path = Path(path).expanduser().resolve()
        self._open_request += 1  # an open still running in the background no longer counts
        try:
            session = ExplorerSession.from_checkpoint(path)
        except (LatentLabError, OSError) as err:
            self.show_error(str(err))
            return False
        return self._show_opened(session, path)

    def request_open(self, path: str | Path) -> None:
        """Open `path` on a worker thread (File → Open, drops, the recent list, the model box): reading
        and checking a large checkpoint takes a while, and the window keeps answering meanwhile. Only
        the latest request is shown; a failure appears in the banner like any other."""
        path = Path(path).expanduser().resolve()
        self._open_request += 1
        request = self._open_request
        opened, failed = self._bridge.to_gui(self._opened), self._bridge.to_gui(self._open_failed)
        self._open_jobs = [job for job in self._open_jobs if job.is_running]

        def load():
            yield ExplorerSession.from_checkpoint(path)

        job = GeneratorJob(load, name="open-checkpoint",
                           on_event=lambda session: opened(request, path, session),
                           on_error=lambda message: failed(request, message))
        self._open_jobs.append(job)
        self.statusBar().showMessage(f"Opening {path}…")
        job.start()

    def _opened(self, request: int, path: Path, session: ExplorerSession) -> None:
        if request == self._open_request:
            self._show_opened(session, path)

    def _open_failed(self, request: int, message: str) -> None:
        if request == self._open_request:
            self.show_error(message)

    def _show_opened(self, session: ExplorerSession, path: Path) -> bool:
        if getattr(session.model, "is_autoregressive", False):
            return self._open_pixel_model(session.model, path)
        self.set_session(session)
        self._remember(path)
        return True

    def adopt_session(self, session: ExplorerSession, path: Path) -> bool:
        """Show a model already loaded from `path` (a saved session's, `ui.sessions`) as if opened."""
        return self._show_opened(session, path)

    def _size_pixel_dock(self, visible: bool) -> None:
        """The first time the dock shows, give it about 40% of the window's width (or height)."""
        if visible and not self._pixel_dock_sized:
            self._pixel_dock_sized = True
            across = self.dockWidgetArea(self.pixel_dock) == Qt.DockWidgetArea.RightDockWidgetArea
            size = (self.width() if across else self.height()) * 2 // 5
            self.resizeDocks([self.pixel_dock], [max(460, size)],
                             Qt.Orientation.Horizontal if across else Qt.Orientation.Vertical)

    def _open_pixel_model(self, model, path: Path) -> bool:
        """An autoregressive model has no latent space: it goes to the Pixels dock, and the latent views
        keep the model they show."""
        if not self.pixels.set_model(model, path):
            return False
        self.pixel_dock.show()
        self.pixel_dock.raise_()
        self._remember(path)
        if self.session is not None:
            self._select_in_model_combo(self.session.path)
        else:
            self.model_combo.setCurrentIndex(-1)
        self.statusBar().showMessage(f"{path.name}: an autoregressive model, opened in the Pixels panel")
        return True

    def set_session(self, session: ExplorerSession) -> None:
        self._cancel_atlas_job()
        self.session = session
        self._generation += 1
        self.face_renders.clear()
        self.atlas_images = None
        self._atlas_images_state = "looking"
        self.current_z = None  # the previous model's code may not even have this model's size
        self._hover_request = 0  # a preview of the previous model's point is not shown
        self._trail_codes = None
        self.banner.hide()
        self.prior_codes = session.prior_samples(PRIOR_POINTS, seed=0)
        meta = session.meta
        data = meta.get("dataset", {}).get("spec", "unknown data")
        self.model_info.setText(f"{session.model_name.upper()} · latent {session.latent_dim} · "
                                f"{'x'.join(map(str, session.image_shape[1:]))} · {data}")
        self.setWindowTitle(f"LatentLab — {session.name}")
        self._fill_colour_combo()
        self._fill_axes_combo()
        self.directions.set_session(session)
        self.face_panel.set_enabled_for_model(True, session.atlas_codes is not None,
                                              "" if session.has_encoder else " (it has no encoder to encode them)")
        self.interpolation.set_session(session)
        self.chain.shutdown()
        self.chain.set_session(session)
        if session.path is not None:
            self._select_in_model_combo(session.path)
        else:  # an in-memory model (latentlab.explore): none of the listed files
            self.model_combo.setCurrentIndex(-1)
        self._update_projection()
        start = session.atlas_codes[0] if session.atlas_codes is not None else self.prior_codes[0]
        self._go_to(start, caption="first encoded training face" if session.atlas_codes is not None else "prior sample")
        self.statusBar().showMessage(f"Loaded {session.path or session.name}")
        self._start_atlas_images_job()
        self.session_changed.emit(session)
        # Once the previous model's jobs have let go of it, give its memory back (services/memory.py).
        QTimer.singleShot(RELEASE_DELAY_MS, release_freed_memory)

    def _render(self, request, inline: bool = False):
        """Decode straight into the pixels of a new QImage, the one the face view will paint (scaled as
        it paints); the GUI thread only stores it. On the decode worker, or `inline`, in place on the
        GUI thread (`_decode_current`; None then while another thread uses the model). One torch thread
        either way: a second would fight the GUI thread's repaints for the cores on the worker and, on
        the GUI thread, stall the window whenever a busy core delays it (as a max of 124 ms in `bench
        drag --under-load` showed); the GUI thread's own setting is restored after."""
        generation, session, z = request
        started = time.perf_counter()
        channels, height, width = session.image_shape
        qimage, pixels = pixel_buffer(width, height, channels)
        if inline:
            with torch_threads(DECODE_THREADS):
                if not session.decode_into(z, pixels, wait=False):
                    return None
        else:
            one_torch_thread()
            session.decode_into(z, pixels)
        return generation, pixels.transpose(2, 0, 1), qimage, z, time.perf_counter() - started

    # ------------------------------------------------------------------ map
    def _fill_axes_combo(self) -> None:
        self.axes_combo.clear()
        self.axes_combo.addItem("identity (2-D latent)" if self.session.latent_dim == 2 else "PCA of encoded faces")
        self.axes_combo.addItem("A → B (pick A and B first)")
        if self.session.atlas_codes is not None and self.session.latent_dim > 2:
            self.axes_combo.addItem("where P̂(Z) is narrowest (the gaps)")

    def _fill_colour_combo(self) -> None:
        self.colour_combo.clear()
        self.colour_combo.addItem("single colour")
        for name in sorted(self.session.atlas_labels):
            if name != "index":
                self.colour_combo.addItem(name)
        self.colour_combo.setEnabled(self.colour_combo.count() > 1)

    def _update_projection(self) -> None:
        session = self.session
        if session is None:
            return
        reference = session.atlas_codes if session.atlas_codes is not None else self.prior_codes
        projection = default_projection(reference, session.latent_dim)
        if self.axes_combo.currentIndex() == 2 and self.axes_combo.currentData() is None:  # not a direction
            projection = narrowest_projection(session.p_hat_samples())
        if self.axes_combo.currentIndex() == 1:
            path = self.interpolation.path()
            if path is None or len(path) < 2:
                self.show_error("Choose faces A and B first (Use as A / Use as B, or open two images).")
                self.axes_combo.setCurrentIndex(0)
            else:
                try:
                    projection = custom_projection(path[0], path[-1] - path[0], projection.axes[0],
                                                   ("A → B", "PC1 ⊥ (A → B)"))
                except ValueError as err:
                    self.show_error(f"Cannot use A → B as an axis: {err}")
                    self.axes_combo.setCurrentIndex(0)
        if (direction := self.directions.direction_for_axis(self.axes_combo.currentData())) is not None:
            try:
                projection = direction_projection(direction, reference, projection.axes[0])
            except LatentLabError as err:
                self.show_error(str(err))
                self.axes_combo.setCurrentIndex(0)
        self.projection = projection
        self.map.set_axis_labels(*axis_labels(projection))
        self._draw_map()

    def _draw_map(self) -> None:
        session = self.session
        if session is None or self.projection is None:
            return
        atlas_xy = None if session.atlas_codes is None else self.projection.project(session.atlas_codes)
        values, value_range = None, None
        atlas_label = "P̂(Z): encoded training faces"
        label = self.colour_combo.currentText()
        if atlas_xy is not None and label in session.atlas_labels:
            values = session.atlas_labels[label].astype(float)
            value_range = (float(values.min()), float(values.max()))
            atlas_label += f", colour = {label} (purple {value_range[0]:.3g} → yellow {value_range[1]:.3g})"
        prior_xy = self.projection.project(self.prior_codes)
        self._draw_gap_map(atlas_xy, prior_xy)
        self.map.set_points(atlas_xy, prior_xy, atlas_label=atlas_label, atlas_values=values, value_range=value_range)
        self.directions.set_projection(self.projection)
        self._path_changed(self.interpolation.path())
        self._trails_changed(self._trail_codes)
        if self.current_z is not None:
            self.map.place_handle(*self.projection.project(self.current_z))

    def _draw_gap_map(self, atlas_xy: np.ndarray | None, prior_xy: np.ndarray) -> None:
        """The gap map of the current axes: at once when it was computed for them already (a change of
        colour, the box ticked again), else fitted on the gap worker and drawn when it arrives."""
        self.gaps_box.setEnabled(atlas_xy is not None)
        if atlas_xy is None or not self.gaps_box.isChecked():
            self.map.set_gap_map(None)
            return
        if self._gap_map is not None and self._gap_map[0] is self.projection:
            self.map.set_gap_map(*self._gap_map[1])
            return
        self.map.set_gap_map(None)  # the one shown belongs to other axes
        if self._gap_request is None or self._gap_request[1] is not self.projection:
            request = (self.session, self.projection, atlas_xy, prior_xy)
            self._gap_request = (self.gap_worker.submit(request), self.projection)

    @property
    def gap_map_pending(self) -> bool:
        """A gap map is being fitted (it is drawn when it arrives, if its axes are still shown)."""
        return self._gap_request is not None

    def _gap_map_ready(self, request_id: int, answer: tuple[LinearProjection, GapGrid]) -> None:
        if self._gap_request is None or request_id != self._gap_request[0]:
            return  # overtaken: the axes changed while it was fitted, and a newer one is on its way
        self._gap_request, self._gap_map = None, answer
        projection, grid = answer
        if projection is self.projection and self.gaps_box.isChecked() and self.gaps_box.isEnabled():
            self.map.set_gap_map(*grid)

    def _gap_map_failed(self, request_id: int, message: str) -> None:
        if self._gap_request is not None and request_id == self._gap_request[0]:
            self._gap_request = None
            self.show_error(f"The gap map could not be computed: {message}")

    def _trails_changed(self, codes) -> None:
        """Chain trails [N, T, D] -> the map, in the current projection (an empty array clears them)."""
        self._trail_codes = codes
        chain_shown = self.tabs.currentIndex() == self.chain_tab  # trails belong to the Chain tab
        if self.projection is None or codes is None or codes.size == 0 or not chain_shown:
            self.map.set_trails(None)
            return
        n, t, d = codes.shape
        self.map.set_trails(self.projection.project(codes.reshape(n * t, d)).reshape(n, t, 2))

    def _path_changed(self, path) -> None:
        if self.projection is not None:
            self.map.set_path(None if path is None else self.projection.project(path))

    def _codes_of(self, layer: str) -> np.ndarray | None:
        return self.session.atlas_codes if layer == "atlas" else self.prior_codes

    def _point_hovered(self, layer: str, index: int) -> None:
        """Preview the point under the pointer: decoded on the hover worker (`_hover_decoded` shows it)."""
        if self.session is None or index < 0:
            self._hover_request = 0  # a preview still being decoded is not shown
            self.face_panel.show_hover(None, None, "Hover a point on the map")
            return
        z = self._codes_of(layer)[index]
        self._hover_request = self.hover_decoder.submit((self._generation, self.session, z, layer, index))

    @property
    def hover_pending(self) -> bool:
        """A hover preview is being decoded (it is shown when it arrives)."""
        return self._hover_request != 0

    def _hover_decoded(self, request_id: int, answer: tuple[int, str, int, np.ndarray]) -> None:
        generation, layer, index, decoded = answer
        if request_id != self._hover_request or generation != self._generation:
            return  # the pointer has moved on or left the points, or the model changed
        self._hover_request = 0
        if layer == "atlas":
            original = None if self.atlas_images is None else self.atlas_images[index]
            missing = {"looking": "looking for the training images…",
                       "absent": "training images not on this computer",
                       "too many": f"training images not loaded for an atlas over {ATLAS_IMAGES_MAX:,} faces",
                       }.get(self._atlas_images_state, "")
            caption = (f"training face #{index}: original and reconstruction" if original is not None
                       else f"training face #{index}: reconstruction ({missing})")
        else:
            original, caption = None, f"prior sample #{index}"
        self.face_panel.show_hover(decoded, original, caption)

    def _point_clicked(self, layer: str, index: int) -> None:
        if self.session is not None:
            name = "training face" if layer == "atlas" else "prior sample"
            self._go_to(self._codes_of(layer)[index], caption=f"{name} #{index}")

    # ------------------------------------------------------------------ the current face
    def _go_to(self, z: np.ndarray, caption: str | None = None) -> None:
        """Make `z` the current code: move the handle there and decode it."""
        if self.session is None:
            return
        self.current_z = np.asarray(z, dtype=np.float32).copy()
        self._current_caption = caption or "interpolation"
        if self.projection is not None:
            self.map.place_handle(*self.projection.project(self.current_z))
        self.chain.set_current_code(self.current_z)
        self.directions.set_current_code(self.current_z)
        self._decode_current()

    def go_to(self, z: np.ndarray, caption: str) -> None:
        """Move the handle to code `z` [D] and show its decode, captioned `caption`."""
        self._go_to(z, caption)

    @property
    def current_caption(self) -> str:
        """What the current code is ("dragged", "training face #3", ...)."""
        return getattr(self, "_current_caption", "")

    def _handle_dragged(self, x: float, y: float) -> None:
        if self.session is None or self.projection is None or self.current_z is None:
            return
        # Only the plotted coordinates change; components off the plane stay as they were.
        self.current_z = self.projection.lift(np.array([x, y]), self.current_z)
        self._current_caption = "dragged"
        self._decode_current()  # first: the face is awaited
        self.chain.set_current_code(self.current_z)
        self.directions.set_current_code(self.current_z)

    def _decode_current(self) -> None:
        """Show the face of `current_z`: decoded here, on the GUI thread, when this model's decodes have
        measured quick and no other thread is using it (services.decode.QuickRenders says why);
        otherwise on the decode worker, whose result `_decoded` shows."""
        request = (self._generation, self.session, self.current_z)
        if self.face_renders.quick:
            request_id = self.decoder.supersede()  # a pending request for an older code is not needed
            FOREGROUND.begin()  # chain steps and sub-pixels do not start meanwhile, as for the worker
            try:
                result = self._render(request, inline=True)
            except Exception as err:  # as on the worker: a bad model is reported, never raised into Qt
                log.exception("decode failed")
                self._decode_failed(request_id, str(err) or type(err).__name__)
                return
            finally:
                FOREGROUND.end()
            if result is not None:
                self._decoded(request_id, result, inline=True)
                return
        self.decoder.submit(request)

    def _decode_failed(self, _request_id: int, message: str) -> None:
        self.show_error(f"Decoding failed: {message}")

    def _decoded(self, request_id: int, result, inline: bool = False) -> None:
        generation, image, qimage, z, seconds = result
        if generation != self._generation or request_id < self._last_shown_request:
            return  # from a model no longer shown, or older than what is on screen
        self.face_renders.record(seconds, inline)
        self._last_shown_request = request_id
        norm = float(np.linalg.norm(z)) if z is not None else 0.0
        self.face_panel.show_face(image, f"{self._current_caption} · ‖z‖ = {norm:.2f}", qimage)
        self.recorder.face_shown(image, z)
        self.nearest_dock.panel.set_face(z, image.copy())

    def _use_current_as(self, which: int) -> None:
        if self.current_z is not None:
            self.interpolation.set_endpoint(which, self.current_z, self._current_caption,
                                            image=self.face_panel.current_image)
            self.tabs.setCurrentIndex(0)

    def _jump_to_random(self) -> None:
        if self.session is not None:
            seed = int(np.random.default_rng().integers(2**31))
            self._go_to(self.session.prior_samples(1, seed=seed)[0], caption=f"prior sample (seed {seed})")

    def _jump_to_p_hat(self, seed: int | None = None) -> None:
        """Go to a draw of the model's P̂(Z) (`ExplorerSession.p_hat_draws`) from `seed` (a random one by
        default). The density is fitted once per model (about a second); until it is, the draw is made
        on a worker so the window never waits."""
        session = self.session
        if session is None or session.atlas_codes is None:
            return
        seed = int(np.random.default_rng().integers(2**31)) if seed is None else int(seed)
        if session.density_fitted:
            self._p_hat_drawn(session, seed, session.p_hat_draws(1, seed)[0])
            return
        if self._p_hat_job is not None and self._p_hat_job.is_running:
            return  # a fit is under way: its draw is on its way
        self.statusBar().showMessage("Fitting P̂(Z) to the encoded faces…")
        drawn = self._bridge.to_gui(self._p_hat_drawn)
        self._p_hat_job = GeneratorJob(lambda: iter([session.p_hat_draws(1, seed)[0]]), name="p-hat",
                                       on_event=lambda z: drawn(session, seed, z),
                                       on_error=lambda message: log.warning("P̂(Z) fit: %s", message))
        self._p_hat_job.start()

    def _p_hat_drawn(self, session, seed: int, z: np.ndarray) -> None:
        if session is self.session:
            self._go_to(z, caption=f"P̂(Z) sample (seed {seed})")
            self.statusBar().showMessage(f"A draw of {session.name}'s P̂(Z): {P_HAT.describe()}")

    # ------------------------------------------------------------------ dataset images for hover
    def _start_atlas_images_job(self) -> None:
        """Find the atlas's training images on disk (if the user has the dataset) for hover previews."""
        session = self.session
        atlas = session.meta.get("atlas")
        if session.atlas_codes is not None and session.atlas_images is not None:  # they came with the model
            self.atlas_images = session.atlas_images
            self._atlas_images_state = "found"
            return
        if session.atlas_codes is None or not atlas:
            self._atlas_images_state = "absent"
            return
        if len(session.atlas_codes) > ATLAS_IMAGES_MAX:  # decoding and holding them would cost GB
            self._atlas_images_state = "too many"
            return
        specs = dataset_specs(session)

        def find_images():
            from latentlab.data import load_dataset

            for spec in specs:
                try:
                    # strict: with an unreadable image left out, image i would no longer be atlas face i
                    dataset = load_dataset(spec, split="train", limit=int(atlas["count"]), strict=True)
                except LatentLabError:
                    continue  # not on this machine: hover shows reconstructions only
                if tuple(dataset.image_shape) == session.image_shape:
                    yield np.array(dataset.images)
                    return

        loaded = self._bridge.to_gui(self._atlas_images_loaded)
        finished = self._bridge.to_gui(self._atlas_search_finished)
        self._atlas_job = GeneratorJob(find_images, name="atlas-images",
                                       on_event=lambda images: loaded(session, images),
                                       on_error=lambda message: log.info("atlas images: %s", message),
                                       on_done=lambda: finished(session))
        self._atlas_job.start()

    def _atlas_images_loaded(self, session, images) -> None:
        if session is self.session:
            self.atlas_images = images
            self._atlas_images_state = "found"
            self.statusBar().showMessage(f"Loaded {session.path or session.name}; training images found on disk for hover previews")

    def _atlas_search_finished(self, session) -> None:
        if session is self.session and self.atlas_images is None:
            self._atlas_images_state = "absent"

    def _cancel_atlas_job(self) -> None:
        if self._atlas_job is not None:
            self._atlas_job.cancel()
            self._atlas_job.join(10)
            self._atlas_job = None

    # ------------------------------------------------------------------ model list and recent files
    def _refresh_model_list(self) -> None:
        self.model_combo.clear()
        for path in bundled_models():
            self.model_combo.addItem(f"{path.stem} (bundled)", str(path.resolve()))
        for path in self.recent_files():
            if self.model_combo.findData(path) < 0:
                self.model_combo.addItem(Path(path).name, path)

    def _select_in_model_combo(self, path: Path | None) -> None:
        if path is None:
            return
        index = self.model_combo.findData(str(path))
        if index < 0:
            self.model_combo.addItem(path.name, str(path))
            index = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(index)

    def _model_chosen(self, index: int) -> None:
        path = self.model_combo.itemData(index)
        if path and (self.session is None or str(self.session.path) != path):
            self.request_open(path)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def _remember(self, path: Path) -> None:
        entry = str(path)
        recent = [entry] + [p for p in self.recent_files() if p != entry]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.request_open(p))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ dialogs and exports
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "LatentLab checkpoints (*.ckpt *.pt *.pth)")
        if path:
            self.request_open(path)

    def _save_path(self, title: str, filters: str, default: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, default, filters)
        return path

    def export_face(self, path: str | Path) -> Path | None:
        if self.face_panel.current_image is None:
            self.show_error("There is no face to save yet.")
            return None
        image = self.face_panel.current_image
        array = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
        return self._guarded(lambda: save_png(path, array.transpose(1, 2, 0), scale=4))

    def export_map(self, path: str | Path) -> Path | None:
        pixmap = self.map.plot.grab()
        return self._guarded(lambda: atomic_write(path, lambda tmp: _save_pixmap(pixmap, tmp)))

    def export_codes(self, path: str | Path) -> Path | None:
        session = self.session
        if session is None or session.atlas_codes is None:
            self.show_error("This model carries no encoded faces to export.")
            return None
        coords = self.projection.project(session.atlas_codes)
        return self._guarded(lambda: save_codes(path, session.atlas_codes, coords, session.atlas_labels))

    def export_face_dialog(self) -> None:
        if path := self._save_path("Save face", "PNG image (*.png)", "face.png"):
            self._report_saved(self.export_face(path))

    def export_map_dialog(self) -> None:
        if path := self._save_path("Save latent map", "PNG image (*.png)", "latent-map.png"):
            self._report_saved(self.export_map(path))

    def export_codes_dialog(self) -> None:
        if path := self._save_path("Export codes", "CSV (*.csv);;NumPy archive (*.npz)", "latent-codes.csv"):
            self._report_saved(self.export_codes(path))

    def _export_strip_png(self) -> None:
        self.tabs.setCurrentIndex(0)
        if path := self._save_path("Save interpolation strip", "PNG image (*.png)", "interpolation.png"):
            self._report_saved(self.interpolation.export_png(path))

    def _export_strip_gif(self) -> None:
        self.tabs.setCurrentIndex(0)
        if path := self._save_path("Save interpolation animation", "GIF animation (*.gif)", "interpolation.gif"):
            self._report_saved(self.interpolation.export_gif(path))

    def _guarded(self, action):
        try:
            return action()
        except (LatentLabError, OSError, ValueError) as err:
            self.show_error(str(err))
            return None

    def _report_saved(self, path) -> None:
        if path is not None:
            self.statusBar().showMessage(f"Saved {path}")

    def show_error(self, message: str) -> None:
        self.banner.show_message(message)
        self.statusBar().showMessage("Error — see the message at the top of the window")

    def show_help(self) -> None:
        QMessageBox.information(self, "How to use LatentLab", HELP_TEXT)

    # ------------------------------------------------------------------ training results
    def _training_finished(self, path: str) -> None:
        if self.open_checkpoint(path):
            self.statusBar().showMessage(f"Trained model loaded: {path}")

    # ------------------------------------------------------------------ drag and drop, closing
    def dragEnterEvent(self, event) -> None:
        if any(url.toLocalFile().lower().endswith(CHECKPOINT_SUFFIXES) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.lower().endswith(CHECKPOINT_SUFFIXES):
                self.request_open(path)
                event.acceptProposedAction()
                return

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every worker: training (writes a resumable checkpoint), atlas loading, decoding, gap maps."""
        if self._training_area.built:
            self.training.shutdown()
        self.recorder.shutdown()
        self.chain.shutdown()
        if self._pixel_area.built:
            self.pixels.shutdown()
        self.directions.shutdown()
        self.nearest_dock.panel.shutdown()
        self._cancel_atlas_job()
        if self._p_hat_job is not None:
            self._p_hat_job.join(10)  # a density fit cannot be interrupted; it ends within seconds
        self._open_request += 1  # a model still loading is not shown
        for job in self._open_jobs:
            job.join(10)  # a checkpoint read cannot be interrupted; it ends on its own
        self._open_jobs = []
        self.decoder.close()
        self.hover_decoder.close()
        self.map.shutdown()
        self.gap_worker.close(10)  # an EM fit in progress cannot be interrupted; it ends within seconds


def _decode_hover(request: tuple[int, ExplorerSession, np.ndarray, str, int]) -> tuple[int, str, int, np.ndarray]:
    """Hover worker: (generation, layer, index, decoded uint8 [C, H, W]) of the hovered point's code."""
    generation, session, z, layer, index = request
    one_torch_thread()
    return generation, layer, index, session.decode(z[None])[0]


def _fit_gap_map(request: tuple[ExplorerSession, LinearProjection, np.ndarray, np.ndarray],
                 ) -> tuple[LinearProjection, GapGrid]:
    """Gap worker: the gap map (`explorer.map_layers.gap_layer`) of the given axes, with those axes."""
    session, projection, atlas_xy, prior_xy = request
    return projection, gap_layer(session, projection, atlas_xy, prior_xy)


def _save_pixmap(pixmap, path: Path) -> None:
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"{path}: could not write the PNG image")
