"""Memorisation figure of every bundled CelebA model: how near its samples come to training faces,
against how near faces it never saw come.

    python -m latentlab.bench nearest [--checkpoints PATH ...] [--data SPEC] [--n 1000] [--held-out 1000]
                                      [--seed 0] [--compare-search] [--json]

For each model, the nearest-training distance d(x) = min_i ‖x − t_i‖ (RMS difference per pixel,
images in [0, 1], over the whole training split; `analysis.nearest`) of

- n decoded prior samples z ~ N(0, I) (the seeded draw `bench quality` uses),
- n decoded draws of the model's P̂(Z) (`bench quality`'s P̂ column: a Gaussian mixture fitted to
  its atlas), for models with an atlas,
- the reconstructions of n training faces (a positive control: these faces were trained on, so
  their reconstructions should come nearer than unseen faces' do),

set against the reference: the same distance for the first `--held-out` held-out faces passed
through the model (their reconstructions; a decoder-only model: the held-out photos). The figures:
*copy rate*, the share of samples nearer to a training face than the 1 % quantile of the reference
(about 1 % for a model whose samples are as new as unseen faces, far more for one that copies), and
the samples' median distance over the reference's median. Meehan et al. (2020), "A non-parametric
test to detect data-copying in generative models", compare the same two distance distributions.
The last column scores the prior samples against the held-out *photos* instead, to show why the
reference goes through the decoder: blurry decodes sit nearer to everything than sharp photos do.

`--compare-search` instead only times the exact search two ways (20 held-out faces among the first
2,000 training images: scipy's cKDTree against the chunked matrix products the code uses), the
measurement behind `analysis.nearest`'s choice.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class NearestRow:
    """One model's figures (`analysis.nearest.CopyFigures` as dicts; None where they do not apply)."""

    model: str
    family: str
    reference: str
    reference_median: float
    copy_threshold: float
    prior: dict[str, float]
    p_hat: dict[str, float] | None
    train_reconstructions: dict[str, float] | None
    prior_vs_photos: dict[str, float]


def _distances(images: np.ndarray, train_values: np.ndarray) -> np.ndarray:
    """RMS nearest-training distances of images (uint8, or floats in [0, 1]) to float training values."""
    from latentlab.analysis.nearest import nearest_distances, rms_distance

    return rms_distance(nearest_distances(images, train_values, batch=1000), train_values.shape[1])


def score_model(model: Any, name: str, train: np.ndarray, train_values: np.ndarray, held: np.ndarray, photos: Any,
                n: int, seed: int, say: Any) -> NearestRow:
    """The figures of one model (see the module docstring): `train` uint8 [N, C, H, W] and the same
    as floats [N, C·H·W] in [0, 1]; `photos` is the held-out photos' reference."""
    import torch

    from latentlab.analysis.codes import decode_means, reconstructions
    from latentlab.analysis.nearest import HeldOutReference, copy_figures
    from latentlab.bench.quality import _has_encoder, p_hat_codes
    from latentlab.sampling.chain import prior_start

    model.eval()
    encoder = _has_encoder(model)
    unit = held.astype(np.float32) / 255.0
    if encoder:
        say(f"{name}: held-out reconstructions")
        unseen = reconstructions(model, unit)
        reference = HeldOutReference.of(_distances(unseen, train_values), "held-out reconstructions")
    else:
        reference = photos
    say(f"{name}: prior samples")
    z = prior_start(model, n, generator=torch.Generator().manual_seed(seed))
    prior = _distances(decode_means(model, z), train_values)
    p_hat = recon = None
    codes = p_hat_codes(model, n, seed, train=None) if encoder else None
    if codes is not None:
        say(f"{name}: P̂(Z) samples")
        p_hat = asdict(copy_figures(_distances(decode_means(model, codes), train_values), reference))
    if encoder:
        say(f"{name}: training reconstructions")
        seen = reconstructions(model, train[:n].astype(np.float32) / 255.0)
        recon = asdict(copy_figures(_distances(seen, train_values), reference))
    return NearestRow(name, model.registry_name, reference.what, reference.median, reference.copy_threshold,
                      asdict(copy_figures(prior, reference)), p_hat, recon, asdict(copy_figures(prior, photos)))


def compare_search(train: np.ndarray, queries: np.ndarray, size: int = 2000) -> dict[str, Any]:
    """Seconds to find the nearest of `size` training images for each query: cKDTree (build, query)
    against the chunked products of `analysis.nearest.nearest_neighbours`; both exact, and whether
    they gave the same distances."""
    from scipy.spatial import cKDTree

    from latentlab.analysis.nearest import nearest_neighbours

    subset = np.asarray(train[:size], dtype=np.float32).reshape(min(size, len(train)), -1) / 255.0
    flat = np.asarray(queries, dtype=np.float32).reshape(len(queries), -1) / 255.0
    started = time.perf_counter()
    tree = cKDTree(subset)
    built = time.perf_counter()
    tree_d, _ = tree.query(flat, k=1)
    queried = time.perf_counter()
    products_d, _ = nearest_neighbours(flat, subset, k=1)
    done = time.perf_counter()
    return {"references": len(subset), "queries": len(flat), "tree_build_s": built - started,
            "tree_query_s": queried - built, "products_s": done - queried,
            "same_answer": bool(np.allclose(tree_d, products_d[:, 0], atol=1e-3))}


def _cell(figures: dict[str, float] | None) -> str:
    if figures is None:
        return f"{'—':>15s}"
    return f"{100 * figures['copy_rate']:6.1f} % {figures['median_ratio']:5.2f}x"


def format_table(rows: list[NearestRow]) -> str:
    head = (f"{'model':18s} {'reference':25s} {'median':>7s} {'1 % q':>7s} | {'prior':>15s} | {'P̂(Z)':>15s} | "
            f"{'train recon':>15s} | {'prior vs photos':>15s}")
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(f"{row.model:18s} {row.reference:25s} {row.reference_median:7.4f} {row.copy_threshold:7.4f} | "
                     f"{_cell(row.prior)} | {_cell(row.p_hat)} | {_cell(row.train_reconstructions)} | "
                     f"{_cell(row.prior_vs_photos)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench nearest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="checkpoints to score (default: the bundled CelebA models)")
    parser.add_argument("--data", help="dataset spec (default: the first model's)")
    parser.add_argument("--n", type=int, default=1000, help="samples of each kind per model (default 1000)")
    parser.add_argument("--held-out", type=int, default=1000, help="held-out faces in the reference (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the sample seed (default 0)")
    parser.add_argument("--compare-search", action="store_true",
                        help="only time the search: cKDTree against chunked products")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.held_out < 2:
        parser.error("--n must be at least 1 and --held-out at least 2")

    from latentlab.analysis.nearest import COPY_QUANTILE, HeldOutReference
    from latentlab.bench.quality import models_and_spec
    from latentlab.data import load_dataset
    from latentlab.errors import LatentLabError

    def say(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        models, spec = models_and_spec(args.checkpoints, args.data, say)
        say(f"loading {spec} (training and held-out splits)")
        train = np.asarray(load_dataset(spec, split="train").images)
        # floats once (9,000 64x64 faces: 442 MB), not chunk by chunk for every query batch
        train_values = train.reshape(len(train), -1).astype(np.float32) / 255.0
        held = np.asarray(load_dataset(spec, split="test", limit=args.held_out).images)
    except LatentLabError as err:
        print(f"nearest: error: {err}", file=sys.stderr)
        return 2
    if args.compare_search:
        search = compare_search(train, held[:20])
        print(f"exact nearest of {search['queries']} held-out faces among the first {search['references']} training "
              f"images of {spec}: cKDTree build {search['tree_build_s']:.2f} s + query {search['tree_query_s']:.2f} s; "
              f"chunked products {search['products_s']:.2f} s; same distances: {search['same_answer']}")
        return 0
    say("held-out photos")
    photos = HeldOutReference.of(_distances(held, train_values), "held-out faces")
    rows = []
    for path, model in models:
        if tuple(model.image_shape) != tuple(train.shape[1:]):
            say(f"skipping {path.name}: images {tuple(model.image_shape)}, the data's {tuple(train.shape[1:])}")
            continue
        rows.append(score_model(model, path.stem, train, train_values, held, photos, args.n, args.seed, say))
    if args.json:
        print(json.dumps({"data": spec, "train": len(train), "held_out": len(held), "n": args.n, "seed": args.seed,
                          "photos_median": photos.median, "rows": [asdict(r) for r in rows]},
                         indent=1))
        return 0
    print(f"Nearest-training distances (RMS per pixel, images in [0, 1]) to the {len(train)} training images of {spec};"
          f" {args.n} samples per column, seed {args.seed}; reference: {len(held)} held-out faces through the model")
    print(f"cells: copy rate (share nearer than the reference's {COPY_QUANTILE:.0%} quantile; about 1 % is no copying) "
          "and median distance / the reference's median")
    print(format_table(rows))
    print(f"held-out photos themselves: median {photos.median:.4f}, 1 % quantile {photos.copy_threshold:.4f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
