"""`python tests/session_probe.py SESSION`: run `latentlab SESSION` (the real command line) offscreen, wait
until the window has restored it, and print what the window shows as one JSON line; used by
tests/test_ui_sessions.py to check a session restored in a fresh process. Run with HOME (or
XDG_CONFIG_HOME) pointing at a scratch folder: the window's QSettings live there."""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TIMEOUT_S = 120


def window_state(window) -> dict:
    """The restored state as plain JSON: what `ui.sessions.capture` reads, plus what the widgets show."""
    from latentlab.ui.compare.window import CompareWindow
    from latentlab.ui.sessions.capture import capture

    saved = capture(window, list(window.directions.directions))

    def plain(value):
        if isinstance(value, np.ndarray):
            return {"dtype": str(value.dtype), "values": value.tolist()}
        if hasattr(value, "__dataclass_fields__"):
            return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    compares = [w for w in window.findChildren(CompareWindow) if w.isVisible()]
    return {"captured": plain(saved),
            "shown": {"model_combo": window.model_combo.currentText(), "axes": window.axes_combo.currentText(),
                      "x_axis": window.map.plot.getAxis("bottom").labelText,
                      "face": window.face_panel.current_image is not None,
                      "chain_step": window.chain.step_count,
                      "pixel_dock_visible": window.pixel_dock.isVisible(),
                      "compare_columns": [] if not compares else list(compares[0].columns),
                      "banner": window.banner.message,
                      "direction_names": [window.directions.list.item(i).text() for i in range(window.directions.list.count())],
                      "recent_sessions": window.session_files.recent()}}


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.ui import app as latentlab_app
    from latentlab.ui.main_window import MainWindow

    application = QApplication.instance() or QApplication([sys.argv[0]])
    started = time.monotonic()

    def restored(window) -> bool:
        chain_wanted = window.session_files.recent() and window.chain.latest_codes is not None
        return bool(window.session is not None and window.face_panel.current_image is not None and chain_wanted)

    def poll() -> None:
        windows = [w for w in application.topLevelWidgets() if isinstance(w, MainWindow)]
        window = windows[0] if windows else None
        failed = window is not None and window.banner.isVisible() and window.session is None
        if window is not None and (restored(window) or failed or time.monotonic() - started > TIMEOUT_S):
            print(json.dumps(window_state(window) if window.session is not None
                             else {"banner": window.banner.message}))
            window.close()
            application.quit()
            return
        QTimer.singleShot(100, poll)

    QTimer.singleShot(100, poll)
    return latentlab_app.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
