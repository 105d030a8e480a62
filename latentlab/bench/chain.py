"""The latent Markov chain's effect on sample quality, per step and mode, against held-out data.

    python -m latentlab.bench chain --checkpoint PATH [--data SPEC] [--split test] [--n 1000]
                                    [--seed 0] [--steps 0,1,2,5,10] [--modes mean,stochastic] [--debias]
                                    [--start prior|p-hat] [--features PATH ...] [--json]

n chains start from the prior N(0, I) (seeded; `--start p-hat`: from seeded draws of the model's
fitted P̂(Z)) and run the chain (Creswell et al. 2016); at each
step: the Fréchet distance of the decodes to the held-out images in each shipped feature space
(resources/features/: the project's CelebA autoencoder code and a contrastive network that sees
blur; not Inception; one report each), the latent MMD (IMQ kernel)
between z_t and the held-out images' posterior means, the mean gap score log P(z) - log P̂(z),
and the decodes' mean intensity and sharpness, beside the held-out images' own figures and those
of their reconstructions, and a "P^ samples" row: n decoded draws of the model's P̂(Z) (the
explorer's `analysis.density.fit_p_hat`), no chain at all. Details: latentlab/studies/chain_study.py,
docs/chain-study.md, docs/p-hat-sampling.md.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from latentlab.bench.arguments import choice_list, non_negative_ints
from latentlab.analysis.codes import GAP_TRAIN_IMAGES
from latentlab.studies.chain_study import DEFAULT_MODES, DEFAULT_STEPS, REPORT_MODES

TRAIN_COMPARISON_IMAGES = 1000  # compared training images with --split train (the test split's size)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench chain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a LatentLab checkpoint with an encoder")
    parser.add_argument("--data", help="dataset spec (default: the one the checkpoint was trained on)")
    parser.add_argument("--split", default="test",
                        help="the split to compare with (default test; 'train': 1,000 training images after the "
                             "atlas's and the floor's, to choose settings without touching the held-out faces)")
    parser.add_argument("--n", type=int, default=1000, help="chains (samples) per mode (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=non_negative_ints, default=list(DEFAULT_STEPS), help="default 0,1,2,5,10")
    parser.add_argument("--modes", type=choice_list(REPORT_MODES, "modes"), default=list(DEFAULT_MODES),
                        help=f"comma-separated, among {', '.join(REPORT_MODES)} (default mean,stochastic)")
    parser.add_argument("--debias", action="store_true",
                        help="run the debiased chain z_(t+1) = T(z_t) - b, with b the mean move of training "
                             "codes in one step")
    parser.add_argument("--start", default="prior", choices=("prior", "p-hat"),
                        help="where the chains start: prior samples (default) or draws of the model's P̂(Z)")
    parser.add_argument("--features", nargs="+",
                        help="feature network checkpoints (default: every one in resources/features/, one report each)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be at least 2")

    from latentlab.analysis.frechet import load_feature_networks
    from latentlab.checkpoints import load_model
    from latentlab.errors import LatentLabError
    from latentlab.studies.chain_study import chain_report

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    try:
        model = load_model(args.checkpoint)
        if not callable(getattr(model, "encode", None)) or not getattr(model, "has_encoder", True):
            print(f"chain: error: {args.checkpoint}: model {model.registry_name!r} has no encoder, "
                  "so the latent chain does not apply", file=sys.stderr)
            return 2
        spec = args.data or (model.checkpoint_meta.get("dataset") or {}).get("spec")
        if not spec:
            print(f"chain: error: {args.checkpoint} records no dataset; pass --data", file=sys.stderr)
            return 2
        networks = load_feature_networks(args.features)
        progress(f"loading {spec} ({args.split} split)")
        held_out, train = comparison_data(spec, args.split, args.n)
        for name, data in (("held-out", held_out), ("training", train)):
            shape = tuple(data.shape[1:]) if isinstance(data, np.ndarray) else tuple(data.image_shape)
            if shape != tuple(model.image_shape):
                print(f"chain: error: {spec} gives {name} images {shape}, the model expects "
                      f"{tuple(model.image_shape)}", file=sys.stderr)
                return 2
        # one report per feature space; the chains are the same in each (same seed), only the scoring differs
        reports = [chain_report(model, held_out, features, n=args.n, seed=args.seed, steps=args.steps,
                                modes=args.modes, train=train, model_name=str(args.checkpoint), debias=args.debias,
                                progress=progress, start=args.start.replace("-", "_"))
                   for features in networks]
    except LatentLabError as err:
        print(f"chain: error: {err}", file=sys.stderr)
        return 2
    if args.json:  # the first feature space's report at the top level, as before; all in feature_spaces
        print(json.dumps({**reports[0].to_dict(), "feature_spaces": [r.to_dict() for r in reports]}, indent=1))
    else:
        print(f"data: {spec} ({args.split} split, {reports[0].n_held_out} images)")
        for report in reports:
            print(report.format())
            print(f"({report.seconds:.0f} s)\n")
    return 0


def comparison_data(spec: str, split: str, n: int):
    """(compared images, training images) for the chain study. For a held-out split: that whole split
    (an ImageDataset) and the first max(n, 3000) training images (the floor's n and P̂'s atlas). For
    split "train": the 1,000 training images that follow those, as float [M, C, H, W] in [0, 1], so
    settings can be chosen without the held-out faces and no image is on both sides."""
    from latentlab.data import load_dataset
    from latentlab.errors import DataError

    used = max(n, GAP_TRAIN_IMAGES)
    if split != "train":
        return load_dataset(spec, split=split), load_dataset(spec, split="train", limit=used)
    train = load_dataset(spec, split="train", limit=used + TRAIN_COMPARISON_IMAGES)
    images = train.as_tensor()
    compared = images[used:].float().div(255.0).numpy()
    if len(compared) < 2:
        raise DataError(f"{spec}: its training split has {len(images)} images; comparing on the training split "
                        f"needs more than the first {used} (the floor's and the atlas's)")
    return compared, load_dataset(spec, split="train", limit=used)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
