"""`latentlab [CHECKPOINT | SESSION]`: open the explorer window on a checkpoint, a saved session (.llsession),
or the bundled default model."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

LAUNCHED_AT = time.perf_counter()


NO_DISPLAY = (
    "latentlab: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open.\n"
    "Run it in a desktop session, over ssh with X forwarding (ssh -X HOST, then latentlab), or on a virtual\n"
    "display: xvfb-run latentlab. (QT_QPA_PLATFORM=offscreen latentlab runs it with no visible window.)"
)


def no_display_message(environ: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """The message to print when a Linux session has no display and the user has not chosen a Qt
    platform. Switching to the offscreen platform on our own would run a window nobody can see, for
    ever and without a word (as happened over ssh without X forwarding), so we say so and stop."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentlab", description=__doc__)
    parser.add_argument("checkpoint", nargs="?",
                        help="a LatentLab checkpoint (.ckpt) or saved session (.llsession); default: the bundled model")
    parser.add_argument("--exit-after-paint", action="store_true",
                        help="quit once the window has painted (prints the seconds it took; used by the launch benchmark)")
    args = parser.parse_args(argv)

    if (message := no_display_message()) is not None:
        print(message, file=sys.stderr)
        return 1
    from latentlab.services.collector import collector_paused

    # No collector passes while the libraries load and the window is built: with the collector on,
    # importing torch, PySide6 and pyqtgraph ran hundreds of them, three full ones among them
    # (`python -m latentlab.bench launch` times that import both ways). What the block made is then
    # frozen (modules and widgets live as long as the window: later full passes need not walk them),
    # and with it the cycles the imports left (closures, tuples, typing aliases), since collecting
    # them would take one more full pass. The model is opened after the block, with the collector on,
    # so that a model replaced later is still collected.
    with collector_paused():
        # The Qt-free layers (torch among them) before PySide6: once PySide6 is imported, its import
        # hook (shibokensupport's __feature__ check) reads the source of every module imported after
        # it, which for torch's 1,300 modules adds about 0.25 s to the launch.
        from latentlab.explorer.saved_session import SUFFIX as SESSION_SUFFIX
        from latentlab.resources import default_model
        from latentlab.services.memory import limit_malloc_arenas

        limit_malloc_arenas()  # before the window's worker threads take arenas of their own

        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from latentlab.ui.main_window import MainWindow

        app = QApplication.instance() or QApplication([sys.argv[0]])
        app.setApplicationName("LatentLab")
        app.setOrganizationName("LatentLab")
        window = MainWindow()
    window.show()
    path = args.checkpoint or default_model()
    if path is not None and str(path).endswith(SESSION_SUFFIX):
        window.session_files.open(path)
    elif path is not None:
        window.open_checkpoint(path)
    else:
        window.show_error("No bundled model found (resources/models is empty); open a checkpoint with File → Open.")
    if args.exit_after_paint:
        def painted() -> None:
            window.repaint()
            passes = "/".join(str(generation["collections"]) for generation in gc.get_stats())
            print(f"first paint after {time.perf_counter() - LAUNCHED_AT:.3f} s (from Python start of latentlab.ui.app; "
                  f"collector passes by generation {passes})", flush=True)
            window.close()
            app.quit()

        QTimer.singleShot(0, painted)
    code = app.exec()
    release_window(window)
    return code


def release_window(window) -> None:
    """Delete the main window (and with it its scenes, docks and child windows) while Python is still
    whole. Left to interpreter shutdown, the destructor of one of its pyqtgraph scenes could call a
    Python override whose Python side was already torn down, and the process ended with a
    segmentation fault after the window had closed (seen after restoring a saved session:
    tests/test_ui_sessions.py's fresh-process test failed three times in four)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


if __name__ == "__main__":
    sys.exit(main())
