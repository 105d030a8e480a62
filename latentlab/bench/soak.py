"""Soak: the real window driven for a long session, printing memory, threads and errors over time.

    python -m latentlab.bench soak --minutes 10

Opens the explorer (offscreen unless a display is set, or QT_QPA_PLATFORM says otherwise) on the
bundled models and keeps everything busy at once: 64 latent chains playing (at the panel's own rate),
the Pixels dock generating (a fresh run as soon as one finishes), the map's handle dragged in circles
(20 moves a second), and a model switch every --switch-every seconds, alternating through the bundled
latent models (the way the model box opens them, on a worker thread) and the bundled pixel models.

Every --report-every seconds it prints the resident memory (RSS), the process's thread count
(/proc on Linux; Python's threads elsewhere) and the errors seen so far: messages shown in the
window's or the Pixels dock's banner, exceptions that reached Qt's event loop, and worker failures
logged by the job threads. Goal (issue 12): over 10 minutes, RSS growth after the first minute
≤ 5 %, no thread growth, no error. Growth is printed three ways: end to end (first sample after the
warm-up to the last), as a least-squares trend over all samples after the warm-up, and for each
model shown in several visits, between the last samples of its first and last visits (which model
is shown moves RSS by tens of MB, so the end-to-end figure swings with the switching cycle, and the
trend is biased by where the cycle starts and ends; the visit-to-visit figure compares like with
like, and the goal is read from it). Exit status 0 when no error
was seen, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from latentlab.bench import offscreen_without_display

GOAL_RSS_GROWTH = 0.05
WARM_UP_S = 60.0  # growth is measured from the first sample after this (or after 1/5 of a shorter run)


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_trend(samples: list[tuple]) -> float:
    """Least-squares line through (time, RSS) of `samples`: its rise over their time span, as a fraction
    of its value at the first sample (0 for fewer than 3 samples)."""
    if len(samples) < 3:
        return 0.0
    t = np.array([s[0] for s in samples], dtype=float)
    rss = np.array([s[1] for s in samples], dtype=float)
    slope, intercept = np.polyfit(t, rss, 1)
    start = slope * t[0] + intercept
    return float(slope * (t[-1] - t[0]) / start) if start > 0 else 0.0


def same_model_growth(samples: list[tuple]) -> dict[str, float]:
    """For each model shown in two or more separate visits: RSS growth from the last sample of its
    first visit to the last sample of its last visit, as a fraction (sample tuples end with the
    model's name). The last sample of a visit is the model in its steady state, after the warm-up
    that follows opening it (atlas images, gap map, chain batch), so two visits compare like with like."""
    visits: list[tuple[str, float]] = []  # (model, RSS at the visit's last sample)
    for sample in samples:
        if visits and visits[-1][0] == sample[-1]:
            visits[-1] = (sample[-1], sample[1])
        else:
            visits.append((sample[-1], sample[1]))
    by_model: dict[str, list[float]] = {}
    for name, rss in visits:
        by_model.setdefault(name, []).append(rss)
    return {name: (rss[-1] - rss[0]) / rss[0] for name, rss in by_model.items() if len(rss) >= 2 and rss[0] > 0}


def thread_count() -> int:
    """Every thread of the process (Qt's and torch's too, on Linux), else Python's threads."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


class _ErrorLog(logging.Handler):
    """Counts ERROR records (the job threads log a failed job's traceback at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"log: {record.getMessage()}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seconds", type=float, help="run this many seconds instead (for quick checks and tests)")
    parser.add_argument("--report-every", type=float, help="seconds between report lines (default 30, or 1/10 of "
                        "a run shorter than 5 minutes)")
    parser.add_argument("--switch-every", type=float, help="seconds between model switches (default 45, or 1/4 "
                        "of a run shorter than 3 minutes)")
    parser.add_argument("--chains", type=int, default=64)
    args = parser.parse_args(argv)
    duration = args.seconds if args.seconds is not None else args.minutes * 60
    if duration <= 0:
        print("soak: the duration must be positive", file=sys.stderr)
        return 2
    report_every = args.report_every or (30.0 if duration >= 300 else max(1.0, duration / 10))
    switch_every = args.switch_every or (45.0 if duration >= 180 else max(1.0, duration / 4))
    offscreen_without_display()

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.checkpoints.model_io import holds_autoregressive_model
    from latentlab.resources import bundled_models, bundled_pixel_models
    from latentlab.ui.main_window import MainWindow

    latent_models = [p for p in bundled_models() if not holds_autoregressive_model(p)]
    pixel_models = bundled_pixel_models()
    if not latent_models:
        print("soak: no bundled latent model found (resources/models)", file=sys.stderr)
        return 2

    errors: list[str] = []
    handler = _ErrorLog()
    logging.getLogger("latentlab").addHandler(handler)
    previous_hook = sys.excepthook

    def hook(kind, value, traceback) -> None:  # an exception that reached Qt's event loop from a slot
        errors.append(f"exception: {kind.__name__}: {value}")
        previous_hook(kind, value, traceback)

    sys.excepthook = hook
    settings_dir = tempfile.TemporaryDirectory(prefix="latentlab-soak-")
    from latentlab.services.memory import limit_malloc_arenas

    limit_malloc_arenas()  # as the app does at launch
    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = QSettings(str(Path(settings_dir.name) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()

    shown_error = window.show_error

    def record_error(message: str) -> None:
        errors.append(f"window: {message}")
        shown_error(message)

    window.show_error = record_error  # decode failures arrive here too, as "Decoding failed: ..."
    window._open_failed = lambda _request, message: record_error(message)  # every failed open, even a stale one
    pixel_fail = window.pixels._fail

    def record_pixel_error(message: str) -> bool:
        errors.append(f"pixels: {message}")
        return pixel_fail(message)

    window.pixels._fail = record_pixel_error
    counts = {"drags": 0, "latent_switches": 0, "pixel_switches": 0, "pixel_runs": 0, "chain_steps": 0,
              "sub_pixels": 0}
    last_chain_step, last_done = [0], [0]

    def chains_go(_session=None) -> None:
        window.chain.chains_spin.setValue(args.chains)
        window.chain.pause_spin.setValue(0)  # play on: a model's measured default would pause after its best step
        window.chain.reset()
        window.chain.play()

    window.session_changed.connect(chains_go)
    if not window.open_checkpoint(latent_models[0]):
        print(f"soak: {window.banner.message}", file=sys.stderr)
        return 2
    chains_go()
    if pixel_models:
        window.pixel_dock.show()
        if window.pixels.model is None:
            window.pixels.open_checkpoint(pixel_models[0])
        window.pixels.play()

    angle = [0.0]

    def drag() -> None:
        step = window.chain.step_count  # chain steps in all: the count restarts with each model
        counts["chain_steps"] += step - last_chain_step[0] if step >= last_chain_step[0] else step
        last_chain_step[0] = step
        if window.session is None or window.projection is None:
            return
        angle[0] += 0.15
        window.map.handle.setPos(1.5 * np.cos(angle[0]), 1.5 * np.sin(angle[0]))
        counts["drags"] += 1

    def keep_pixels_busy() -> None:
        panel = window.pixels
        counts["sub_pixels"] += panel.done - last_done[0] if panel.done >= last_done[0] else panel.done
        last_done[0] = panel.done
        if panel.model is not None and panel.total and panel.done >= panel.total:
            counts["pixel_runs"] += 1
            panel.reset()
            last_done[0] = 0
            panel.play()
        elif panel.model is not None and not panel.is_playing:
            panel.play()

    switch_index = [0]

    def switch() -> None:
        switch_index[0] += 1
        i = switch_index[0]
        if i % 3 == 2 and len(pixel_models) > 1:
            window.pixels.open_checkpoint(pixel_models[(i // 3) % len(pixel_models)])
            window.pixels.play()
            counts["pixel_switches"] += 1
        elif len(latent_models) > 1:
            window.request_open(latent_models[i % len(latent_models)])  # as the model box does
            counts["latent_switches"] += 1

    samples: list[tuple[float, float, int, int, str]] = []
    start = time.perf_counter()

    def report() -> None:
        elapsed = time.perf_counter() - start
        model = window.session.name if window.session is not None else "-"
        samples.append((elapsed, rss_mb(), thread_count(), len(errors) + len(handler.messages), model))
        print(f"{elapsed:7.1f} s  RSS {samples[-1][1]:7.1f} MB  threads {samples[-1][2]:3d}  errors {samples[-1][3]}"
              f"  | chain steps {counts['chain_steps']:5d}  sub-pixels {counts['sub_pixels']:6d}"
              f"  pixel runs {counts['pixel_runs']:3d}"
              f"  drags {counts['drags']:6d}  switches {counts['latent_switches']}+{counts['pixel_switches']}"
              f"  model {model}", flush=True)

    timers = []
    for interval_s, slot in ((0.05, drag), (0.25, keep_pixels_busy), (switch_every, switch), (report_every, report)):
        timer = QTimer()
        timer.setInterval(max(1, int(interval_s * 1000)))
        timer.timeout.connect(slot)
        timer.start()
        timers.append(timer)
    print(f"soak: {duration:.0f} s; {args.chains} chains, Pixels dock, drags, a model switch every "
          f"{switch_every:.0f} s among {len(latent_models)} latent and {len(pixel_models)} pixel models; "
          f"{os.environ.get('QT_QPA_PLATFORM') or 'display ' + os.environ.get('DISPLAY', '')}", flush=True)
    report()

    def finish() -> None:
        # Stop the drivers first: Qt 6's quit() closes the window (its workers stop) and queued timer
        # events must not start new work after that.
        for timer in timers:
            timer.stop()
        report()
        window.close()
        app.quit()

    QTimer.singleShot(int(duration * 1000), finish)
    app.exec()
    app.processEvents()
    left = [t.name for t in threading.enumerate() if t.name.startswith("latentlab-") and t.is_alive()]
    if left:
        errors.append(f"worker threads still running after the window closed: {', '.join(left)}")
    sys.excepthook = previous_hook
    logging.getLogger("latentlab").removeHandler(handler)
    settings_dir.cleanup()

    everything = errors + handler.messages
    warm = min(WARM_UP_S, duration / 5)
    after_warm = [s for s in samples if s[0] >= warm] or samples[-1:]
    base, end = after_warm[0], samples[-1]
    growth = (end[1] - base[1]) / base[1] if base[1] else 0.0
    trend, like_for_like = rss_trend(after_warm), same_model_growth(after_warm)
    print(f"summary over {samples[-1][0]:.0f} s: RSS {base[1]:.1f} MB at {base[0]:.0f} s -> {end[1]:.1f} MB "
          f"({growth:+.1%} end to end; goal <= {GOAL_RSS_GROWTH:.0%} after the first {warm:.0f} s), peak "
          f"{max(s[1] for s in samples):.1f} MB; threads {base[2]} -> {end[2]} (max {max(s[2] for s in samples)}); "
          f"errors {len(everything)}")
    # The end-to-end figure depends on which model is on screen at its two instants (a model's weights
    # and atlas are resident while it is shown); a leak shows as a trend, and as growth between two
    # samples taken with the same model on screen.
    print(f"RSS trend after the first {warm:.0f} s (least squares over {len(after_warm)} samples): {trend:+.1%} "
          f"over the run; same model in its first and last visit (steady state, the visit's last sample): "
          + ", ".join(f"{name} {g:+.1%}" for name, g in like_for_like.items()))
    print(f"activity: {counts['chain_steps']} chain steps, {counts['sub_pixels']} sub-pixels drawn, "
          f"{counts['pixel_runs']} finished pixel runs, {counts['drags']} handle moves, {counts['latent_switches']} latent and "
          f"{counts['pixel_switches']} pixel model switches")
    for message in everything[:10]:
        print(f"  error: {message}")
    return 0 if not everything else 1
