"""bench launch: the app's own report is read back, and the import floor beside it is a real timing."""

import os

import pytest

from latentlab.bench.launch import reported_seconds, time_import_floor, time_launch


def test_the_apps_first_paint_line_is_read_back_and_anything_else_is_none():
    assert reported_seconds("first paint after 2.850 s (from Python start of latentlab.ui.app)") == 2.85
    assert reported_seconds("no report") is None


def test_the_import_floor_is_timed_in_a_fresh_interpreter():
    floor = time_import_floor()
    assert 0.0 < floor < 120.0


def test_a_launch_is_timed_from_outside_to_its_first_paint_line_and_to_its_exit():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    launch = time_launch(None, env)
    assert launch.report.startswith("first paint after")
    # the line is read as it arrives (the app flushes it), before the window's shutdown and exit
    assert 0.0 < reported_seconds(launch.report) < launch.paint <= launch.exit


def test_a_launch_that_cannot_open_its_window_is_reported_not_timed():
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    with pytest.raises(RuntimeError, match="no display found"):
        time_launch(None, env)
