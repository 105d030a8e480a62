"""`latentlab.explore(model, data)`: the explorer window on an in-memory model, from a script or a notebook."""

from __future__ import annotations

import sys
from typing import Any

from latentlab.errors import LatentLabError
from latentlab.explorer.session import ExplorerSession
from latentlab.ui.app import no_display_message


def explore(model: Any, data: Any = None, *, block: bool = True, name: str | None = None, atlas_size: int = 3000):
    """Open the explorer window on `model` (see `latentlab.explore`). With block=True (the default)
    return when the window closes (None); with block=False show the window and return it at once
    (the caller runs the Qt event loop: a notebook with `%gui qt`, an application, or a test)."""
    session = ExplorerSession.from_model(model, data, name=name, atlas_size=atlas_size)
    if (message := no_display_message()) is not None:
        raise LatentLabError(message.removeprefix("latentlab: "))
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "latentlab"])
    app.setApplicationName("LatentLab")
    app.setOrganizationName("LatentLab")
    window = MainWindow()
    window.set_session(session)
    window.show()
    if not block:
        return window
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    loop = QEventLoop()
    window.destroyed.connect(loop.quit)  # closing the window (closeEvent stops its workers) ends the wait
    loop.exec()
    return None
