"""GeneratorJob: a generator on a worker thread with pause / resume / cancel, errors reported, no Qt."""

import threading
import time

import pytest

from latentlab.errors import DataError
from latentlab.services.jobs import GeneratorJob, JobCancelled


class Recorder:
    def __init__(self):
        self.items, self.errors, self.done = [], [], threading.Event()

    def kwargs(self):
        return dict(on_event=self.items.append, on_error=self.errors.append, on_done=self.done.set)


def counter(stop_flag=None, delay=0.002, limit=None):
    def generate():
        i = 0
        while limit is None or i < limit:
            if stop_flag is not None and stop_flag.is_set():
                yield "stopped"
                return
            time.sleep(delay)
            i += 1
            yield i
    return generate


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_runs_to_the_end_on_a_named_thread_and_reports_done():
    rec = Recorder()
    names = []
    def generate():
        names.append(threading.current_thread().name)
        yield from range(5)
    job = GeneratorJob(generate, name="count", **rec.kwargs())
    job.start()
    assert job.join(5)
    assert rec.items == [0, 1, 2, 3, 4] and rec.errors == [] and rec.done.is_set()
    assert names == ["latentlab-count"] and not job.is_running


def test_pause_really_stops_progress_and_resume_continues():
    rec = Recorder()
    job = GeneratorJob(counter(), **rec.kwargs())
    job.start()
    wait_for(lambda: len(rec.items) >= 3)
    job.pause()
    wait_for(lambda: job.is_blocked)
    assert job.is_paused and job.is_running
    seen = len(rec.items)
    time.sleep(0.1)
    assert len(rec.items) == seen  # blocked between two items: no progress
    job.resume()
    wait_for(lambda: len(rec.items) >= seen + 3)
    assert not job.is_paused
    job.cancel()
    assert job.join(5) and rec.done.is_set() and rec.errors == []
    assert rec.items == list(range(1, len(rec.items) + 1))  # nothing skipped or repeated


def test_cancel_without_hook_closes_the_generator():
    rec = Recorder()
    closed = threading.Event()
    def generate():
        try:
            yield from counter()()
        finally:
            closed.set()
    job = GeneratorJob(generate, **rec.kwargs())
    job.start()
    wait_for(lambda: len(rec.items) >= 2)
    job.cancel()
    assert job.join(5) and closed.is_set() and rec.done.is_set() and job.cancelled


def test_cancel_calls_the_hook_wakes_a_paused_job_and_lets_it_finish():
    rec = Recorder()
    stop = threading.Event()
    job = GeneratorJob(counter(stop_flag=stop), on_cancel=stop.set, **rec.kwargs())
    job.start()
    wait_for(lambda: len(rec.items) >= 2)
    job.pause()
    wait_for(lambda: job.is_blocked)
    job.cancel()
    assert job.join(5)
    assert rec.items[-1] == "stopped" and rec.done.is_set() and rec.errors == []


def test_errors_are_reported_not_raised(caplog):
    rec = Recorder()
    def broken():
        yield 1
        raise ValueError("bad value")
    job = GeneratorJob(broken, **rec.kwargs())
    job.start()
    assert job.join(5)
    assert rec.items == [1] and rec.errors == ["ValueError: bad value"] and rec.done.is_set()
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


def test_user_facing_errors_keep_their_message():
    rec = Recorder()
    def broken():
        raise DataError("/nowhere: no such folder")
        yield  # pragma: no cover
    job = GeneratorJob(broken, **rec.kwargs())
    job.start()
    assert job.join(5)
    assert rec.errors == ["/nowhere: no such folder"] and rec.done.is_set()


def test_job_cancelled_ends_quietly():
    rec = Recorder()
    def generate():
        yield 1
        raise JobCancelled()
    job = GeneratorJob(generate, **rec.kwargs())
    job.start()
    assert job.join(5)
    assert rec.items == [1] and rec.errors == [] and rec.done.is_set()


def test_a_failing_event_callback_is_reported_and_ends_the_job():
    errors, done = [], threading.Event()
    def on_event(item):
        raise RuntimeError("widget gone")
    job = GeneratorJob(counter(limit=100), on_event=on_event, on_error=errors.append, on_done=done.set)
    job.start()
    assert job.join(5)
    assert errors == ["RuntimeError: widget gone"] and done.is_set()


@pytest.mark.parametrize("when", ["before start", "after end"])
def test_join_and_cancel_are_safe_outside_a_run(when):
    job = GeneratorJob(counter(limit=2))
    if when == "after end":
        job.start()
        job.join(5)
    job.cancel()
    assert job.join(0.1) and not job.is_running and not job.is_paused
