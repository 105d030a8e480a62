"""`latentlab [CHECKPOINT]`: open the explorer window on a checkpoint, or on the bundled default model."""

from __future__ import annotations

import argparse
import os
import sys
import time

LAUNCHED_AT = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentlab", description=__doc__)
    parser.add_argument("checkpoint", nargs="?", help="a LatentLab checkpoint (.ckpt); default: the bundled model")
    parser.add_argument("--exit-after-paint", action="store_true",
                        help="quit once the window has painted (prints the seconds it took; used by the launch benchmark)")
    args = parser.parse_args(argv)

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.resources import default_model
    from latentlab.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("LatentLab")
    app.setOrganizationName("LatentLab")
    window = MainWindow()
    window.show()
    path = args.checkpoint or default_model()
    if path is not None:
        window.open_checkpoint(path)
    else:
        window.show_error("No bundled model found (resources/models is empty); open a checkpoint with File → Open.")
    if args.exit_after_paint:
        def painted() -> None:
            window.repaint()
            print(f"first paint after {time.perf_counter() - LAUNCHED_AT:.3f} s (from Python start of latentlab.ui.app)")
            window.close()
            app.quit()

        QTimer.singleShot(0, painted)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
