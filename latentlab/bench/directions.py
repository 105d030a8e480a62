"""Attribute directions: does the group-mean difference or the logistic-regression normal flip a
synthetic-face factor more reliably? (`latentlab.studies.direction_study` states the protocol.)

    python -m latentlab.bench directions [--checkpoint resources/models/vae-synthetic.ckpt]
        [--factors glasses,smile,mouth_open,skin_tone,eye_size] [--steps 1,2,3] [--judge-images 6000]
        [--held-out 1000] [--figure docs/images/directions.png]

Directions come from the model's atlas (its encoded training faces and their factors), as in the
window; the judge trains on reconstructions of the training faces after the atlas; the moved faces
are the first `--held-out` faces of the test split. The data (`synthetic-faces`, or the spec the
checkpoint records) is rendered on the fly and cached, so the bench needs no files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from latentlab.bench.arguments import non_negative_ints


def _positive_floats(text: str) -> list[float]:
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"steps must be comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"steps must be positive numbers, got {text!r}")
    return values


def main(argv: list[str]) -> int:
    from latentlab.resources import bundled_models

    default_checkpoint = next((str(p) for p in bundled_models() if p.stem == "vae-synthetic"), None)
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench directions", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=default_checkpoint, help="a model with an atlas carrying the factors "
                        "(default: the bundled vae-synthetic)")
    parser.add_argument("--factors", default="glasses,smile,mouth_open,skin_tone,eye_size",
                        help="comma-separated atlas labels to judge (default: glasses,smile,mouth_open,skin_tone,eye_size)")
    parser.add_argument("--steps", type=_positive_floats, default=[1.0, 2.0, 3.0],
                        help="moves t along the unit direction (default 1,2,3)")
    parser.add_argument("--judge-images", type=int, default=6000, help="training faces the judge learns from (default 6000)")
    parser.add_argument("--held-out", type=int, default=1000, help="test-split faces to move (default 1000)")
    parser.add_argument("--epochs", type=int, default=6, help="judge training epochs (default 6)")
    parser.add_argument("--seed", type=non_negative_ints, default=[0], help="judge seed (default 0)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores but one)")
    parser.add_argument("--figure", help="write a PNG: one held-out face moved along each direction (t = 0 and --steps)")
    args = parser.parse_args(argv)

    import torch

    from latentlab.errors import LatentLabError
    from latentlab.explorer import ExplorerSession
    from latentlab.images import save_grid
    from latentlab.studies.direction_study import direction_flips

    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) - 1))
    started = time.perf_counter()
    try:
        if args.checkpoint is None:
            raise LatentLabError("no --checkpoint given and the bundled vae-synthetic is not installed")
        session = ExplorerSession.from_checkpoint(args.checkpoint)
        factors = [f.strip() for f in args.factors.split(",") if f.strip()]
        missing = [f for f in factors if f not in session.atlas_labels]
        if session.atlas_codes is None or missing:
            raise LatentLabError(f"{args.checkpoint}: its atlas carries no label {', '.join(missing) or 'at all'} "
                                 f"(labels: {', '.join(sorted(session.atlas_labels)) or 'none'})")
        from latentlab.data import load_dataset

        spec = (session.meta.get("atlas") or {}).get("data") or session.dataset_spec
        atlas_count = len(session.atlas_codes)
        train = load_dataset(spec, split="train", limit=atlas_count + args.judge_images)
        test = load_dataset(spec, split="test", limit=args.held_out)
    except LatentLabError as err:
        print(f"directions: error: {err}", file=sys.stderr)
        return 2
    judge_images = np.asarray(train.images[atlas_count:])
    judge_labels = {f: train.labels[f][atlas_count:] for f in factors}
    report = direction_flips(session.model, session.atlas_codes, session.atlas_labels, judge_images, judge_labels,
                             np.asarray(test.images), {f: test.labels[f] for f in factors}, factors, args.steps,
                             epochs=args.epochs, seed=args.seed[0])

    print(f"\n{args.checkpoint}: directions from its {atlas_count} atlas faces; judge trained on "
          f"{len(judge_images)} reconstructed training faces; held-out faces lacking the factor moved by t")
    print("| factor | judge accuracy | cos(mean, clf) | faces | t | flipped: group mean | flipped: classifier "
          "| others changed: group mean | others changed: classifier |")
    print("|---|---|---|---|---|---|---|---|---|")
    by_key = {(r.factor, r.method, r.t): r for r in report.rows}
    for factor in factors:
        for t in args.steps:
            mean, clf = by_key[(factor, "group-mean", t)], by_key[(factor, "classifier", t)]
            print(f"| {factor} | {report.judge_accuracy[factor]:.1%} | {report.cosines[factor]:.2f} | {mean.faces} | "
                  f"{t:g} | {mean.flipped:.1%} | {clf.flipped:.1%} | {mean.others_changed:.1%} | {clf.others_changed:.1%} |")
    for method in ("group-mean", "classifier"):
        rows = [r for r in report.rows if r.method == method]
        print(f"mean over factors and steps, {method}: flipped {np.mean([r.flipped for r in rows]):.1%}, "
              f"others changed {np.mean([r.others_changed for r in rows]):.1%}")
    if args.figure:
        save_grid(args.figure, [strip for _, strip in report.strips], scale=1)
        print(f"figure: {args.figure} (rows: " + "; ".join(caption for caption, _ in report.strips) + ")")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
