"""bench launch: the app's own report is read back, and the import floor beside it is a real timing."""

import os
import re

import pytest

from latentlab.bench.launch import main, reported_seconds, time_import_floor, time_launch


def test_the_apps_first_paint_line_is_read_back_and_anything_else_is_none():
    assert reported_seconds("first paint after 2.850 s (from Python start of latentlab.ui.app)") == 2.85
    assert reported_seconds("no report") is None


@pytest.mark.parametrize("paused", [False, True], ids=["collector on", "collector paused"])
def test_the_import_floor_is_timed_in_a_fresh_interpreter(paused):
    floor = time_import_floor(paused=paused)
    assert 0.0 < floor < 120.0


def test_a_launch_is_timed_from_outside_to_its_first_paint_line_and_to_its_exit():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    launch = time_launch(None, env)
    assert launch.report.startswith("first paint after")
    # the line is read as it arrives (the app flushes it), before the window's shutdown and exit
    assert 0.0 < reported_seconds(launch.report) < launch.paint <= launch.exit
    # The collector is paused while the libraries load and the window is built (ui/app.py): importing
    # them with it on ran three full passes. It is on again for opening the model, whose young
    # passes walk only what was made since the pause ended (the rest is frozen).
    passes = re.search(r"collector passes by generation (\d+)/(\d+)/(\d+)", launch.report)
    assert passes is not None, launch.report
    young, middle, full = map(int, passes.groups())
    assert full == 0 and young > 0, launch.report


def test_a_launch_that_cannot_open_its_window_is_reported_not_timed():
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    with pytest.raises(RuntimeError, match="no display found"):
        time_launch(None, env)


def _fake_checkout(root):
    """A checkout whose `python -m latentlab` only reports a first paint, with the arguments it got."""
    package = root / "latentlab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys\nprint(f'first paint after 0.010 s (fake checkout; arguments {sys.argv[1:]})', flush=True)\n")
    return root


def test_a_launch_of_another_checkout_runs_that_checkouts_code_with_the_checkpoint_path_made_absolute(
        tmp_path, monkeypatch):
    other = _fake_checkout(tmp_path / "other")
    monkeypatch.chdir(tmp_path)
    launch = time_launch("model.ckpt", source=other)
    assert reported_seconds(launch.report) == 0.01
    assert "fake checkout" in launch.report and str(tmp_path / "model.ckpt") in launch.report


def test_comparing_against_a_folder_that_is_no_checkout_is_refused_by_name(tmp_path, capsys):
    assert main(["--against", str(tmp_path)]) == 2
    assert f"{tmp_path}: not a LatentLab checkout" in capsys.readouterr().err
