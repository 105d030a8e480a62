"""Time from launching `python -m latentlab --exit-after-paint` to its first painted window.

Prints, measured from outside, the seconds from process start (interpreter, imports, model load) to
the app's first-paint line and to the process's exit, and the time the app itself reports from its
first line of Python. The target (issue 13) is process start to first paint <= 2 s on the default. Beside each
launch, in the same run, a fresh process times importing only the libraries any first paint of the
window needs (torch, to decode the face; PySide6 and pyqtgraph, to draw it; `IMPORT_FLOOR`), twice:
as a plain interpreter does, and with the cyclic collector paused, as the app launches (`ui/app.py`).
The second is the floor no deferral can go below on this machine, so the app's own share is the
difference; the first shows what pausing the collector saves.

`--against DIR` times a change instead: launches of this checkout alternate with those of the
checkout in DIR (another commit: `git worktree add DIR COMMIT`), and the bench prints both medians
and the median of the paired differences.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def launch_env() -> dict[str, str]:
    """The environment a launch runs in: offscreen unless a display is set, and with Python's bytecode
    cache on, as on a user's machine (an environment with PYTHONDONTWRITEBYTECODE set, such as a
    sandbox, would otherwise compile every module of the app from source at every launch: 0.2 s)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@dataclass(frozen=True)
class Launch:
    """One launch, timed from outside: seconds from process start to the app's first-paint line on its
    standard output (interpreter start and imports included) and to the process's exit (the window's
    shutdown included), and the app's own report line ("first paint after N s ...", timed from its
    first line of Python)."""

    paint: float
    exit: float
    report: str


def time_launch(checkpoint: str | None, env: dict[str, str] | None = None, timeout: float = 120,
                source: Path | None = None) -> Launch:
    """One launch in a fresh process (`Launch`); RuntimeError with the end of its stderr when it fails
    or exits without reporting its first paint. `source`: a checkout whose `latentlab` package to
    launch instead of the installed one (`python -m` puts the working directory first on the path)."""
    if checkpoint is not None:
        checkpoint = str(Path(checkpoint).resolve())  # the launch may run in another directory
    command = [sys.executable, "-m", "latentlab", "--exit-after-paint", *([checkpoint] if checkpoint else [])]
    painted, report = None, ""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                              env=env or launch_env(), cwd=source) as process:
            killer = threading.Timer(timeout, process.kill)  # a launch that never paints must not hang the bench
            killer.start()
            try:
                for line in process.stdout:
                    if line.startswith("first paint") and painted is None:
                        painted, report = time.perf_counter() - start, line.strip()
                returncode = process.wait()
            finally:
                killer.cancel()
        ended = time.perf_counter() - start
        errors.seek(0)
        if returncode != 0:
            reason = f"killed after {timeout:.0f} s without exiting" if ended >= timeout else errors.read()[-2000:]
            raise RuntimeError(f"the launch failed: {reason}")
        if painted is None:
            raise RuntimeError(f"the launch exited without reporting its first paint: {errors.read()[-2000:]}")
    return Launch(painted, ended, report)


TARGET_SECONDS = 2.0  # issue 13: launch to first paint on the default model
IMPORT_FLOOR = "import torch, numpy, PySide6.QtWidgets, pyqtgraph"


def time_import_floor(env: dict[str, str] | None = None, timeout: float = 120, paused: bool = False) -> float:
    """Seconds a fresh interpreter takes for `IMPORT_FLOOR`, timed from its own first line (as the app
    times its first paint); `paused`: with the cyclic garbage collector disabled first, as the app
    imports them."""
    pause = "import gc; gc.disable(); " if paused else ""
    code = f"import time; t = time.perf_counter(); {pause}{IMPORT_FLOOR}; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env or launch_env(), timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return float(result.stdout.split()[-1])


def reported_seconds(reported: str) -> float | None:
    """The seconds in the app's "first paint after N s ..." line."""
    words = reported.split()
    return float(words[3]) if len(words) > 3 and words[:3] == ["first", "paint", "after"] else None


def compare_launches(checkpoint: str | None, other: Path, rounds: int, env: dict[str, str]) -> None:
    """Launches of this checkout and of `other` alternated (the order swapped every round, after one
    untimed launch of each that writes its bytecode cache): the machine's slow and quick spells fall on
    both alike. Prints each pair, both medians and the median of the paired differences."""
    here = Path(__file__).resolve().parents[2]
    for source in (here, other):
        time_launch(checkpoint, env, source=source)
    ours, theirs = [], []
    for round_ in range(rounds):
        order = [(ours, here), (theirs, other)]
        for times, source in order if round_ % 2 == 0 else order[::-1]:
            times.append(time_launch(checkpoint, env, source=source).paint)
        print(f"round {round_ + 1}: process start -> first paint {ours[-1]:.2f} s here, {theirs[-1]:.2f} s in {other}",
              flush=True)
    differences = [a - b for a, b in zip(ours, theirs)]
    print(f"side by side over {rounds} rounds: median first paint {statistics.median(ours):.2f} s here ({here}), "
          f"{statistics.median(theirs):.2f} s in {other}; median paired difference {statistics.median(differences):+.2f} s "
          f"(here faster in {sum(d < 0 for d in differences)} of {rounds})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench launch", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="alternate launches with those of the checkout in DIR (e.g. `git worktree add DIR "
                             "COMMIT`) and print the paired differences instead of the import floor")
    parser.add_argument("checkpoint", nargs="?")
    args = parser.parse_args(argv)
    env = launch_env()
    if args.against is not None:
        if not (args.against / "latentlab" / "__init__.py").is_file():
            print(f"{args.against}: not a LatentLab checkout (no latentlab/__init__.py in it)", file=sys.stderr)
            return 2
        try:
            compare_launches(args.checkpoint, args.against.resolve(), args.runs, env)
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        return 0
    launches, paints, floors, plain_floors = [], [], [], []
    for _ in range(args.runs):
        try:
            launch = time_launch(args.checkpoint, env)
            floor = time_import_floor(env, paused=True)
            plain_floor = time_import_floor(env)
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        launches.append(launch)
        floors.append(floor)
        plain_floors.append(plain_floor)
        if (paint := reported_seconds(launch.report)) is not None:
            paints.append(paint)
        print(f"process start -> first paint {launch.paint:.2f} s, -> exit {launch.exit:.2f} s   ({launch.report}); "
              f"import floor {floor:.2f} s, {plain_floor:.2f} s with the collector on")
    display = "display " + env["DISPLAY"] if env.get("DISPLAY") else "offscreen"
    print(f"median over {args.runs} launches ({display}): process start -> first paint "
          f"{statistics.median(launch.paint for launch in launches):.2f} s (target <= {TARGET_SECONDS:.0f} s), "
          f"-> exit {statistics.median(launch.exit for launch in launches):.2f} s")
    if paints:
        paint, floor = statistics.median(paints), statistics.median(floors)
        print(f"the app's own first-paint report median {paint:.2f} s; import floor ({IMPORT_FLOOR}, collector "
              f"paused as the app launches) median {floor:.2f} s, {statistics.median(plain_floors):.2f} s with the "
              f"collector on; the app's own share {paint - floor:.2f} s")
    return 0
