"""Time from launching `python -m latentlab --exit-after-paint` to its first painted window.

Prints the wall time of the whole process start (interpreter, imports, model load, first paint),
measured from outside, and the time the app itself reports from its first line of Python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench launch", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("checkpoint", nargs="?")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "latentlab", "--exit-after-paint",
                                 *([args.checkpoint] if args.checkpoint else [])],
                                capture_output=True, text=True, env=env, timeout=120)
        walls.append(time.perf_counter() - start)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            return 1
        reported = [line for line in result.stdout.splitlines() if line.startswith("first paint")]
        print(f"process start -> first paint and exit: {walls[-1]:.2f} s   ({reported[-1] if reported else 'no report'})")
    print(f"median over {args.runs} launches: {statistics.median(walls):.2f} s "
          f"({'display ' + env['DISPLAY'] if env.get('DISPLAY') else 'offscreen'})")
    return 0
