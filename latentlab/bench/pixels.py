"""Pixel sampling speed: the "naive" sampler (a full forward pass per sub-pixel) against the "fast" one
(per-layer activation caching, Ramachandran et al. 2017; `sampling/fast_pixels.py`), side by side in
one run, for one image and for a batch, per model family. Target: fast >= 50x faster for one 28x28
grey image.

Without --checkpoint the models are freshly initialised at their default sizes (PixelCNN: 60 channels,
7 residual blocks; Gated PixelCNN: 60 channels, 8 layers; Row LSTM: 30 channels, 2 layers) on 1 x
SIZE x SIZE images: both samplers do the same arithmetic whatever the weights hold, so the timing does
not depend on training. Both modes draw from the same seed, and the bench checks that they drew the
same image.

Both modes go through `sampling.pixels.sample_steps`, as the app does. A naive run that would take
longer than --naive-budget seconds (default 30, to keep the whole bench near two minutes) stops after
the whole rows that fit (at least two); the fast run is then timed on
the same rows (the speedup is measured on that prefix); the fast mode is also timed on the whole
image, and the naive full-image seconds are extrapolated from the prefix, labelled as such (a naive
step costs the same at every position: it is always a forward pass of the whole image).

    python -m latentlab.bench pixels [--checkpoint PATH] [--size 28] [--batch 16] [--repeats 1]
                                     [--models pixelcnn,gated_pixelcnn,row_lstm] [--threads 1]
                                     [--naive-budget 30]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import statistics
import sys
import time
from dataclasses import dataclass

from latentlab.bench.arguments import choice_list
from latentlab.services.collector import collector_paused

FAMILIES = ("pixelcnn", "gated_pixelcnn", "row_lstm")
TARGET_SPEEDUP = 50.0
FAST_PER_ROUND = 5  # fast timings per alternating round (see `compare`)
MIN_ROWS = 2  # rows a naive timing always covers (see `time_naive_within_budget`)


@dataclass
class Timing:
    model: str
    batch: int
    rows: int  # rows timed (a prefix when fewer than the image's)
    height: int
    naive: float  # seconds for those rows, median over the repeats
    fast: float
    same_sample: bool
    fast_full_image: float  # seconds, measured: the fast mode is always timed on the whole image too

    @property
    def speedup(self) -> float:
        return self.naive / self.fast


def _generator(seed: int):
    import torch

    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def collector_off():
    """Python's garbage collector collected, then off while a run is timed (timeit's convention): a
    full collection over torch's objects takes longer than a whole fast image, and would land in
    whichever run happens to trigger it."""
    gc.collect()
    with collector_paused(freeze=False):
        yield


def time_naive_within_budget(model, n: int, budget: float, seed: int):
    """Naive sampling, stopped after the last whole row that keeps the run within `budget` seconds
    (estimated from the rows so far), but covering at least MIN_ROWS rows: the fast mode's per-row
    work (the Gated PixelCNN's vertical stack, the Row LSTM's state-to-state term) starts at row 1,
    so a row-0-only prefix would flatter it. Returns (seconds, rows timed, image so far)."""
    from latentlab.sampling.pixels import sample_steps

    channels, height, width = model.image_shape
    with collector_off():
        steps = sample_steps(model, n, mode="naive", generator=_generator(seed))
        start, rows, step = time.perf_counter(), 0, None
        for index, step in enumerate(steps, 1):
            if index % (width * channels) == 0:
                rows += 1
                elapsed = time.perf_counter() - start
                if MIN_ROWS <= rows < height and elapsed * (rows + 1) / rows > budget:
                    break
        steps.close()
        return time.perf_counter() - start, rows, step.image


def time_rows(model, n: int, mode: str, rows: int, seed: int):
    """Seconds to sample the first `rows` rows of n images in `mode`, and the image so far."""
    from latentlab.sampling.pixels import sample_steps

    channels, _, width = model.image_shape
    with collector_off():
        start = time.perf_counter()
        steps = sample_steps(model, n, mode=mode, generator=_generator(seed))
        step = None
        for step in itertools.islice(steps, rows * width * channels):
            pass
        steps.close()
        return time.perf_counter() - start, step.image


def compare(name: str, model, n: int, repeats: int, budget: float) -> Timing:
    """Naive then fast, alternating for `repeats` rounds on the same rows and seed (FAST_PER_ROUND fast
    timings per round, one naive); medians of each."""
    import torch

    naive_s, rows, naive_image = time_naive_within_budget(model, n, budget, seed=0)
    fast_s, fast_image = time_rows(model, n, "fast", rows, seed=0)
    naive_times, fast_times = [naive_s], [fast_s]
    for round_ in range(repeats):
        # FAST_PER_ROUND fast timings per round: a fast run lasts well under a second, so one stall
        # of the machine can double it; the median of several is steady at little cost
        fast_times += [time_rows(model, n, "fast", rows, seed=0)[0] for _ in range(FAST_PER_ROUND - (round_ == 0))]
        if round_:
            naive_times.append(time_rows(model, n, "naive", rows, seed=0)[0])
    height = model.image_shape[1]
    fast, naive = statistics.median(fast_times), statistics.median(naive_times)
    fast_full = fast if rows == height else time_rows(model, n, "fast", height, seed=0)[0]
    return Timing(name, n, rows, height, naive, fast, torch.equal(naive_image, fast_image), fast_full)


def format_row(t: Timing, sub_pixels_per_row: int) -> str:
    if t.rows == t.height:
        timed = f"all {t.height} rows ({t.rows * sub_pixels_per_row} sub-px)"
        extrapolated = ""
    else:
        timed = f"rows 0-{t.rows - 1} of {t.height} ({t.rows * sub_pixels_per_row} sub-px)"
        scale = t.height / t.rows
        extrapolated = (f"   full image: naive ~{t.naive * scale:.0f} s EXTRAPOLATED (x{scale:.1f}), "
                        f"fast {t.fast_full_image:.2f} s measured")
    same = "yes" if t.same_sample else "NO"
    return (f"{t.model:15s} {t.batch:5d}   {timed:30s} {t.naive:9.2f} {t.fast:9.3f} {t.speedup:8.1f}x   "
            f"same sample: {same}{extrapolated}")


def load_models(args) -> dict | None:
    from latentlab.models import build_model

    if not args.checkpoint:
        return {name: build_model(name, {"image_shape": [1, args.size, args.size]}) for name in args.models}
    import latentlab
    from latentlab.errors import LatentLabError

    try:
        model = latentlab.load(args.checkpoint)
    except LatentLabError as err:
        print(err, file=sys.stderr)
        return None
    if not getattr(model, "is_autoregressive", False):
        print(f"{args.checkpoint}: not an autoregressive pixel model", file=sys.stderr)
        return None
    if getattr(model, "cond_dim", 0):
        print(f"{args.checkpoint}: conditional models are not benched (no conditioning to give)", file=sys.stderr)
        return None
    return {getattr(model, "registry_name", type(model).__name__): model}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench pixels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="a trained pixel model (default: fresh default-size models)")
    parser.add_argument("--size", type=int, default=28, help="image side without --checkpoint (default 28)")
    parser.add_argument("--batch", type=int, default=16, help="images in the batch timing (default 16)")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds; medians reported (default 1)")
    parser.add_argument("--models", type=choice_list(FAMILIES, "models"), default=list(FAMILIES),
                        help=f"without --checkpoint: comma-separated, among {','.join(FAMILIES)} (default all)")
    parser.add_argument("--naive-budget", type=float, default=30.0,
                        help="seconds a naive timing may take before it stops at a whole row (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both modes (default 1)")
    args = parser.parse_args(argv)
    if args.size < 2 or args.batch < 1 or args.repeats < 1:
        parser.error("--size must be >= 2, --batch and --repeats >= 1")

    import torch

    torch.set_num_threads(args.threads)
    models = load_models(args)
    if models is None:
        return 2
    channels, height, width = next(iter(models.values())).image_shape
    source = args.checkpoint or "fresh default-size models (random weights: timing does not depend on them)"
    print(f"pixels: naive vs fast sampling of {channels}x{height}x{width} images; {source}; "
          f"{torch.get_num_threads()} torch thread(s); median of {args.repeats} round(s) "
          f"({FAST_PER_ROUND} fast timings each); "
          f"naive runs over {args.naive_budget:.0f} s are cut to whole rows")
    print(f"{'model':15s} {'batch':>5s}   {'timed':30s} {'naive s':>9s} {'fast s':>9s} {'speedup':>9s}")
    single: dict[str, float] = {}
    for name, model in models.items():
        model.eval()
        for mode in ("naive", "fast"):  # warm-up: first-call allocations and kernel selection
            time_rows(model, 1, mode, rows=1, seed=0)
        for n in dict.fromkeys((1, args.batch)):  # --batch 1: one row, not the single image timed twice
            timing = compare(name, model, n, args.repeats, args.naive_budget)
            print(format_row(timing, width * channels), flush=True)
            if n == 1:
                single[name] = timing.speedup
    ratios = ", ".join(f"{name} {ratio:.1f}x" for name, ratio in single.items())
    if (height, width) == (28, 28):
        target = f"target >= {TARGET_SPEEDUP:.0f}x: {'met' if min(single.values()) >= TARGET_SPEEDUP else 'NOT met'}"
    else:
        target = f"the target >= {TARGET_SPEEDUP:.0f}x is for 28x28"
    print(f"single-image speedup (naive / fast) at {height}x{width}: {ratios}  ({target})")
    return 0
