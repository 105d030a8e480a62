"""Where the window decodes the face under the handle: in place on the GUI thread for a model whose
decodes measure quick, on the decode worker for a slow one or while another thread uses the model
(services.decode.QuickRenders)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import open_main_window


@pytest.fixture
def window(qtbot, tmp_path, tiny_checkpoint):
    win = open_main_window(qtbot, tmp_path, tiny_checkpoint)
    yield win
    win.shutdown()


def drag(window, dx: float) -> float:
    """Move the handle by `dx` map units, as a mouse drag does; returns the time just before."""
    x, y = window.map.handle_position()
    before = time.perf_counter()
    window.map.handle.setPos(x + dx, y)
    return before


def warm_up(qtbot, window, moves: int = 4) -> None:
    """A few decodes on the worker: the window times a model's first decodes before choosing."""
    for _ in range(moves):
        wait = drag(window, 0.1)
        qtbot.waitUntil(lambda: window.face_panel.last_shown_at > wait, timeout=5000)


def test_a_quick_model_s_face_is_decoded_in_place_during_the_move(qtbot, window):
    assert not window.face_renders.quick  # only the first face is timed so far: the worker decodes
    warm_up(qtbot, window)
    assert window.face_renders.quick
    rendered = window.decoder.rendered
    before = drag(window, 0.5)
    # shown before control returns to the event loop: no hand-off to a worker and back
    assert window.face_panel.last_shown_at > before
    assert window.face_renders.last_inline and window.decoder.rendered == rendered
    np.testing.assert_array_equal(window.face_panel.current_image, window.session.decode(window.current_z)[0])
    # the GUI thread's own torch setting is left as it was
    import torch

    threads = torch.get_num_threads()
    drag(window, 0.5)
    assert torch.get_num_threads() == threads


def test_while_another_thread_uses_the_model_the_worker_decodes_without_blocking_the_window(qtbot, window):
    warm_up(qtbot, window)
    session = window.session
    session._lock.acquire()  # as a hover preview decoding on its worker holds it
    try:
        started = time.perf_counter()
        before = drag(window, 0.5)
        assert time.perf_counter() - started < 1.0
        assert window.face_panel.last_shown_at < before  # not shown yet: it waits for the model
        qtbot.wait(50)
        assert window.face_panel.last_shown_at < before
    finally:
        session._lock.release()
    qtbot.waitUntil(lambda: window.face_panel.last_shown_at > before, timeout=5000)
    assert not window.face_renders.last_inline
    np.testing.assert_array_equal(window.face_panel.current_image, session.decode(window.current_z)[0])


def test_a_slow_model_s_face_stays_on_the_worker(qtbot, window, monkeypatch):
    model = window.session.model
    quick_decode = model.decode

    def slow_decode(z):
        time.sleep(0.03)  # well over the GUI thread's budget (12 ms)
        return quick_decode(z)

    monkeypatch.setattr(model, "decode", slow_decode)
    warm_up(qtbot, window)
    assert not window.face_renders.quick
    before = drag(window, 0.5)
    assert window.face_panel.last_shown_at < before  # the window returned at once; the worker decodes
    qtbot.waitUntil(lambda: window.face_panel.last_shown_at > before, timeout=5000)
    assert not window.face_renders.last_inline


def test_a_model_that_turns_slow_goes_back_to_the_worker(qtbot, window, monkeypatch):
    warm_up(qtbot, window)
    assert window.face_renders.quick
    model = window.session.model
    quick_decode = model.decode
    monkeypatch.setattr(model, "decode", lambda z: (time.sleep(0.03), quick_decode(z))[1])
    for _ in range(5):  # in place, each slower than the budget: the median follows within a few
        drag(window, 0.1)
        if not window.face_renders.quick:
            break
    assert not window.face_renders.quick


def test_a_decode_that_fails_in_place_is_reported_in_the_window(qtbot, window, monkeypatch):
    warm_up(qtbot, window)

    def broken(z):
        raise RuntimeError("weights went missing")

    monkeypatch.setattr(window.session.model, "decode", broken)
    drag(window, 0.5)  # raises nothing into Qt
    assert "Decoding failed: weights went missing" in window.banner.message
