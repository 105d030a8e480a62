"""The interpolation figure of Creswell, Arulkumaran & Bharath 2016 ("Improving Sampling from
Generative Autoencoders with Markov Chains", arXiv:1610.09296): an interpolation path between two
faces decoded directly (top strip) and after k latent-chain steps applied to every point
(`latentlab.sampling.chained_path`; bottom strip), as one PNG::

    python -m latentlab.bench chained-path --checkpoint resources/models/vae-celeba.ckpt \\
        --a 3 --b 24 --steps 10 --k 5 --out docs/images/chain-interpolation-vae.png

`--a/--b` are indices into the model's latent atlas (encoded training faces); `--image-a/--image-b`
encode image files with the checkpoint's training preprocessing instead. It prints the mean pixel
change and the mean distance ||z_k - z_0|| the chain moved the path.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from latentlab.sampling.chain import CHAIN_MODES
from latentlab.sampling.chained_path import chained_path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m latentlab.bench chained-path",
        description="Write an interpolation between two faces decoded directly (top strip) and after "
                    "k latent Markov chain steps applied to every point (bottom strip), as one PNG.")
    parser.add_argument("--checkpoint", required=True, help="a LatentLab checkpoint with an encoder")
    parser.add_argument("--a", type=int, default=0, help="atlas index of endpoint A (default 0)")
    parser.add_argument("--b", type=int, default=1, help="atlas index of endpoint B (default 1)")
    parser.add_argument("--image-a", help="an image file for endpoint A (overrides --a)")
    parser.add_argument("--image-b", help="an image file for endpoint B (overrides --b)")
    parser.add_argument("--steps", type=int, default=10, help="points on the path, endpoints included (default 10)")
    parser.add_argument("--path", choices=("slerp", "linear"), default="slerp", help="interpolation (default slerp)")
    parser.add_argument("--k", type=int, default=5, help="chain steps applied to every point (default 5)")
    parser.add_argument("--mode", choices=CHAIN_MODES, default="mean", help="chain mode (default mean)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the chain's random draws (default 0)")
    parser.add_argument("--scale", type=int, default=2, help="integer enlargement of the PNG (default 2)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    args = parser.parse_args(argv)

    from latentlab.errors import LatentLabError
    from latentlab.explorer.session import ExplorerSession
    from latentlab.export import save_strips_png
    from latentlab.sampling.interpolation import interpolation_path

    def fail(message: str) -> int:
        print(f"chained_path: error: {message}", file=sys.stderr)
        return 2

    if args.steps < 2:
        return fail(f"--steps must be >= 2, got {args.steps}")
    try:
        session = ExplorerSession.from_checkpoint(args.checkpoint)
        if not session.has_encoder:
            return fail(f"{args.checkpoint}: the model has no encoder, so the latent chain does not apply")
        ends = []
        for index, image in ((args.a, args.image_a), (args.b, args.image_b)):
            if image is not None:
                ends.append(session.encode_files([image])[0][0])
            elif session.atlas_codes is None:
                return fail(f"{args.checkpoint}: no latent atlas in this checkpoint; use --image-a/--image-b")
            elif not 0 <= index < len(session.atlas_codes):
                return fail(f"atlas index {index} out of range (the atlas has {len(session.atlas_codes)} codes)")
            else:
                ends.append(session.atlas_codes[index])
        path = interpolation_path(ends[0], ends[1], args.steps, args.path).astype(np.float32)
        direct = session.decode(path)
        z_k, chained = chained_path(session.model, path, args.k, mode=args.mode, seed=args.seed)
        written = save_strips_png(args.out, [direct, chained], scale=args.scale)
    except (LatentLabError, ValueError) as err:
        return fail(str(err))
    change = np.abs(chained.astype(np.float64) - direct).mean() / 255.0
    moved = np.linalg.norm(z_k - path, axis=1).mean()
    print(f"wrote {written}: {args.steps} points, k = {args.k} ({args.mode}); mean |pixel change| "
          f"{change:.3f}, mean ||z_k - z_0|| {moved:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
