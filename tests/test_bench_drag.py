"""bench drag --under-load: the drag timed while chains play and the Pixels dock draws (issue 13)."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from latentlab.resources import bundled_models, bundled_pixel_models
from latentlab.services.decode import BACKGROUND_NICE, background_thread

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(not bundled_models() or not bundled_pixel_models(), reason="needs the bundled models")
def test_under_load_runs_on_tiny_arguments_and_reports_the_busy_work(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path),
               LATENTLAB_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "latentlab.bench", "drag", "--moves", "5", "--under-load",
                             "--chains", "4"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"under load \(4 chains playing, Pixels dock drawing\): 4 chains at step \d+, [1-9]\d* pixel",
                     result.stdout)
    assert re.search(r"under load: p95 [\d.]+ ms \(target <= 16 ms\): (met|NOT met)", result.stdout)
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not bundled_models(), reason="needs the bundled models")
def test_one_source_of_load_alone_can_be_timed(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path),
               LATENTLAB_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "latentlab.bench", "drag", "--moves", "5", "--under-load",
                             "--chains", "4", "--load", "chains"], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"under load \(4 chains playing\): 4 chains at step [1-9]\d*, 0 pixel-sampling run", result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_threads_run_at_a_lower_priority_and_leave_the_others_alone():
    seen = {}

    def worker():
        background_thread(1)
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["worker"] == min(19, before + BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # this thread unchanged


def test_the_pixel_worker_takes_the_background_priority(monkeypatch):
    from latentlab.explorer import pixel_runs
    from latentlab.models.pixelcnn import PixelCNN, PixelCNNConfig
    from latentlab.services.gate import Gate

    calls = []
    monkeypatch.setattr(pixel_runs, "background_thread", calls.append)
    gate = Gate(0.0)
    gate.step()
    model = PixelCNN(PixelCNNConfig(image_shape=[1, 4, 4], hidden_channels=4, num_layers=1)).eval()
    frames = pixel_runs.pixel_frames(model, 1, "fast", 0, gate, 3)
    assert next(frames).done == 1 and calls == [3]
    frames.close()
