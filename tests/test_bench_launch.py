"""bench launch: the app's own report is read back, and the import floor beside it is a real timing."""

from latentlab.bench.launch import reported_seconds, time_import_floor


def test_the_apps_first_paint_line_is_read_back_and_anything_else_is_none():
    assert reported_seconds("first paint after 2.850 s (from Python start of latentlab.ui.app)") == 2.85
    assert reported_seconds("no report") is None


def test_the_import_floor_is_timed_in_a_fresh_interpreter():
    floor = time_import_floor()
    assert 0.0 < floor < 120.0
