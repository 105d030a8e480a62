"""bench heartbeat: a real (tiny) training run in the Train panel, timed by a GUI-thread heartbeat."""

import os
import subprocess
import sys


def test_the_heartbeat_bench_times_each_phase_and_judges_the_training_one():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "latentlab.bench", "heartbeat", "--steps", "3",
                             "--baseline-seconds", "0.2", "--size", "16", "--batch", "8", "--latent", "4"],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for phase in ("idle (0.2 s, panel shown)", "decoding images", "training (3 steps)"):
        assert phase in out
    verdict = [line for line in out.splitlines() if line.startswith("target while training:")]
    assert len(verdict) == 1 and verdict[0].endswith(("met", "NOT met"))
    assert "training: 3 steps of 8 16x16 images" in out
