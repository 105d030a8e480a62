"""The latest-request slot: requests overwrite each other, results come back newest-last, errors don't kill it."""

import threading
import time

from latentlab.services.decode import LatestRequestWorker, QuickRenders
from latentlab.services.foreground import Foreground


def test_requests_are_overwritten_not_queued():
    gate = threading.Event()
    results = []
    done = threading.Event()

    def render(request):
        if request == 0:
            gate.wait(5)  # hold the worker busy while more requests arrive
        return request * 10

    def on_result(request_id, result):
        results.append((request_id, result))
        if result == 990:
            done.set()

    worker = LatestRequestWorker(render, on_result)
    try:
        worker.submit(0)
        time.sleep(0.05)
        for value in range(1, 100):
            worker.submit(value)
        gate.set()
        assert done.wait(5)
    finally:
        worker.close()
    assert results[0] == (1, 0) and results[-1] == (100, 990)
    assert worker.rendered == 2 and len(results) == 2  # 98 intermediate requests were dropped
    assert not worker.alive


def test_an_error_is_reported_and_the_worker_goes_on():
    errors, results = [], []
    finished = threading.Event()

    def render(request):
        if request == "bad":
            raise ValueError("cannot decode")
        return request

    def on_result(request_id, result):
        results.append(result)
        finished.set()

    worker = LatestRequestWorker(render, on_result, lambda i, m: errors.append((i, m)))
    try:
        worker.submit("bad")
        time.sleep(0.1)
        worker.submit("good")
        assert finished.wait(5)
    finally:
        worker.close()
    assert errors == [(1, "cannot decode")] and results == ["good"]


def test_supersede_drops_the_pending_request_and_returns_a_later_id():
    """A render done elsewhere (the GUI thread's, for a quick model) answers the pending request: it is
    never rendered, and the new id orders after every submitted one, so an older result is dropped."""
    started, release = threading.Event(), threading.Event()
    rendered = []

    def render(request):
        if request == "busy":
            started.set()
            release.wait(5)
        rendered.append(request)

    foreground = Foreground()
    worker = LatestRequestWorker(render, lambda *_: None, foreground=foreground)
    try:
        worker.submit("busy")
        assert started.wait(5)
        pending = worker.submit("stale")
        assert foreground.busy
        later = worker.supersede()
        assert later > pending
        assert not foreground.busy  # nothing of the worker's is awaited now: background work may go on
        release.set()
        time.sleep(0.1)
        assert not foreground.busy
    finally:
        worker.close()
    assert rendered == ["busy"]
    assert worker.submit("next") > later


def test_quick_renders_needs_a_few_timings_and_follows_their_median():
    renders = QuickRenders(budget_s=0.010, window=5, minimum=3)
    renders.record(0.004, inline=False)
    renders.record(0.004, inline=False)
    assert not renders.quick  # too few timings of this model yet
    renders.record(0.004, inline=False)
    assert renders.quick
    renders.record(0.050, inline=True)  # one slow render (a pause of the machine) does not move it
    assert renders.quick and renders.last_seconds == 0.050 and renders.last_inline
    assert renders.inline_count == 1
    for _ in range(3):
        renders.record(0.030, inline=True)  # the model, or the machine, is now slow: back to the worker
    assert not renders.quick
    renders.clear()
    assert not renders.quick and renders.inline_count == 0
