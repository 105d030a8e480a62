"""Regression guard: signals emitted from worker threads must not corrupt Python refcounts.

PySide6 6.12.0 decrements True/False/None once too often per cross-thread emission, which crashes
the interpreter after a few thousand emissions (why pyproject pins PySide6 below 6.12).
"""

import gc
import sys
import threading

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int, object)


class _Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def slot(self, index, payload) -> None:
        self.count += 1


def test_cross_thread_emission_keeps_refcounts_intact(qapp):
    emitter, receiver = _Emitter(), _Receiver()
    emitter.fired.connect(receiver.slot)
    n = 5000
    gc.collect()  # objects freed by earlier tests' collections also drop references to None
    before = [sys.getrefcount(v) for v in (None, True, False)]

    def emit() -> None:
        for i in range(n):
            emitter.fired.emit(i, (i, "payload"))

    worker = threading.Thread(target=emit, name="latentlab-test-emitter")
    worker.start()
    while receiver.count < n:
        qapp.processEvents()
    worker.join()
    after = [sys.getrefcount(v) for v in (None, True, False)]
    # The bug loses one reference per emission (-n); unrelated frees elsewhere move a count by ~100.
    assert all(a - b > -n // 2 for a, b in zip(after, before)), (before, after)
