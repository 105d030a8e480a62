"""The latest-request slot: requests overwrite each other, results come back newest-last, errors don't kill it."""

import threading
import time

from latentlab.services.decode import LatestRequestWorker


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


def test_the_worker_records_how_long_its_last_render_took():
    seen = []
    done = threading.Event()

    def on_result(request_id, result):
        seen.append(worker.last_render_seconds)  # already set when the result is reported
        done.set()

    worker = LatestRequestWorker(lambda seconds: time.sleep(seconds), on_result)
    try:
        assert worker.last_render_seconds == 0.0
        worker.submit(0.05)
        assert done.wait(5)
    finally:
        worker.close()
    assert 0.05 <= seen[0] < 2.0
