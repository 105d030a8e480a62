"""GUI responsiveness while training: a 10 ms QTimer heartbeat on the GUI thread, idle vs training.

A real TrainingPanel (shown; offscreen unless DISPLAY is set) runs a short training run on the
built-in synthetic faces on its worker thread, redrawing curves, latent map and previews as in the
app. Every tick of a 10 ms precise QTimer records the time; the gap between ticks is how long the
GUI thread could not react (a frozen window shows as a long gap). The same heartbeat with no
training for a few seconds is the baseline, printed side by side. Targets while training: p99 gap
<= 50 ms, and no gap over 50 ms.

    python -m latentlab.bench heartbeat [--steps 150] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

from latentlab.bench import offscreen_without_display

TARGET_P99_MS = 50.0
TARGET_MAX_MS = 50.0  # issue 13: no event-loop stall over 50 ms during in-app training


def _stats(gaps_ms: np.ndarray) -> str:
    if len(gaps_ms) == 0:
        return f"{0:>7d} {'-':>8s} {'-':>8s} {'-':>8s}"
    p50, p99 = np.percentile(gaps_ms, [50, 99])
    return f"{len(gaps_ms):>7d} {p50:8.1f} {p99:8.1f} {gaps_ms.max():8.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench heartbeat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150, help="training steps (default 150)")
    parser.add_argument("--model", default="vae")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch threads of the training worker (default: the app's, all cores but one)")
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--interval-ms", type=int, default=10)
    args = parser.parse_args(argv)

    offscreen_without_display()
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.services.collector import freeze_survivors
    from latentlab.ui.train.panel import TrainingPanel

    app = QApplication.instance() or QApplication([])
    stamps: list[tuple[float, str]] = []
    steps_at: list[int] = []
    panel = TrainingPanel()
    if args.threads is not None:
        panel.training_threads = args.threads
    panel.resize(1200, 800)
    panel.show()
    freeze_survivors()  # as the app does once its window exists (latentlab/ui/app.py)

    phase = {"name": "idle"}

    def tick() -> None:
        stamps.append((time.perf_counter(), phase["name"]))
        steps_at.append(panel.steps_done)

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(args.interval_ms)
    heartbeat.timeout.connect(tick)
    loop = QEventLoop()

    with tempfile.TemporaryDirectory(prefix="latentlab-heartbeat-") as tmp:
        os.environ["LATENTLAB_CACHE_DIR"] = os.path.join(tmp, "cache")  # cold: decoding is measured too
        # baseline: the same shown panel, nothing running
        heartbeat.start()
        QTimer.singleShot(int(args.baseline_seconds * 1000), loop.quit)
        loop.exec()
        heartbeat.stop()
        baseline = stamps[:]
        stamps.clear()
        steps_at.clear()

        steps_per_epoch = 16
        panel.set_dataset_spec(f"synthetic-faces?size={args.size}")
        panel.set_options(model=args.model, latent=args.latent, batch=args.batch,
                          limit=steps_per_epoch * args.batch, epochs=math.ceil(args.steps / steps_per_epoch),
                          max_steps=args.steps, eval_limit=256, out=os.path.join(tmp, "run"))
        errors: list[str] = []
        panel.error_occurred.connect(errors.append)
        panel.running_changed.connect(lambda running: None if running else loop.quit())
        first_step: list[float] = []

        def watch() -> None:  # phase tag for the ticks: decoding until the first step arrives
            if phase["name"] == "decoding images" and panel.steps_done > 0:
                phase["name"] = "training"
                first_step.append(time.perf_counter())
        heartbeat.timeout.connect(watch)
        phase["name"] = "decoding images"
        heartbeat.start()
        panel.start()
        if panel.is_running:
            loop.exec()
        heartbeat.stop()
        end = time.perf_counter()
        steps = panel.steps_done
        panel.shutdown()

    def gaps(records: list[tuple[float, str]], name: str | None = None) -> np.ndarray:
        times = np.array([t for t, _ in records])
        names = [n for _, n in records]
        d = np.diff(times) * 1000.0
        return d if name is None else d[[names[i + 1] == name for i in range(len(d))]]

    print(f"heartbeat: {args.interval_ms} ms QTimer on the GUI thread; gap between ticks in ms "
          f"(targets while training: p99 <= {TARGET_P99_MS:.0f}, max <= {TARGET_MAX_MS:.0f}); "
          f"training worker torch threads {panel.training_threads}, "
          f"{os.cpu_count()} CPUs, Qt platform {app.platformName()}")
    print(f"{'phase':34s} {'ticks':>7s} {'p50':>8s} {'p99':>8s} {'max':>8s}")
    rows = [(f"idle ({args.baseline_seconds:g} s, panel shown)", gaps(baseline)),
            ("decoding images", gaps(stamps, "decoding images")),
            (f"training ({steps} steps)", gaps(stamps, "training"))]
    for label, values in rows:
        print(f"{label:34s} {_stats(values)}")
    training = rows[2][1]
    if len(training):
        met = np.percentile(training, 99) <= TARGET_P99_MS and training.max() <= TARGET_MAX_MS
        print(f"target while training: p99 <= {TARGET_P99_MS:.0f} ms and no gap over {TARGET_MAX_MS:.0f} ms: "
              f"{'met' if met else 'NOT met'}")
    train_gaps = np.diff([t for t, _ in stamps]) * 1000.0
    worst = np.argsort(train_gaps)[::-1][:3]
    print("longest gaps while training: " + ", ".join(
        f"{train_gaps[i]:.0f} ms at {stamps[i + 1][0] - stamps[0][0]:.1f} s ({stamps[i + 1][1]}, step {steps_at[i + 1]})"
        for i in sorted(worst)))
    if first_step and steps:
        seconds = end - first_step[0]
        print(f"training: {steps} steps of {args.batch} {args.size}x{args.size} images in {seconds:.1f} s "
              f"({steps * args.batch / seconds:.0f} images/s incl. evaluation, previews and checkpoints)")
    if errors:
        print(f"training failed: {errors[-1]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
