"""`latentlab` with no display (issue 12): it used to switch to the offscreen platform by itself and
run for ever with no window and no word (over ssh without X forwarding). Now it says so and exits."""

import os
import subprocess
import sys

import pytest

from latentlab.ui.app import no_display_message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux sessions")
def test_no_display_prints_how_to_get_one_and_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), LATENTLAB_CACHE_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "latentlab"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no display found" in result.stderr and "ssh -X" in result.stderr and "xvfb-run latentlab" in result.stderr
    assert "Traceback" not in result.stderr


def test_offscreen_only_when_asked_for():
    linux = "linux"
    assert no_display_message({}, linux) is not None
    assert no_display_message({"QT_QPA_PLATFORM": "offscreen"}, linux) is None
    assert no_display_message({"DISPLAY": ":0"}, linux) is None
    assert no_display_message({"WAYLAND_DISPLAY": "wayland-0"}, linux) is None
    assert no_display_message({}, "darwin") is None and no_display_message({}, "win32") is None
