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


def test_the_drag_bench_alternates_bare_forwards_and_moves_along_one_circle(qtbot, tmp_path, tiny_checkpoint,
                                                                             monkeypatch):
    import numpy as np

    from latentlab.bench import drag
    from conftest import open_main_window

    window = open_main_window(qtbot, tmp_path, tiny_checkpoint)
    try:
        blocks = []
        timed_bare = drag.bare_forward_times
        monkeypatch.setattr(drag, "bare_forward_times", lambda w, repeats, warm_up=20: (
            blocks.append(("bare", repeats)), timed_bare(w, repeats, warm_up))[1])
        timed_moves = drag.drag_latencies
        monkeypatch.setattr(drag, "drag_latencies", lambda w, moves, **kw: (
            blocks.append(("moves", moves)), timed_moves(w, moves, **kw))[1])
        moved = []
        window.map.handle_moved.connect(lambda x, y: moved.append((x, y)))
        x0, y0 = window.map.handle_position()

        latencies, renders, bare = drag.interleaved_drag(window, 7, block=3)

        assert blocks == [("bare", 0), ("bare", 3), ("moves", 3), ("bare", 3), ("moves", 3), ("bare", 1), ("moves", 1)]
        assert len(latencies) == len(renders) == 7 and all(t > 0 for t in latencies + [s for s, _ in renders])
        # the tiny model decodes quickly: once a few of its decodes are timed, the moves decode in place
        assert [inline for _, inline in renders][-3:] == [True] * 3
        assert all(len(times) == 7 for times in bare.values()) and 1 in bare
        # the blocks continue one circle: the same points as seven moves in one go
        angles = 2 * np.pi * np.arange(7) / 60
        expected = np.stack([x0 + np.cos(angles), y0 + np.sin(angles)], axis=1)
        np.testing.assert_allclose(np.array(moved), expected, atol=1e-6)
    finally:
        window.shutdown()

