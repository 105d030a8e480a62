"""Interactive work first: a background loop's next step waits while the foreground decode is in flight,
never longer than its cap, and the decode worker holds the foreground exactly while it has work."""

import threading
import time

from latentlab.services.decode import LatestRequestWorker
from latentlab.services.foreground import Foreground
from latentlab.services.gate import Gate


def test_a_playing_gate_holds_its_next_step_until_the_foreground_is_idle():
    foreground = Foreground()
    gate = Gate(0.0, foreground=foreground)
    gate.play()
    assert gate.wait_turn(time.monotonic())  # idle foreground: no wait
    foreground.begin()
    released_at = []

    def step():
        gate.wait_turn(time.monotonic())
        released_at.append(time.monotonic())

    worker = threading.Thread(target=step)
    worker.start()
    time.sleep(0.03)
    assert not released_at  # still held: the foreground is busy
    ended = time.monotonic()
    foreground.end()
    worker.join(1)
    assert released_at and released_at[0] - ended < 0.02


def test_a_foreground_that_never_ends_holds_each_step_only_up_to_the_cap():
    foreground = Foreground()
    foreground.begin()
    start = time.monotonic()
    waited = foreground.hold_background(timeout=0.05)
    assert 0.04 <= waited < 0.5 and time.monotonic() - start < 0.5
    gate = Gate(0.0, foreground=foreground)
    gate.stop()
    start = time.monotonic()
    assert not gate.wait_turn(start)  # a stopped job is not held at all
    assert time.monotonic() - start < 0.02


def test_the_decode_worker_holds_the_foreground_while_a_request_is_pending_or_rendering():
    foreground = Foreground()
    release, rendering, done = threading.Event(), threading.Event(), threading.Event()
    busy_after_result = []

    def render(request):
        rendering.set()
        release.wait(5)
        return request

    worker = LatestRequestWorker(render, lambda *_: done.set(), foreground=foreground)
    try:
        assert not foreground.busy
        worker.submit(1)
        assert foreground.busy
        assert rendering.wait(5)
        assert foreground.busy  # rendering
        worker.submit(2)  # pending behind it: still one hold, not two
        release.set()
        deadline = time.monotonic() + 5
        while foreground.busy and time.monotonic() < deadline:
            time.sleep(0.005)
        busy_after_result.append(foreground.busy)
        assert worker.rendered == 2
    finally:
        worker.close()
    assert busy_after_result == [False]
    assert not foreground.busy


def test_an_error_or_a_close_releases_the_foreground():
    foreground = Foreground()
    failed = threading.Event()

    def render(request):
        raise ValueError("bad model")

    worker = LatestRequestWorker(render, lambda *_: None, lambda *_: failed.set(), foreground=foreground)
    worker.submit(1)
    assert failed.wait(5)
    deadline = time.monotonic() + 5
    while foreground.busy and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not foreground.busy
    worker.close()
    closing = LatestRequestWorker(lambda r: time.sleep(0.2), lambda *_: None, foreground=foreground)
    closing.submit(1)
    closing.submit(2)
    closing.close()
    assert not foreground.busy


def test_a_redraw_yields_to_the_foreground_but_never_more_than_its_cap_in_a_row():
    from latentlab.services.foreground import RedrawYield

    foreground = Foreground()
    redraw = RedrawYield(foreground, max_skips=3)
    assert not redraw.skip()  # idle: draw
    foreground.begin()
    assert [redraw.skip() for _ in range(5)] == [True, True, True, False, True]
    foreground.end()
    assert not redraw.skip()
