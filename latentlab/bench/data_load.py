"""Cold (fresh cache) vs cached load time of an image dataset.

    python -m latentlab.bench data-load [--data SPEC] [--split train] [--limit N] [--size S]

    python -m latentlab.bench data-load --sizes 20000,100000,200000 [--size 64] [--batch 256]

The default is the 9,000 CelebA training images of ../shared/data/celeba_10k at 64x64; the
targets are under 60 s cold and under 2 s cached.  The cold run uses a fresh temporary cache
folder (the image files themselves may already be in the OS page cache). With --sizes: peak RSS of
building, mapping and training one epoch on `synthetic-faces?n=N` for each N (`data_scale.py`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from latentlab.bench import data_scale
from latentlab.data import load_dataset, parse_spec
from latentlab.errors import LatentLabError

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "celeba_10k"
COLD_TARGET_S, WARM_TARGET_S = 60.0, 2.0


def _timed_load(spec: str, split: str, limit: int | None) -> tuple[float, int]:
    start = time.perf_counter()
    dataset = load_dataset(spec, split=split, limit=limit)
    return time.perf_counter() - start, len(dataset)


def main(argv: list[str]) -> int:
    if argv[:1] == [data_scale.CHILD_FLAG]:
        return data_scale.child_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench data-load", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"celeba:{DEFAULT_DATA}", help="dataset spec (default: %(default)s)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--size", type=int, default=None, help="override the spec's size option")
    parser.add_argument("--warm-runs", type=int, default=3, help="cached loads to time (the best is shown)")
    parser.add_argument("--sizes", help="comma-separated n: peak RSS of synthetic-faces?n=N through the cache and "
                        "one training epoch, per n (ignores --data, --split, --limit)")
    parser.add_argument("--batch", type=int, default=256, help="with --sizes: the epoch's batch size")
    parser.add_argument("--max-steps", type=int, default=None, help="with --sizes: cut the epoch short")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
        return data_scale.run_sizes(sizes, args.size or 64, args.batch, args.max_steps)
    try:
        spec = parse_spec(args.data).with_options(size=args.size).to_string()
        saved = os.environ.get("LATENTLAB_CACHE_DIR")
        with tempfile.TemporaryDirectory(prefix="latentlab-bench-") as cache:
            os.environ["LATENTLAB_CACHE_DIR"] = cache
            try:
                cold, count = _timed_load(spec, args.split, args.limit)
                warm = min(_timed_load(spec, args.split, args.limit)[0] for _ in range(max(1, args.warm_runs)))
            finally:
                if saved is None:
                    os.environ.pop("LATENTLAB_CACHE_DIR", None)
                else:
                    os.environ["LATENTLAB_CACHE_DIR"] = saved
    except LatentLabError as err:
        print(f"error: {err}")
        return 1
    print(f"data {spec}, split {args.split}: {count} images")
    print(f"cold (decode + write cache): {cold:7.2f} s  ({count / cold:,.0f} images/s; target < {COLD_TARGET_S:.0f} s)")
    print(f"cached (memory-mapped):      {warm:7.3f} s  (target < {WARM_TARGET_S:.0f} s)")
    ok = cold < COLD_TARGET_S and warm < WARM_TARGET_S
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1
