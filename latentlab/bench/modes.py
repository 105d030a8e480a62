"""Mode coverage of the GAN with and without Su's regulariser on the 2-D ring of 8 Gaussians.

For each seed, two MLP GANs (latentlab.studies.mode_coverage.ToyGAN) are trained with identical
architecture, optimiser, schedule, batch and seed (so identical initial weights and batches) by the
DCGAN trainer's own scheme (trainers.schemes.AlternatingAdversarial) and generator phase
(latentlab.models.gan.SuAnchoredGenerator): the plain non-saturating GAN (lambda = 0) and the GAN with
Su's regulariser (lambda = --weight),
    generator loss  E_z[ -log D(G(z)) ] + lambda * mean (G(z) - G_old(z))²      (Su 2018),
on Su's schedule: each iteration is one discriminator step, then the anchor G_old(z) (the generator
the discriminator was just trained against, on one z batch), then --generator-steps generator steps
on that z against that anchor (Su's reference code, github.com/bojone/gan vgan/, takes 2, or 5 x 2).
Each trained generator draws 2500 samples (a fixed z stream per seed), scored as VEEGAN does:
high quality = within 3 sigma (0.06) of the nearest mode; a mode is captured when at least one
high-quality sample is nearest to it (column "modes"); the stricter column ">=1%" needs at least 1 %
of the samples (25 of 2500) to be high quality there. The table gives both GANs per seed and the
mean over seeds.

    python -m latentlab.bench modes [--seeds 0 1 2 3 4] [--steps 1000] [--generator-steps 5]
                                    [--weight 2] [--png FILE]

Defaults: 4 x 128 ReLU MLPs for G and D, 256-d N(0, I) latent, batch 512, Adam lr 1e-3,
betas (0.5, 0.999), 1000 iterations of 1 D + 5 G steps, lambda = 2 on the per-element mean (lambda = 1 on
the sum over the 2 coordinates, chosen on seeds 100-102); the defaults report seeds 0-4
(docs/mode-coverage.md).
One torch thread by default; about 5 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_SEEDS = (0, 1, 2, 3, 4)
DEFAULT_STEPS = 1000
DEFAULT_GENERATOR_STEPS = 5
DEFAULT_WEIGHT = 2.0
STRICT_FRACTION = 0.01


@dataclass
class SeedResult:
    """One seed: mode counts (VEEGAN and >= 1 %) and high-quality fraction of the plain and the
    regularised GAN, plus the trained generators' samples (for the optional scatter plot)."""

    seed: int
    plain: tuple[int, int, float]
    regularised: tuple[int, int, float]
    samples: dict[str, torch.Tensor]


def _score(samples: torch.Tensor) -> tuple[int, int, float]:
    """(modes captured as VEEGAN, modes with >= 1 % of the samples high quality, high-quality fraction)."""
    from latentlab.studies.mode_coverage import mode_coverage

    strict = max(1, round(STRICT_FRACTION * len(samples)))
    loose = mode_coverage(samples)
    return loose.modes, mode_coverage(samples, min_count=strict).modes, loose.high_quality


def run_seed(seed: int, args: argparse.Namespace) -> SeedResult:
    """Train the plain (lambda = 0) and the regularised (lambda = args.weight) GAN with this seed and
    otherwise identical settings; score 2500 samples of each."""
    import torch

    from latentlab.studies.mode_coverage import EVAL_SAMPLES, ToyGANConfig, ToyRun, train_toy_gan

    run = ToyRun(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=seed)
    scores, samples = {}, {}
    for name, lam in (("plain", 0.0), ("regularised", args.weight)):
        model = train_toy_gan(ToyGANConfig(su_weight=lam, generator_steps=args.generator_steps), run)
        samples[name] = model.sample(EVAL_SAMPLES, torch.Generator().manual_seed(10_000 + seed))
        scores[name] = _score(samples[name])
    return SeedResult(seed, scores["plain"], scores["regularised"], samples)


def _side(modes: float, strict: float, high_quality: float, digits: int) -> str:
    return f"{modes:>8.{digits}f} {strict:>8.{digits}f} {high_quality:>9.3f}"


def format_table(results: list[SeedResult], weight: float) -> str:
    """Per-seed rows and the mean: modes (VEEGAN), modes with >= 1 % and the high-quality fraction,
    for the plain and the regularised GAN."""
    lines = [f"{'seed':>6} | {'plain GAN (lambda = 0)':<27} | Su regulariser (lambda = {weight:g})",
             f"{'':>6} | {'modes':>8} {'>=1%':>8} {'hq':>9} | {'modes':>8} {'>=1%':>8} {'hq':>9}"]
    rule = "-" * len(lines[1])
    lines.append(rule)
    lines += [f"{r.seed:>6} | {_side(*r.plain, 0)} | {_side(*r.regularised, 0)}" for r in results]
    mean = {side: [statistics.fmean(getattr(r, side)[i] for r in results) for i in range(3)]
            for side in ("plain", "regularised")}
    lines += [rule, f"{'mean':>6} | {_side(*mean['plain'], 2)} | {_side(*mean['regularised'], 2)}"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench modes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"iterations (default {DEFAULT_STEPS})")
    parser.add_argument("--weight", type=float, default=DEFAULT_WEIGHT,
                        help=f"lambda of the regularised GAN (default {DEFAULT_WEIGHT:g})")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--generator-steps", type=int, default=DEFAULT_GENERATOR_STEPS,
                        help=f"generator updates per iteration, both GANs (default {DEFAULT_GENERATOR_STEPS})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--png", help="write a scatter of both GANs' samples for the first seed to this PNG")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 2 or args.generator_steps < 1 or args.weight <= 0 or args.lr <= 0:
        parser.error("--steps must be >= 1, --batch-size >= 2, --generator-steps >= 1, --weight and --lr > 0")

    import torch

    torch.set_num_threads(args.threads)
    print(f"ring of 8 Gaussians (radius 2, std 0.02); {args.steps} iterations of 1 D + {args.generator_steps} "
          f"G step(s) against one anchor, batch {args.batch_size}, Adam lr {args.lr:g}; "
          f"seeds {' '.join(map(str, args.seeds))}", flush=True)
    start = time.perf_counter()
    results = []
    for seed in args.seeds:
        results.append(run_seed(seed, args))
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    print(format_table(results, args.weight))
    wins = sum(r.regularised[0] > r.plain[0] for r in results)
    losses = sum(r.regularised[0] < r.plain[0] for r in results)
    print(f"modes (VEEGAN): regulariser more on {wins}, fewer on {losses}, equal on "
          f"{len(results) - wins - losses} of {len(results)} seeds; {time.perf_counter() - start:.0f} s")
    if args.png:
        from latentlab.studies.mode_coverage import save_scatter

        first = results[0]
        save_scatter(args.png, [(f"plain GAN (lambda = 0), seed {first.seed}", first.samples["plain"]),
                                (f"Su regulariser (lambda = {args.weight:g}), seed {first.seed}",
                                 first.samples["regularised"])])
        print(f"wrote {args.png}")
    return 0
