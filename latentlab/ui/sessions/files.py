"""File → Open session… / Save session… / Recent sessions for the main window (`SessionFiles`).

Recent sessions live in the window's QSettings under "recent_sessions", as its recent models do under
"recent". A session carries the Directions tab's attribute directions of its model
(`SavedSession.directions`): saved from the tab, and put back in it when the session is opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from latentlab.errors import LatentLabError
from latentlab.explorer.saved_session import SUFFIX, read_session, session_path, write_session
from latentlab.ui.sessions.capture import capture
from latentlab.ui.sessions.restore import restore

MAX_RECENT_SESSIONS = 8
SESSION_FILTER = f"LatentLab sessions (*{SUFFIX})"
RECENT_KEY = "recent_sessions"


class SessionFiles(QObject):
    """The session entries of `menu` (the window's File menu) and what they do."""

    def __init__(self, window: QMainWindow, menu: QMenu) -> None:
        super().__init__(window)
        self.window = window
        for text, slot, key in (("Open &session…", self.open_dialog, QKeySequence("Ctrl+Shift+O")),
                                ("Sa&ve session…", self.save_dialog, QKeySequence("Ctrl+Shift+S"))):
            action = menu.addAction(text)
            action.setShortcut(key)
            action.triggered.connect(slot)
        self.recent_menu = menu.addMenu("Recent sessio&ns")
        self._rebuild_recent_menu()

    # ------------------------------------------------------------------ open and save
    def open(self, path: str | Path) -> bool:
        """Restore the session at `path` in the window; a bad file, or a model that cannot be found or
        does not fit, is reported in the window's banner and leaves the window as it was."""
        path = Path(path).expanduser().resolve()
        try:
            saved = read_session(path)
        except LatentLabError as err:
            self.window.show_error(str(err))
            return False
        if not restore(self.window, saved, path, self._locate_model):
            return False
        self.window.directions.replace_directions(saved.directions)
        self._remember(path)
        return True

    def save(self, path: str | Path) -> Path | None:
        """Write the window's session to `path` (.llsession added when missing) and its arrays beside it."""
        try:
            written = write_session(capture(self.window, list(self.window.directions.directions)), path)
        except LatentLabError as err:
            self.window.show_error(str(err))
            return None
        self._remember(written)
        self.window.statusBar().showMessage(f"Saved session {written} (and its arrays, {written.name}.npz)")
        return written

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", SESSION_FILTER)
        if path:
            self.open(path)

    def save_dialog(self) -> None:
        session = self.window.session
        default = f"{session.name}{SUFFIX}" if session is not None else f"session{SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", default, SESSION_FILTER)
        if path:
            self.save(session_path(path))

    def _locate_model(self, recorded: str) -> str | None:
        """Ask where the session's model is now (it is not at `recorded`, nor beside the session)."""
        name = Path(recorded).name
        path, _ = QFileDialog.getOpenFileName(
            self.window, f"The session's model {name} has moved — where is it now?", "",
            f"{name} ({name});;LatentLab checkpoints (*.ckpt *.pt *.pth);;All files (*)")
        return path or None

    # ------------------------------------------------------------------ recent sessions
    def recent(self) -> list[str]:
        value = self.window.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def _remember(self, path: Path) -> None:
        entry = str(path)
        recent = [entry] + [p for p in self.recent() if p != entry]
        self.window.settings.setValue(RECENT_KEY, recent[:MAX_RECENT_SESSIONS])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open(p))
        self.recent_menu.setEnabled(bool(recent))
