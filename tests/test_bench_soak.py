"""The soak bench (issue 12) runs the real window for a few seconds and reports memory, threads and errors."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from latentlab.resources import bundled_models

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(not bundled_models(), reason="needs the bundled models")
def test_a_few_seconds_of_soak_report_rss_threads_and_no_error(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", XDG_CONFIG_HOME=str(tmp_path),
               LATENTLAB_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "latentlab.bench", "soak", "--seconds", "4", "--report-every", "1",
                             "--switch-every", "1.5", "--chains", "8"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    samples = re.findall(r"RSS +([\d.]+) MB +threads +(\d+) +errors (\d+)", result.stdout)
    assert len(samples) >= 3 and all(float(rss) > 0 and int(threads) > 0 for rss, threads, _ in samples)
    assert re.search(r"summary over \d+ s: RSS .* errors 0", result.stdout)
    assert re.search(r"activity: \d+ chain steps, \d+ sub-pixels drawn, \d+ finished pixel runs, "
                     r"[1-9]\d* handle moves, [1-9]\d* latent", result.stdout)
    assert "Traceback" not in result.stderr and "terminate called" not in result.stderr


def test_soak_is_listed_and_refuses_a_bad_duration():
    from latentlab.bench.__main__ import BENCHES
    from latentlab.bench.soak import main

    assert "soak" in BENCHES
    assert main(["--seconds", "0"]) == 2


def test_rss_trend_sees_a_leak_through_model_swings_and_same_model_growth_compares_like_with_like():
    from latentlab.bench.soak import rss_trend, same_model_growth

    # Two models alternate on screen: 100 MB and 160 MB resident, flat. The end-to-end figure swings
    # by the model shown, the trend and the like-for-like growth stay at zero...
    flat = [(60.0 + 10 * i, 100.0 if i % 2 == 0 else 160.0, 20, 0, "ab"[i % 2]) for i in range(54)]
    assert abs(rss_trend(flat)) < 0.05  # within the goal: swings alone do not read as growth
    assert same_model_growth(flat) == {"a": 0.0, "b": 0.0}
    # ...and a leak of 0.1 MB/s under the same swings shows in both.
    leaking = [(t, rss + 0.1 * (t - 60), n, e, m) for t, rss, n, e, m in flat]
    assert 0.2 < rss_trend(leaking) < 0.6
    assert all(growth > 0.3 for growth in same_model_growth(leaking).values())
    assert rss_trend(flat[:2]) == 0.0
