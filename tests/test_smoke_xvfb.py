"""Smoke test: the real `python -m latentlab` entry point shows a non-blank window on an X server.

Starts Xvfb, launches the app with the bundled default model, and grabs the X screen from outside
the app (Pillow's X11 grab) until the window's pixels appear. Skips when Xvfb is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from latentlab.resources import default_model

pytestmark = pytest.mark.slow


def _free_display() -> int:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = _free_display()
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.time() < deadline:
        time.sleep(0.1)
    yield f":{number}"
    server.terminate()
    server.wait(10)


def test_the_entry_point_opens_a_non_blank_window(xvfb_display, tmp_path):
    from PIL import ImageGrab

    checkpoint = default_model()
    assert checkpoint is not None, "the bundled default model is missing from resources/models"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=xvfb_display, XDG_CONFIG_HOME=str(tmp_path / "config"), LATENTLAB_CACHE_DIR=str(tmp_path))
    app = subprocess.Popen([sys.executable, "-m", "latentlab"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 90
        coverage = 0.0
        while time.time() < deadline and app.poll() is None:
            time.sleep(1.0)
            screen = np.asarray(ImageGrab.grab(xdisplay=xvfb_display).convert("RGB"), dtype=np.int16)
            coverage = float((screen.sum(axis=2) > 60).mean())  # Xvfb's empty screen is black
            if coverage > 0.3 and screen.std() > 20:
                break
        assert app.poll() is None, f"the app exited: {app.communicate()[1][-2000:]}"
        assert coverage > 0.3, f"only {coverage:.0%} of the screen is lit after 90 s"
        ImageGrab.grab(xdisplay=xvfb_display).save(tmp_path / "screen.png")
    finally:
        app.terminate()
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
