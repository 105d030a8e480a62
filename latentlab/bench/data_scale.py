"""Peak resident memory against dataset size: `bench data-load --sizes 20000,100000,200000`.

For each size n, a fresh process (so each peak is its own) with a fresh cache folder
  1. loads `synthetic-faces?n=N` (the cache is built: decoded chunk by chunk and written to its file),
  2. loads it again (the cache is memory-mapped),
  3. trains one epoch on it with the real `Trainer` (a small autoencoder, batch 256: the model's
     size does not depend on n, so any growth in memory with n is the data path's),
and reports the process's peak RSS (`ru_maxrss`, which counts every mapped page it touched) after
each phase. The goal: peak RSS flat in n, while the images alone grow from 0.25 GB to 2.4 GB at 64x64.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

CHILD_FLAG = "--rss-child"  # internal: data-load runs one size in this process and prints a JSON line


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_one(spec: str, batch: int, max_steps: int | None) -> dict:
    """Phases 1-3 above in this process, for `spec`; returns the figures."""
    from latentlab.data import load_dataset
    from trainers.config import TrainConfig
    from trainers.events import Failed, Finished
    from trainers.loop import Trainer

    figures: dict = {"start_mb": peak_rss_mb()}
    start = time.perf_counter()
    dataset = load_dataset(spec, split="train")
    figures.update(images=len(dataset), image_mb=dataset.images.nbytes / 2**20,
                   build_s=time.perf_counter() - start, after_build_mb=peak_rss_mb())
    start = time.perf_counter()
    dataset = load_dataset(spec, split="train")
    figures.update(mapped_s=time.perf_counter() - start, after_map_mb=peak_rss_mb())
    del dataset
    with tempfile.TemporaryDirectory(prefix="latentlab-scale-run-") as out:
        config = TrainConfig(model="ae", data=spec, out=out, epochs=1, batch_size=batch, max_steps=max_steps,
                             model_config={"latent_dim": 8, "base_channels": 8}, eval_limit=0,
                             checkpoint_every=10**9, preview_every=10**9)
        start, steps = time.perf_counter(), 0
        for event in Trainer(config).run():
            if isinstance(event, Failed):
                raise RuntimeError(event.message)
            if isinstance(event, Finished):
                steps = event.step
    figures.update(epoch_steps=steps, epoch_s=time.perf_counter() - start, after_epoch_mb=peak_rss_mb())
    return figures


def child_main(argv: list[str]) -> int:
    spec, batch, max_steps = argv[0], int(argv[1]), (int(argv[2]) if argv[2] != "none" else None)
    print(json.dumps(measure_one(spec, batch, max_steps)))
    return 0


def run_sizes(sizes: list[int], image_side: int, batch: int, max_steps: int | None) -> int:
    """One child per size, each with a fresh temporary cache folder; prints the table."""
    print(f"synthetic-faces at {image_side}x{image_side}: peak RSS per phase, one fresh process per size")
    print(f"{'n':>8} {'images MB':>10} {'build s':>8} {'RSS build':>10} {'RSS map':>8} "
          f"{'epoch s':>8} {'steps':>6} {'RSS epoch':>10}")
    rows = []
    for n in sizes:
        spec = f"synthetic-faces?n={n}&size={image_side}"
        with tempfile.TemporaryDirectory(prefix="latentlab-scale-") as cache:
            env = {**os.environ, "LATENTLAB_CACHE_DIR": cache}
            done = subprocess.run([sys.executable, "-m", "latentlab.bench", "data-load", CHILD_FLAG, spec, str(batch),
                                   "none" if max_steps is None else str(max_steps)],
                                  env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"n = {n}: failed\n{done.stderr[-2000:]}")
            return 1
        f = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(f)
        print(f"{n:>8} {f['image_mb']:>10.0f} {f['build_s']:>8.1f} {f['after_build_mb']:>9.0f}M "
              f"{f['after_map_mb']:>7.0f}M {f['epoch_s']:>8.1f} {f['epoch_steps']:>6} {f['after_epoch_mb']:>9.0f}M",
              flush=True)
    peaks = [f["after_epoch_mb"] for f in rows]
    growth = max(peaks) - min(peaks)
    images = rows[-1]["image_mb"] - rows[0]["image_mb"]
    print(f"peak RSS spread over the sizes: {growth:.0f} MB while the images grew by {images:.0f} MB")
    return 0
