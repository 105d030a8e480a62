"""The window with large atlases: launch, drag, hover, pan / zoom and memory per atlas size.

For each size N (default 3,000, 30,000, 100,000 and 200,000 codes) a copy of a bundled model with an
N-code atlas is written to a temporary folder (`latentlab.bundle.grow_atlas`), then, each in a fresh process:
- launch: process start to the app's first-paint line and to its exit after that paint (`bench
  launch`'s `time_launch`; the exit includes the window's shutdown), medians of --launches;
- session: the real window offscreen on that checkpoint; once its gap map is in, handle move -> new
  face pixels (`bench drag`'s `drag_latencies`), hover (pointer move -> point found and its preview
  requested; and -> preview shown), pan and zoom frames (change the view range, let the map re-plan,
  paint the plot synchronously) and the process's peak RSS.

Encoding 200,000 synthetic faces takes over an hour on a 2-core CPU, so the atlases are written
directly by `latentlab.bundle.grow_atlas`: the model's own A encoded faces first, then posterior draws
around them (samples of P̂(Z) = E_x Q(z|x), the distribution an atlas of more encoded faces would show). Goals at 200,000 codes: launch <= 3 s, drag p95 <= 16 ms, pan and
zoom >= 30 frames/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from latentlab.bench.arguments import non_negative_ints, positive_int

SIZES = (3000, 30_000, 100_000, 200_000)
GOALS = {"first_paint_s": 3.0, "drag_p95_ms": 16.0, "pan_fps": 30.0, "zoom_fps": 30.0}


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64) * 1e3
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)), "max": float(array.max())}


def measure_session(checkpoint: str, moves: int, hovers: int, frames: int, point_cap: int | None) -> dict:
    """In this process: the real window on `checkpoint`; drag, hover, pan and zoom figures (ms) and peak RSS."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="latentlab-scale-settings-") as folder:  # the window's settings, not the user's
        window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        try:
            return _measure_window(app, window, checkpoint, moves, hovers, frames, point_cap)
        finally:
            window.shutdown()
            window.close()


def _measure_window(app, window, checkpoint: str, moves: int, hovers: int, frames: int, point_cap: int | None) -> dict:
    """`measure_session`'s figures, taken on `window` (not yet shown) opened on `checkpoint`."""
    import resource

    from PySide6.QtCore import QPointF

    from latentlab.bench.drag import drag_latencies, face_waiter, wait_until
    from latentlab.services.collector import freeze_survivors

    freeze_survivors()  # as the app does once its window exists (latentlab/ui/app.py)
    window.resize(1360, 900)
    window.show()
    if point_cap is not None:
        window.map.atlas_layer.point_cap = point_cap
    if not window.open_checkpoint(checkpoint):
        raise RuntimeError(window.banner.message)
    face_waiter(window)(0.0)
    window.map.atlas_layer.request_index()  # what the pointer's first move over the map does
    wait_until(lambda: not window.gap_map_pending and window.map.atlas_layer.index_ready)
    app.processEvents()
    result: dict = {"mode_at_full_view": window.map.atlas_layer.plan.mode if window.map.atlas_layer.plan else "none"}

    drags = drag_latencies(window, moves)
    result["drag_ms"] = _percentiles(drags)

    # Hover: the pointer moves onto encoded faces (scene positions of random atlas points).
    view = window.map.plot.getPlotItem().getViewBox()
    xy = window.map.atlas_layer.xy
    rng = np.random.default_rng(0)
    lookups, previews = [], []
    for index in rng.choice(len(xy), size=min(hovers, len(xy)), replace=False):
        window.map.hover_at("", -1)
        scene_pos = view.mapViewToScene(QPointF(*xy[index]))
        start = time.perf_counter()
        window.map._mouse_moved(scene_pos)
        lookups.append(time.perf_counter() - start)
        while window.hover_pending and time.perf_counter() - start < 5:
            app.processEvents()
            time.sleep(0.0005)
        previews.append(time.perf_counter() - start)
    result["hover_lookup_ms"] = _percentiles(lookups)
    result["hover_preview_ms"] = _percentiles(previews)

    # Pan and zoom: each frame changes the view range, lets the map re-plan (the event loop's pass) and
    # paints the plot synchronously.
    plot = window.map.plot
    (x0, x1), (y0, y1) = view.viewRange()

    def frame(x_range, y_range) -> float:
        start = time.perf_counter()
        view.setRange(xRange=x_range, yRange=y_range, padding=0)
        app.processEvents()
        plot.viewport().repaint()
        return time.perf_counter() - start

    width, height = x1 - x0, y1 - y0
    pans = [frame((x0 + 0.3 * width * np.sin(i / 10), x1 + 0.3 * width * np.sin(i / 10)), (y0, y1))
            for i in range(frames)]
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    zooms = []
    for i in range(frames):  # from the full view to 1/30 of it and back, around the densest region's centre
        scale = 30 ** (-np.sin(np.pi * i / max(frames - 1, 1)))
        zooms.append(frame((centre[0] - width * scale / 2, centre[0] + width * scale / 2),
                           (centre[1] - height * scale / 2, centre[1] + height * scale / 2)))
    result["pan_ms"], result["zoom_ms"] = _percentiles(pans), _percentiles(zooms)
    result["pan_fps"] = len(pans) / sum(pans)
    result["zoom_fps"] = len(zooms) / sum(zooms)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _run_child(checkpoint: Path, args) -> dict:
    command = [sys.executable, "-m", "latentlab.bench", "scale", "--session", str(checkpoint), "--moves", str(args.moves),
               "--hovers", str(args.hovers), "--frames", str(args.frames)]
    if args.point_cap is not None:
        command += ["--point-cap", str(args.point_cap)]
    from latentlab.bench.launch import launch_env

    try:
        done = subprocess.run(command, capture_output=True, text=True, env=launch_env(), timeout=1800, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError("the session did not finish within 30 minutes") from None
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="a bundled model with an atlas (default: resources/models/vae-synthetic.ckpt)")
    parser.add_argument("--sizes", type=non_negative_ints, default=list(SIZES), help="atlas sizes, comma-separated")
    parser.add_argument("--launches", type=positive_int, default=3, help="launches per size (median)")
    parser.add_argument("--moves", type=positive_int, default=200, help="handle moves per size")
    parser.add_argument("--hovers", type=positive_int, default=100, help="hovers per size")
    parser.add_argument("--frames", type=positive_int, default=60, help="pan frames and zoom frames per size")
    parser.add_argument("--point-cap", type=int, help="draw dots up to this many faces in view (default: the app's)")
    parser.add_argument("--session", help=argparse.SUPPRESS)  # the child process: one session, JSON on stdout
    args = parser.parse_args(argv)
    if min(args.sizes) < 1:
        parser.error("--sizes: every atlas size must be at least 1")
    if args.session:
        print(json.dumps(measure_session(args.session, args.moves, args.hovers, args.frames, args.point_cap)))
        return 0
    from latentlab.bench.launch import launch_env, time_launch
    from latentlab.bundle import grow_atlas
    from latentlab.errors import LatentLabError
    from latentlab.resources import bundled_models

    source = args.checkpoint or next((str(p) for p in bundled_models() if p.stem == "vae-synthetic"), None)
    if source is None:
        print("no --checkpoint given and vae-synthetic is not bundled", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="latentlab-scale-") as folder:
        for size in args.sizes:
            path = Path(folder) / f"atlas-{size}.ckpt"
            try:
                grow_atlas(source, path, size)
            except LatentLabError as err:
                print(f"bench scale: {err}", file=sys.stderr)
                return 2
            try:
                launches = [time_launch(str(path), launch_env(), timeout=600) for _ in range(args.launches)]
                session = _run_child(path, args)
            except RuntimeError as err:
                print(f"bench scale: atlas of {size:,}: {err}", file=sys.stderr)
                return 1
            row = {"size": size, "file_mb": path.stat().st_size / 1e6,
                   "launch_s": statistics.median(launch.exit for launch in launches),
                   "first_paint_s": statistics.median(launch.paint for launch in launches), **session}
            rows.append(row)
            print(f"atlas {size:,}: {json.dumps(row)}", file=sys.stderr)
    print(table(rows, source, args))
    return 0


def table(rows: list[dict], source: str, args) -> str:
    """The Markdown table of the figures, with the goals at the largest size."""
    lines = [(f"checkpoint {source}; {args.launches} launches, {args.moves} handle moves, {args.hovers} hovers, "
              f"{args.frames} pan and {args.frames} zoom frames per size; offscreen"),
             "",
             ("| atlas codes | file MB | full view | process start → first paint s (→ exit) | drag p50 / p95 / max ms | "
              "hover: face found / preview shown, p95 ms | pan frame p50 ms (fps) | zoom frame p50 ms (fps) | peak RSS MB |"),
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        drag = row["drag_ms"]
        lines.append(f"| {row['size']:,} | {row['file_mb']:.1f} | {row['mode_at_full_view']} | "
                     f"{row['first_paint_s']:.2f} ({row['launch_s']:.2f}) | "
                     f"{drag['p50']:.1f} / {drag['p95']:.1f} / {drag['max']:.1f} | "
                     f"{row['hover_lookup_ms']['p95']:.2f} / {row['hover_preview_ms']['p95']:.1f} | "
                     f"{row['pan_ms']['p50']:.1f} ({row['pan_fps']:.0f}) | {row['zoom_ms']['p50']:.1f} ({row['zoom_fps']:.0f}) | "
                     f"{row['peak_rss_mb']:.0f} |")
    if rows:
        last = rows[-1]
        met = {"first_paint_s": last["first_paint_s"] <= GOALS["first_paint_s"], "drag_p95_ms": last["drag_ms"]["p95"] <= GOALS["drag_p95_ms"],
               "pan_fps": last["pan_fps"] >= GOALS["pan_fps"], "zoom_fps": last["zoom_fps"] >= GOALS["zoom_fps"]}
        lines += ["", f"goals at {last['size']:,} codes (launch <= 3 s, drag p95 <= 16 ms, pan and zoom >= 30 fps): "
                  + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items())]
    return "\n".join(lines)
