"""Worker threads → GUI thread: the one Qt bridge every view uses, and the views' redraw rate.

Jobs (`services.jobs.GeneratorJob`, `services.decode.LatestRequestWorker`) report through plain
callbacks on their worker thread, and a worker must never touch a widget. `JobBridge.to_gui(slot)`
turns a GUI-thread method into such a callback: each call travels as a queued signal and runs
`slot(*args)` on the GUI thread, in the order the calls were made. The arguments cross as they are
(owned numpy arrays, sessions, tuples), so a worker hands over copies it will not touch again.

Views that receive many results keep only the latest state and redraw on a QTimer every `REDRAW_MS`
(GAN Lab's scheme: computation and redraw at different rates), so however fast a worker reports,
the GUI thread's cost stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

REDRAW_MS = 33  # at most ~30 redraws per second


class JobBridge(QObject):
    """Runs calls made on worker threads on the thread it lives in (the GUI thread; see the module
    docstring). Make it a child of the widget whose methods it calls: calls still queued when that
    widget is deleted are dropped with it, and later ones are ignored."""

    _call = Signal(object, object)  # (slot, args): emitted on a worker, delivered queued

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def to_gui(self, slot: Callable[..., Any]) -> Callable[..., None]:
        """A callback for any thread: calling it with `args` runs `slot(*args)` on the GUI thread."""

        def call(*args: Any) -> None:
            try:
                self._call.emit(slot, args)
            except RuntimeError:  # the bridge was deleted with its widget (a window closed mid-job)
                pass

        return call

    def _run(self, slot: Callable[..., Any], args: tuple) -> None:
        slot(*args)
