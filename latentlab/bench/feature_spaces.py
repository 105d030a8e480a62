"""How each feature space sees blur: FD of blurred faces and of a model's reconstructions.

    python -m latentlab.bench feature-spaces [--features PATH ...] [--data SPEC] [--n 1000]
                                             [--sigmas 0.5,1,2] [--checkpoint PATH]

For every feature network (default: each one in resources/features/), the Fréchet distance to n
held-out faces of: n training faces (the floor), the held-out faces blurred by a Gaussian of each
σ (pixels at 64x64), and the held-out faces' reconstructions by `--checkpoint` (default: the bundled
default model). Each figure is also printed as a multiple of that space's floor, so spaces of
different scale compare: a space that cannot tell blur from detail keeps blur and reconstructions
near 1x.
"""

from __future__ import annotations

import argparse
import sys
import time

from latentlab.bench.arguments import number_list


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench feature-spaces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", nargs="+", help="feature network checkpoints (default: resources/features/*)")
    parser.add_argument("--data", default=None, help="dataset spec (default: the checkpoint's)")
    parser.add_argument("--n", type=int, default=1000, help="faces on each side (default 1000)")
    parser.add_argument("--sigmas", type=number_list, default=[0.5, 1.0, 2.0], help="blur σ in pixels (default 0.5,1,2)")
    parser.add_argument("--checkpoint", help="the model whose reconstructions are scored (default: bundled default)")
    args = parser.parse_args(argv)
    if args.n < 2 or any(s <= 0 for s in args.sigmas):
        parser.error("--n must be at least 2 and every σ positive")

    import torch

    from latentlab.analysis.codes import reconstructions
    from latentlab.analysis.frechet import fid_against, load_feature_networks
    from latentlab.checkpoints import load_model
    from latentlab.data import load_dataset
    from latentlab.errors import LatentLabError
    from latentlab.models.contrastive import gaussian_blur
    from latentlab.resources import default_model

    started = time.perf_counter()
    try:
        checkpoint = args.checkpoint or default_model()
        if checkpoint is None:
            raise LatentLabError("no --checkpoint given and no bundled model found")
        model = load_model(checkpoint)
        spec = args.data or (model.checkpoint_meta.get("dataset") or {}).get("spec")
        if not spec:
            raise LatentLabError(f"{checkpoint} records no dataset; pass --data")
        held = load_dataset(spec, split="test", limit=args.n).as_tensor().float().div(255)
        train = load_dataset(spec, split="train", limit=args.n).as_tensor().float().div(255)
        compared = {"training faces (floor)": train}
        compared.update({f"blurred, σ = {s:g} px": gaussian_blur(held, float(s)) for s in args.sigmas})
        compared[f"reconstructions ({model.registry_name})"] = torch.as_tensor(reconstructions(model, held.numpy()))
        print(f"FD to {len(held)} held-out faces of {spec}; in brackets, as a multiple of the floor")
        for features in load_feature_networks(args.features):
            reference = features(held)
            figures = {name: fid_against(features(images), reference) for name, images in compared.items()}
            floor = figures["training faces (floor)"]
            print(f"\n{features.name}")
            for name, fd in figures.items():
                print(f"  {name:34s} {fd:10.2f}  ({fd / floor:6.1f}x)")
    except LatentLabError as err:
        print(f"feature-spaces: error: {err}", file=sys.stderr)
        return 2
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
