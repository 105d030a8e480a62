"""JobBridge: calls made on worker threads run on the GUI thread, in order; none after its widget is gone."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget
from shiboken6 import Shiboken

from latentlab.ui.bridge import JobBridge


def run_on_worker(function, *args) -> None:
    worker = threading.Thread(target=function, args=args, name="latentlab-test-worker")
    worker.start()
    worker.join(10)


def test_calls_from_a_worker_run_on_the_gui_thread_in_order(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    received: list[tuple[int, str, threading.Thread]] = []
    send = JobBridge(owner).to_gui(lambda index, text: received.append((index, text, threading.current_thread())))

    run_on_worker(lambda: [send(i, f"item {i}") for i in range(50)])
    qtbot.waitUntil(lambda: len(received) == 50, timeout=5000)
    assert [(i, text) for i, text, _ in received] == [(i, f"item {i}") for i in range(50)]
    assert {thread for _, _, thread in received} == {threading.main_thread()}


def test_calls_after_the_widget_is_deleted_are_dropped_quietly(qtbot):
    owner = QWidget()
    received = []
    send = JobBridge(owner).to_gui(received.append)
    Shiboken.delete(owner)  # the window closed while a worker still ran (its bridge goes with it)
    failures = []

    def late_call() -> None:
        try:
            send("too late")
        except Exception as err:  # the worker must not see the window's end
            failures.append(err)

    run_on_worker(late_call)
    qtbot.wait(100)
    assert failures == [] and received == []

