"""`python -m latentlab.evaluate CHECKPOINT`: held-out metrics and a picture of what the model learned.

Prints the held-out metrics of `latentlab.analysis.metrics` (reconstruction MSE per pixel, ELBO in
nats per image and bits/dim for the VAE family) on the checkpoint's own dataset (or --data), and
writes a PNG grid: held-out originals / their reconstructions / decodes of prior samples.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

import latentlab
from latentlab.analysis import held_out_metrics
from latentlab.data import load_dataset
from latentlab.errors import LatentLabError
from latentlab.images import save_grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--data", help="dataset spec (default: the one the model was trained on)")
    parser.add_argument("--split", default="test", help="split to evaluate (default: test, the held-out one)")
    parser.add_argument("--limit", type=int, help="evaluate the first N images of the split")
    parser.add_argument("--grid", help="write a PNG grid here: originals / reconstructions / prior samples")
    parser.add_argument("--columns", type=int, default=10, help="images per grid row")
    parser.add_argument("--scale", type=int, default=2, help="integer enlargement of the grid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    args = parser.parse_args(argv)
    try:
        model = latentlab.load(args.checkpoint)
        spec = args.data or model.checkpoint_meta.get("dataset", {}).get("spec")
        if not spec:
            raise LatentLabError(f"{args.checkpoint}: no dataset recorded; pass --data")
        dataset = load_dataset(spec, split=args.split, limit=args.limit)
        if tuple(dataset.image_shape) != tuple(model.image_shape):
            raise LatentLabError(f"{spec} gives images {dataset.image_shape}, the model expects {model.image_shape}")
        metrics = held_out_metrics(model, dataset, seed=args.seed)
    except LatentLabError as err:
        print(f"evaluate: error: {err}", file=sys.stderr)
        return 2
    report = {"checkpoint": args.checkpoint, "model": model.checkpoint_meta["model"], "data": spec,
              "split": args.split, "images": len(dataset), "seed": args.seed, **metrics}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['model']} on {spec} [{args.split}], {len(dataset)} images, seed {args.seed}")
        for key, value in metrics.items():
            print(f"  {key:14s} {value:.6g}")
    if args.grid:
        n = args.columns
        originals = dataset.batch(np.arange(min(n, len(dataset))))
        generator = torch.Generator().manual_seed(args.seed)
        rows, names = [originals], ["originals"]
        if getattr(model, "has_encoder", True):
            rows.append(model.reconstruct(originals))
            names.append("reconstructions")
        if getattr(model, "is_autoregressive", False):
            from latentlab.sampling.pixels import sample_images

            rows.append(sample_images(model, n, generator=generator))  # pixel by pixel
        else:
            rows.append(model.sample_images(n, generator=generator))  # decoder means of prior draws
        names.append("samples")
        print(f"grid: {save_grid(args.grid, rows, scale=args.scale)} (rows: {' / '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
