"""An interpolation path after k steps of the latent Markov chain, applied to every point of the path
(the interpolation figure of Creswell, Arulkumaran & Bharath 2016: slerp paths between two faces
before and after MCMC sampling).

Each point z_i of the path [K, D] starts its own chain with the transition of `latent_chain`::

    T(z_{t+1} | z_t) = ∫∫ Q_phi(z_{t+1} | x̃) C(x̃ | x) P_theta(x | z_t) dx dx̃

(decode, corrupt for denoising models only, re-encode). Why it helps: the encoder was trained so
that the aggregate posterior P̂(Z) matches the prior P(Z), but it never matches exactly, and the
points of a linear or even spherical path between two encoded faces cross regions of P(Z) where no
training image was encoded (the "gaps" of P̂(Z)). The decoder never learned those regions, so their
decodes look like two faces overlaid (ghosting) or blur. The chain's stationary distribution is
P̂(Z) (their Theorem 1), so a few transitions move every point toward codes the decoder learned,
and the decodes become more face-like while the path's order is kept.

Run as a command to write the two-strip figure (top: decoded directly, bottom: after k steps)::

    python -m latentlab.sampling.chained_path --checkpoint resources/models/vae-celeba.ckpt \\
        --a 3 --b 24 --steps 10 --k 5 --out docs/images/chain-interpolation-vae.png

`--a/--b` are indices into the model's latent atlas (encoded training faces); `--image-a/--image-b`
encode image files with the checkpoint's training preprocessing instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from latentlab.images import to_uint8
from latentlab.sampling.chain import CHAIN_MODES, latent_chain, model_device


def chained_path(model: Any, path: np.ndarray, k: int, mode: str = "mean", seed: int = 0,
                 corrupt: bool = True, progress: Callable[[int], None] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The path [K, D] after `k` chain transitions applied to every point of it.

    Returns (z_k float32 [K, D], decoder means of z_k as uint8 images [K, C, H, W]); k = 0 returns
    the path itself and its direct decodes. `mode` is "mean" (decode the mean image, encode the
    posterior mean: deterministic, except for the corruption of denoising models) or "stochastic"
    (sample both: the faithful chain). Every random draw comes from a torch.Generator seeded with
    `seed`, so the same arguments give the same result. Raises ValueError for a model without an
    encoder, a bad mode, k < 0, or a path that is not [K, D] with the model's D. `progress(t)`, when
    given, is called after each transition t = 1..k (e.g. to update a label).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    generator = torch.Generator(device=model_device(model)).manual_seed(int(seed))
    # latent_chain is what run_chain collects into a list; only the last step is kept here, so
    # 64 points x 20 steps of 64x64 decodes never sit in memory at once.
    last = None
    for last in latent_chain(model, path, int(k), mode=mode, generator=generator, corrupt=corrupt):
        if progress is not None and last.step > 0:
            progress(last.step)
    return last.z, to_uint8(last.x)


# ---------------------------------------------------------------------------- the figure command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m latentlab.sampling.chained_path",
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

    # The command sits on top of the stack; the library function above imports nothing from above
    # latentlab.sampling (docs/architecture.md: imports point down).
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
    sys.exit(main())
