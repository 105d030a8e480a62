"""The dock that holds the Nearest training faces panel, with its View-menu toggle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

from latentlab.ui.nearest.panel import NearestPanel
from latentlab.ui.widgets.scroll_areas import scroll_area

SHORTCUT = "Ctrl+Shift+N"


class NearestDock(QDockWidget):
    """Hidden until toggled (`toggle_action`: View → Nearest training faces, Ctrl+Shift+N); the panel
    computes only while the dock is shown. The window calls `panel.set_face` with each face it shows
    and connects its `session_changed` here."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("Nearest training faces — memorisation check", window)
        self.setObjectName("nearest")
        self.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea)
        self.panel = NearestPanel()
        self.setWidget(scroll_area(self.panel))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.hide()
        self.visibilityChanged.connect(self.panel.set_active)
        self._window, self._sized = window, False
        self.visibilityChanged.connect(self._size_once)
        self.toggle_action = self.toggleViewAction()
        self.toggle_action.setText("&Nearest training faces (memorisation check)")
        self.toggle_action.setShortcut(QKeySequence(SHORTCUT))

    def _size_once(self, visible: bool) -> None:
        """The first time it shows, make the dock wide (or tall) enough for its rows of thumbnails."""
        if visible and not self._sized:
            self._sized = True
            hint = self.panel.sizeHint()
            across = self._window.dockWidgetArea(self) == Qt.DockWidgetArea.RightDockWidgetArea
            self._window.resizeDocks([self], [hint.width() + 30 if across else hint.height() + 30],
                                     Qt.Orientation.Horizontal if across else Qt.Orientation.Vertical)
