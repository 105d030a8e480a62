"""Time from launching `python -m latentlab --exit-after-paint` to its first painted window.

Prints the wall time of the whole process start (interpreter, imports, model load, first paint),
measured from outside, and the time the app itself reports from its first line of Python. Beside each
launch, in the same run, a fresh process times importing only the libraries any first paint of the
window needs (torch, to decode the face; PySide6 and pyqtgraph, to draw it; `IMPORT_FLOOR`): the
floor no deferral can go below on this machine, so the app's own share is the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def launch_env() -> dict[str, str]:
    """The environment a launch runs in: offscreen unless a display is set, and with Python's bytecode
    cache on, as on a user's machine (an environment with PYTHONDONTWRITEBYTECODE set, such as a
    sandbox, would otherwise compile every module of the app from source at every launch: 0.2 s)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def time_launch(checkpoint: str | None, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[float, str]:
    """(seconds from process start to first paint and exit, the app's own report line) of one launch
    in a fresh process; RuntimeError with the end of its stderr when it fails."""
    start = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, "-m", "latentlab", "--exit-after-paint", *([checkpoint] if checkpoint else [])],
                                capture_output=True, text=True, env=env or launch_env(), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the launch did not paint and exit within {timeout:.0f} s") from None
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    reported = [line for line in result.stdout.splitlines() if line.startswith("first paint")]
    return wall, (reported[-1] if reported else "no report")


IMPORT_FLOOR = "import torch, numpy, PySide6.QtWidgets, pyqtgraph"


def time_import_floor(env: dict[str, str] | None = None, timeout: float = 120) -> float:
    """Seconds a fresh interpreter takes for `IMPORT_FLOOR`, timed from its own first line (as the app
    times its first paint)."""
    code = f"import time; t = time.perf_counter(); {IMPORT_FLOOR}; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env or launch_env(), timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return float(result.stdout.split()[-1])


def reported_seconds(reported: str) -> float | None:
    """The seconds in the app's "first paint after N s ..." line."""
    words = reported.split()
    return float(words[3]) if len(words) > 3 and words[:3] == ["first", "paint", "after"] else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench launch", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("checkpoint", nargs="?")
    args = parser.parse_args(argv)
    env = launch_env()
    walls, paints, floors = [], [], []
    for _ in range(args.runs):
        try:
            wall, reported = time_launch(args.checkpoint, env)
            floor = time_import_floor(env)
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        walls.append(wall)
        floors.append(floor)
        if (paint := reported_seconds(reported)) is not None:
            paints.append(paint)
        print(f"process start -> first paint and exit: {wall:.2f} s   ({reported}); import floor {floor:.2f} s")
    print(f"median over {args.runs} launches: {statistics.median(walls):.2f} s "
          f"({'display ' + env['DISPLAY'] if env.get('DISPLAY') else 'offscreen'})")
    if paints:
        paint, floor = statistics.median(paints), statistics.median(floors)
        print(f"first paint median {paint:.2f} s; import floor ({IMPORT_FLOOR}) median {floor:.2f} s; "
              f"the app's own share {paint - floor:.2f} s")
    return 0
