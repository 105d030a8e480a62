"""The Directions tab: make attribute directions from two groups of faces or from a label, list, name,
delete, export and import them, and move the current face along one with a slider.

Display and delegate: the maths is `latentlab.explorer.directions` (Qt-free). A direction is
estimated on a one-item `GeneratorJob` (logistic regression on thousands of codes takes a moment),
its result brought back through a `JobBridge`. The slider only emits `move_requested(z, caption)`
with z = z0 + t·v/‖v‖; the main window decodes it on its latest-wins worker. z0 is the current face
when the slider was last at rest: any other change of face (a click, a drag, a jump) resets the
slider to 0 from there.

Faces are chosen on the latent map with Ctrl+click (a click on a chosen face removes it) into group A
(without the attribute) or group B (with it), drawn as rings. Directions belong to a model: each
model opened in the session keeps its own list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.analysis.projection import LinearProjection
from latentlab.data.synthetic_faces import CATEGORICAL_FACTORS
from latentlab.errors import LatentLabError
from latentlab.explorer.directions import (
    DEFAULT_METHOD,
    METHODS,
    AttributeDirection,
    direction_from_groups,
    direction_from_label,
    is_categorical,
    load_directions,
    save_directions,
    unique_name,
)
from latentlab.explorer.session import ExplorerSession
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import JobBridge
from latentlab.ui.widgets.latent_map import LatentMap

GROUP_COLOURS = {"A": (227, 0, 140), "B": (0, 170, 200)}  # rings on the map: A magenta, B teal
SLIDER_STEPS = 100   # slider ticks per unit of t
T_RANGE = 4.0        # the slider spans t in [-T_RANGE, T_RANGE] (latent units along v/‖v‖)
AXIS_PREFIX = "direction:"
FILE_FILTER = "LatentLab directions (*.json);;All files (*)"


class DirectionsPanel(QWidget):
    """Signals: `move_requested(z, caption)`, `directions_changed(names)` (the current model's list,
    for the axes box), `error_occurred(message)`."""

    move_requested = Signal(object, str)
    directions_changed = Signal(list)
    error_occurred = Signal(str)

    def __init__(self, latent_map: LatentMap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map = latent_map
        self.session: ExplorerSession | None = None
        self.projection: LinearProjection | None = None
        self.groups: dict[str, list[int]] = {"A": [], "B": []}
        self._by_model: dict[str, list[AttributeDirection]] = {}
        self._anchor: np.ndarray | None = None   # z0: where the slider's t = 0 is
        self._current: np.ndarray | None = None  # the window's current code
        self._sent: np.ndarray | None = None     # the last code this panel asked for
        self._job: GeneratorJob | None = None
        self._bridge = JobBridge(self)
        self._build()
        latent_map.point_ctrl_clicked.connect(self.toggle_face)
        self.set_session(None)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        make = QGroupBox("New direction")
        self.from_faces = QRadioButton("faces I pick on the map")
        self.from_label = QRadioButton("a label of the training faces")
        self.source_buttons = QButtonGroup(self)
        for button in (self.from_faces, self.from_label):
            self.source_buttons.addButton(button)
        self.from_faces.setChecked(True)

        picking = QWidget()
        self.group_a = QRadioButton("A: without the attribute")
        self.group_b = QRadioButton("B: with it")
        self.target_buttons = QButtonGroup(self)
        for button, key in ((self.group_a, "A"), (self.group_b, "B")):
            self.target_buttons.addButton(button)
            button.setStyleSheet(f"color: rgb{GROUP_COLOURS[key]}; font-weight: bold;")
        self.group_a.setChecked(True)
        self.group_counts = QLabel()
        self.clear_button = QPushButton("Clear groups")
        self.clear_button.clicked.connect(self.clear_groups)
        hint = QLabel("Ctrl+click faces on the map to put them in the group chosen here (Ctrl+click again "
                      "removes one).")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        pick_layout = QVBoxLayout(picking)
        pick_layout.setContentsMargins(0, 0, 0, 0)
        pick_layout.addWidget(hint)
        row = QHBoxLayout()
        row.addWidget(self.group_a)
        row.addWidget(self.group_b)
        row.addStretch(1)
        pick_layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.group_counts, 1)
        row.addWidget(self.clear_button)
        pick_layout.addLayout(row)

        labelling = QWidget()
        self.label_combo = QComboBox()
        self.label_combo.currentTextChanged.connect(self._label_chosen)
        self.category_combo = QComboBox()
        self.category_combo.setToolTip("The category to move toward (against all the others)")
        self.category_combo.currentIndexChanged.connect(lambda _: self._suggest_name())
        self.label_groups_text = QLabel()
        self.label_groups_text.setStyleSheet("color: #555;")
        self.label_groups_text.setWordWrap(True)
        label_layout = QFormLayout(labelling)
        label_layout.setContentsMargins(0, 0, 0, 0)
        label_layout.addRow("Label", self.label_combo)
        label_layout.addRow("Toward", self.category_combo)
        label_layout.addRow(self.label_groups_text)

        self.source_pages = QStackedWidget()
        self.source_pages.addWidget(picking)
        self.source_pages.addWidget(labelling)
        self.from_label.toggled.connect(lambda on: self.source_pages.setCurrentIndex(1 if on else 0))
        self.from_label.toggled.connect(lambda _: self._suggest_name())

        self.method_combo = QComboBox()
        for key, text in METHODS.items():
            self.method_combo.addItem(text + (" (default)" if key == DEFAULT_METHOD else ""), key)
        self.method_combo.setCurrentIndex(self.method_combo.findData(DEFAULT_METHOD))
        self.method_combo.setToolTip("Group means: mean(B) − mean(A) (White 2016). Classifier: the normal of a "
                                     "logistic-regression boundary between A and B (as InterFaceGAN, Shen et al. "
                                     "2020), which discounts what merely varies with the attribute. "
                                     "`python -m latentlab.bench directions` compares them.")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("a name, e.g. smile")
        self.create_button = QPushButton("Create direction")
        self.create_button.clicked.connect(self.create_direction)
        self.name_edit.returnPressed.connect(self.create_direction)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")

        make_layout = QFormLayout(make)
        sources = QHBoxLayout()
        sources.addWidget(self.from_faces)
        sources.addWidget(self.from_label)
        sources.addStretch(1)
        make_layout.addRow("From", sources)
        make_layout.addRow(self.source_pages)
        make_layout.addRow("Method", self.method_combo)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name_edit, 1)
        name_row.addWidget(self.create_button)
        make_layout.addRow("Name", name_row)
        make_layout.addRow(self.status)

        listed = QGroupBox("Directions of this model")
        self.list = QListWidget()
        self.list.setMinimumHeight(60)
        self.list.setMaximumHeight(120)
        self.list.currentRowChanged.connect(self._direction_selected)
        self.list.itemChanged.connect(self._renamed)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save this model's directions as JSON (vector, name, origin of each)")
        self.export_button.clicked.connect(self.export_dialog)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self.import_dialog)
        buttons = QHBoxLayout()
        for button in (self.delete_button, self.export_button, self.import_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(-T_RANGE * SLIDER_STEPS), int(T_RANGE * SLIDER_STEPS))
        self.slider.setToolTip("Move the current face along the selected direction: z0 + t · v/‖v‖")
        self.slider.valueChanged.connect(self._slid)
        self.t_label = QLabel()
        self.t_label.setMinimumWidth(70)
        move = QHBoxLayout()
        move.addWidget(QLabel("Move"))
        move.addWidget(self.slider, 1)
        move.addWidget(self.t_label)
        list_layout = QVBoxLayout(listed)
        list_layout.addWidget(self.list)
        list_layout.addLayout(buttons)
        list_layout.addLayout(move)
        self.direction_info = QLabel()
        self.direction_info.setWordWrap(True)
        self.direction_info.setStyleSheet("color: #555;")
        list_layout.addWidget(self.direction_info)

        layout = QVBoxLayout(self)
        layout.addWidget(make)
        layout.addWidget(listed)
        layout.addStretch(1)

    # ------------------------------------------------------------------ the window's state
    def set_session(self, session: ExplorerSession | None) -> None:
        """Show `session`'s directions; the groups and the slider start afresh."""
        self.session = session
        self.groups = {"A": [], "B": []}
        self._anchor = self._current = self._sent = None
        has_atlas = session is not None and session.atlas_codes is not None
        self.from_faces.setEnabled(has_atlas)
        self.from_label.setEnabled(has_atlas and bool(self._labels()))
        self.create_button.setEnabled(has_atlas)
        self.status.setText("" if has_atlas or session is None else
                            "This model carries no encoded faces, so directions can only be imported.")
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItems(sorted(self._labels()))
        self.label_combo.blockSignals(False)
        self._label_chosen(self.label_combo.currentText())
        if not self.from_label.isEnabled():
            self.from_faces.setChecked(True)
        self.import_button.setEnabled(session is not None)
        self._refill_list()
        self._draw_groups()

    def set_projection(self, projection: LinearProjection | None) -> None:
        """The map's axes changed: redraw the chosen faces' rings there."""
        self.projection = projection
        self._draw_groups()

    def set_current_code(self, z: np.ndarray | None) -> None:
        """The window's current code. A face this panel did not ask for becomes the slider's new z0."""
        self._current = None if z is None else np.asarray(z, dtype=np.float32).copy()
        if self._current is not None and (self._sent is None or not np.array_equal(self._current, self._sent)):
            self._anchor = self._current
            self._sent = None
            self._set_slider(0)

    @property
    def directions(self) -> list[AttributeDirection]:
        """The current model's directions (the list shown)."""
        return self._by_model.setdefault(self._model_key(), []) if self.session is not None else []

    def direction_for_axis(self, data) -> AttributeDirection | None:
        """The direction an axes-box entry (`axis_entries`) stands for, or None."""
        if isinstance(data, str) and data.startswith(AXIS_PREFIX):
            return next((d for d in self.directions if d.name == data[len(AXIS_PREFIX):]), None)
        return None

    # ------------------------------------------------------------------ groups
    def toggle_face(self, layer: str, index: int) -> None:
        """Ctrl+click on the map: add the atlas face to the chosen group, or take it out of its group."""
        if self.session is None or self.session.atlas_codes is None:
            return
        if layer != "atlas":
            self.status.setText("Groups are made of encoded training faces (the blue dots), not prior samples.")
            return
        target = "A" if self.group_a.isChecked() else "B"
        other = "B" if target == "A" else "A"
        if index in self.groups[target]:
            self.groups[target].remove(index)
        else:
            if index in self.groups[other]:
                self.groups[other].remove(index)
            self.groups[target].append(index)
        self.from_faces.setChecked(True)
        self._draw_groups()

    def clear_groups(self) -> None:
        self.groups = {"A": [], "B": []}
        self._draw_groups()

    def _draw_groups(self) -> None:
        a, b = len(self.groups["A"]), len(self.groups["B"])
        self.group_counts.setText(f"A: {a} face{'s' * (a != 1)} · B: {b} face{'s' * (b != 1)}")
        if self.session is None or self.session.atlas_codes is None or self.projection is None:
            self.map.set_marks([])
            return
        codes = self.session.atlas_codes
        self.map.set_marks([(self.projection.project(codes[self.groups[key]]) if self.groups[key] else np.empty((0, 2)),
                             GROUP_COLOURS[key]) for key in ("A", "B")])

    # ------------------------------------------------------------------ labels
    def _labels(self) -> dict[str, np.ndarray]:
        if self.session is None or self.session.atlas_codes is None:
            return {}
        return {k: v for k, v in self.session.atlas_labels.items() if k != "index" and len(np.unique(v)) > 1}

    def _label_chosen(self, label: str) -> None:
        values = self._labels().get(label)
        self.category_combo.clear()
        if values is not None and is_categorical(values) and len(np.unique(values)) > 2:
            names = CATEGORICAL_FACTORS.get(label, ())
            for level in np.unique(values):
                self.category_combo.addItem(names[level] if level < len(names) else str(level), int(level))
        self.category_combo.setEnabled(self.category_combo.count() > 0)
        if values is None:
            self.label_groups_text.setText("")
        elif is_categorical(values):
            self.label_groups_text.setText("A: the other categories, B: the chosen one" if self.category_combo.count()
                                           else "A: the lower value, B: the higher (e.g. glasses: no → yes)")
        else:
            self.label_groups_text.setText(f"A: faces below the median ({np.median(values):.3g}), B: above it")
        self._suggest_name()

    def _suggest_name(self) -> None:
        if self.from_label.isChecked() and self.label_combo.currentText():
            label = self.label_combo.currentText()
            category = self.category_combo.currentText()
            self.name_edit.setPlaceholderText(f"{label} = {category}" if category else label)
        else:
            self.name_edit.setPlaceholderText("a name, e.g. smile")

    # ------------------------------------------------------------------ creating
    def create_direction(self) -> None:
        """Estimate the direction on a worker; it joins the list when it arrives."""
        session = self.session
        if session is None or session.atlas_codes is None or (self._job is not None and self._job.is_running):
            return
        method = self.method_combo.currentData()
        name = unique_name(self.name_edit.text().strip() or self.name_edit.placeholderText().strip(),
                           [d.name for d in self.directions])
        origin = {"model": session.name, "model_file": str(session.path) if session.path else None,
                  "latent_dim": session.latent_dim}
        codes = session.atlas_codes
        if self.from_label.isChecked():
            label = self.label_combo.currentText()
            values = self._labels()[label]
            category = self.category_combo.currentData()

            def estimate():
                yield direction_from_label(name, method, codes, values, label, category, origin)
        else:
            group_a, group_b = list(self.groups["A"]), list(self.groups["B"])
            if not group_a or not group_b:
                self._refuse("Ctrl+click at least one face into group A and one into group B first.")
                return

            def estimate():
                yield direction_from_groups(name, method, codes, group_a, group_b, origin)

        created, failed = self._bridge.to_gui(self._created), self._bridge.to_gui(self._refuse)
        done = self._bridge.to_gui(lambda: self.create_button.setEnabled(True))
        self._job = GeneratorJob(estimate, name="direction", on_event=lambda d: created(session, d),
                                 on_error=failed, on_done=done)
        self.create_button.setEnabled(False)
        self.status.setText(f"Estimating '{name}'…")
        self._job.start()

    @property
    def busy(self) -> bool:
        """A direction is being estimated."""
        return self._job is not None and self._job.is_running

    def _created(self, session: ExplorerSession, direction: AttributeDirection) -> None:
        if session is not self.session:
            return  # the model changed meanwhile
        self._add([direction])
        self.name_edit.clear()
        sizes = direction.origin.get("group_sizes") or [len(direction.origin.get("group_a", [])),
                                                        len(direction.origin.get("group_b", []))]
        self.status.setText(f"Created '{direction.name}' from {sizes[0]} faces without and {sizes[1]} with.")

    def _refuse(self, message: str) -> None:
        self.status.setText(message)
        self.error_occurred.emit(message)

    def replace_directions(self, directions: list[AttributeDirection]) -> None:
        """The current model's directions become `directions` (a restored session's)."""
        if self.session is None:
            return
        self.directions.clear()
        self._add(directions)

    def _add(self, directions: list[AttributeDirection]) -> None:
        for direction in directions:
            direction.name = unique_name(direction.name, [d.name for d in self.directions])
            self.directions.append(direction)
        self._refill_list()
        self.list.setCurrentRow(self.list.count() - 1)

    # ------------------------------------------------------------------ the list
    def _refill_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for direction in self.directions:
            item = QListWidgetItem(direction.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip(_describe(direction))
            self.list.addItem(item)
        self.list.blockSignals(False)
        has = bool(self.directions)
        self.delete_button.setEnabled(has)
        self.export_button.setEnabled(has)
        self._direction_selected(self.list.currentRow())
        self.directions_changed.emit([d.name for d in self.directions])

    def selected(self) -> AttributeDirection | None:
        row = self.list.currentRow()
        return self.directions[row] if 0 <= row < len(self.directions) else None

    def _direction_selected(self, _row: int) -> None:
        direction = self.selected()
        self.slider.setEnabled(direction is not None)
        self.direction_info.setText("" if direction is None else _describe(direction))
        self._anchor = self._current  # t = 0 is the face shown now
        self._sent = None
        self._set_slider(0)

    def _renamed(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        direction = self.directions[row]
        others = [d.name for i, d in enumerate(self.directions) if i != row]
        name = item.text().strip()
        direction.name = unique_name(name, others) if name else direction.name
        self._refill_list()
        self.list.setCurrentRow(row)

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.directions):
            del self.directions[row]
            self._refill_list()
            self.list.setCurrentRow(min(row, len(self.directions) - 1))

    # ------------------------------------------------------------------ moving
    def _set_slider(self, value: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(value)
        self.slider.blockSignals(False)
        self.t_label.setText(f"t = {value / SLIDER_STEPS:+.2f}")

    def _slid(self, value: int) -> None:
        t = value / SLIDER_STEPS
        self.t_label.setText(f"t = {t:+.2f}")
        direction = self.selected()
        if direction is None or self._anchor is None:
            return
        self._sent = direction.moved(self._anchor, t)
        self.move_requested.emit(self._sent, f"{direction.name}: t = {t:+.2f}")

    # ------------------------------------------------------------------ files
    def export_to(self, path: str | Path) -> Path | None:
        try:
            written = save_directions(path, self.directions)
        except LatentLabError as err:
            self._refuse(str(err))
            return None
        self.status.setText(f"Saved {len(self.directions)} direction(s) to {written}")
        return written

    def import_from(self, path: str | Path) -> bool:
        if self.session is None:
            return False
        try:
            directions = load_directions(path, self.session.latent_dim)
        except LatentLabError as err:
            self._refuse(str(err))
            return False
        self._add(directions)
        foreign = sorted({str(d.origin.get("model")) for d in directions if d.origin.get("model") not in
                          (None, self.session.name)})
        note = f" (made for {', '.join(foreign)}: same latent size, but another model's space)" if foreign else ""
        self.status.setText(f"Imported {len(directions)} direction(s) from {path}{note}")
        return True

    def export_dialog(self) -> None:
        default = f"{self.session.name}-directions.json" if self.session is not None else "directions.json"
        path, _ = QFileDialog.getSaveFileName(self, "Export directions", default, FILE_FILTER)
        if path:
            self.export_to(path)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import directions", "", FILE_FILTER)
        if path:
            self.import_from(path)

    def _model_key(self) -> str:
        return str(self.session.path) if self.session.path is not None else f"memory:{self.session.name}"

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.join(10)  # a fit cannot be interrupted; it ends within a second or two


def _describe(direction: AttributeDirection) -> str:
    """One line about where a direction came from."""
    origin = direction.origin
    method = METHODS.get(origin.get("method"), origin.get("method", "imported"))
    if origin.get("source") == "label":
        source = f"label {origin.get('label')} ({origin.get('groups')}; {origin.get('group_sizes')} faces)"
    elif origin.get("source"):
        source = f"{len(origin.get('group_a', []))} faces without, {len(origin.get('group_b', []))} with"
    else:
        source = "no recorded source"
    return f"{direction.name}: {method}, from {source}; model {origin.get('model', '?')}; ‖v‖ = " \
           f"{np.linalg.norm(direction.vector):.2f}"


def sync_axis_entries(combo: QComboBox, names: list[str]) -> bool:
    """Make the axes box list "along NAME" for each direction after its own entries (data
    `AXIS_PREFIX + name`). Returns True when the entry shown was a direction that is gone (the box
    then shows its first entry and the caller redraws the map)."""
    shown_index, shown = combo.currentIndex(), combo.currentData()
    combo.blockSignals(True)
    for index in reversed(range(combo.count())):
        data = combo.itemData(index)
        if isinstance(data, str) and data.startswith(AXIS_PREFIX):
            combo.removeItem(index)
    for name in names:
        combo.addItem(f"x = along direction '{name}'", AXIS_PREFIX + name)
    is_direction = isinstance(shown, str) and shown.startswith(AXIS_PREFIX)
    gone = is_direction and shown[len(AXIS_PREFIX):] not in names
    combo.setCurrentIndex(0 if gone else combo.findData(shown) if is_direction else shown_index)
    combo.blockSignals(False)
    return gone
