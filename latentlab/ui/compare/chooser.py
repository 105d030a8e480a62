"""The Compare window's list of models that can be compared: `ModelChooser`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from latentlab.ui.compare.columns import small_label


class ModelChooser(QGroupBox):
    """Check boxes of the models that can be compared, each with a one-line note (why it cannot
    join, or what it is), and "Add checkpoint…". Signals: `toggled(path, checked)`, `add_requested()`."""

    toggled = Signal(str, bool)
    add_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Models", parent)
        self._boxes: dict[str, QCheckBox] = {}
        self._notes: dict[str, QLabel] = {}
        self._rows = QVBoxLayout()
        self._rows.setSpacing(2)
        add = QPushButton("Add checkpoint…")
        add.setToolTip("Compare a checkpoint file that is not listed")
        add.clicked.connect(self.add_requested)
        layout = QVBoxLayout(self)
        layout.addLayout(self._rows)
        layout.addWidget(add)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def add_candidate(self, path: str | Path, label: str) -> None:
        key = str(path)
        if key in self._boxes:
            return
        box = QCheckBox(label)
        box.setToolTip(key)
        box.toggled.connect(lambda checked, k=key: self.toggled.emit(k, checked))
        note = small_label()
        note.hide()
        self._rows.addWidget(box)
        self._rows.addWidget(note)
        self._boxes[key], self._notes[key] = box, note

    def candidates(self) -> list[str]:
        return list(self._boxes)

    def is_checked(self, path: str | Path) -> bool:
        box = self._boxes.get(str(path))
        return box is not None and box.isChecked()

    def set_checked(self, path: str | Path, checked: bool) -> None:
        """Tick or untick without emitting `toggled` (the window already acted)."""
        box = self._boxes[str(path)]
        box.blockSignals(True)
        box.setChecked(checked)
        box.blockSignals(False)

    def set_note(self, path: str | Path, text: str, problem: bool = False) -> None:
        note = self._notes[str(path)]
        note.setText(text)
        note.setStyleSheet("color: #b23c17;" if problem else "color: #666;")
        note.setVisible(bool(text))

    def note(self, path: str | Path) -> str:
        return self._notes[str(path)].text()
