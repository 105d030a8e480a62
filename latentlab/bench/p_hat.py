"""Which density for P̂(Z)? Fréchet distance of decoded samples of candidate densities fitted to each
model's atlas, against the prior's.

    python -m latentlab.bench p-hat [--checkpoints PATH ...] [--split train] [--n 1000] [--seeds 0]
                                    [--candidates 1:diag:draws,10:diag:draws,...] [--features PATH ...] [--json]

For each model with an atlas (posterior means μ_i and standard deviations σ_i of 3000 training
faces) and each candidate "K:COV:SOURCE": a K-component Gaussian mixture with diagonal or full
covariances, fitted by EM (seed 0) to two draws z = μ_i + σ_i ε per face ("draws": samples of the
aggregate posterior P̂(Z) = E_x Q(z|x)) or to the means μ_i alone ("means"), as
`analysis.density.fit_p_hat` fits the explorer's P̂(Z). n codes are drawn from it per seed, decoded
to their decoder means and compared with the faces of `--split` by the Fréchet distance in the
feature space of the project's CelebA autoencoder (as `bench quality`). The first row of each model
is its prior N(0, I). Ex-post density estimation: Ghosh et al. 2020 ("From variational to
deterministic autoencoders") fit a 10-component GMM to the codes.

Choose on the train split (the default here): the compared faces are then training images n..9000,
which include atlas faces n..3000, so a density that copies the atlas codes is slightly favoured;
report the chosen one on the held-out split with `bench quality`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_CANDIDATES = ("1:diag:draws", "10:diag:draws", "10:diag:means", "50:diag:draws", "100:diag:draws",
                      "1:full:draws", "10:full:draws", "10:full:means", "20:full:draws", "50:full:draws")


def parse_candidate(text: str) -> Any:
    """"K:COV:SOURCE" (e.g. "10:diag:draws") -> PHatSettings; argparse-friendly errors."""
    from latentlab.analysis.density import PHatSettings

    parts = text.strip().split(":")
    try:
        if len(parts) != 3:
            raise ValueError("expected K:COV:SOURCE")
        return PHatSettings(int(parts[0]), parts[1], parts[2])
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"bad candidate {text!r} ({err}); e.g. 10:diag:draws") from None


@dataclass
class CandidateRow:
    model: str
    density: str                 # "prior" or PHatSettings.label
    fd: float                    # mean over seeds
    fd_per_seed: list[float]
    fit_seconds: float | None    # EM fit time (None for the prior)
    log_likelihood: float | None  # mean log-likelihood per fitted point at the end of EM


def score_candidates(model: Any, name: str, candidates: list[Any], ref_features: np.ndarray, features: Any,
                     n: int, seeds: list[int]) -> list[CandidateRow]:
    import torch

    from latentlab.analysis.codes import atlas_codes, decode_means
    from latentlab.analysis.density import fit_p_hat, sample_p_hat
    from latentlab.analysis.frechet import fid_against
    from latentlab.sampling.chain import prior_start

    model.eval()

    def fd(codes: np.ndarray) -> float:
        return fid_against(features(decode_means(model, codes)), ref_features)

    prior = [fd(prior_start(model, n, generator=torch.Generator().manual_seed(s))) for s in seeds]
    rows = [CandidateRow(name, "prior", float(np.mean(prior)), prior, None, None)]
    means, stds = atlas_codes(model), atlas_codes(model, "atlas_std")
    if means is None:
        return rows
    for settings in candidates:
        started = time.perf_counter()
        density = fit_p_hat(means, stds, settings)
        fit_time = time.perf_counter() - started
        values = [fd(sample_p_hat(density, n, s)) for s in seeds]
        rows.append(CandidateRow(name, settings.label, float(np.mean(values)), values, fit_time,
                                 float(density.log_likelihood_[-1])))
    return rows


def format_rows(rows: list[CandidateRow], seeds: list[int]) -> str:
    head = f"{'model':20s} {'P^(Z) density':18s} {'FD':>8s} {'vs prior':>9s} {'fit s':>6s} {'loglik':>8s}  per seed"
    lines = [head, "-" * len(head)]
    prior_fd: dict[str, float] = {}
    for row in rows:
        if row.density == "prior":
            prior_fd[row.model] = row.fd
        change = "" if row.density == "prior" else f"{(row.fd - prior_fd[row.model]) / prior_fd[row.model]:+.1%}"
        fit = "" if row.fit_seconds is None else f"{row.fit_seconds:.1f}"
        loglik = "" if row.log_likelihood is None else f"{row.log_likelihood:.1f}"
        lines.append(f"{row.model:20s} {row.density:18s} {row.fd:8.2f} {change:>9s} {fit:>6s} {loglik:>8s}  "
                     + " ".join(f"{v:.2f}" for v in row.fd_per_seed))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench p-hat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="checkpoints (default: the bundled CelebA models)")
    parser.add_argument("--data", help="dataset spec (default: the first model's)")
    parser.add_argument("--split", default="train", help="the faces to compare with (default train: for choosing)")
    parser.add_argument("--n", type=int, default=1000, help="samples per density and seed (default 1000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="sample seeds (default 0)")
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES),
                        help=f"comma-separated K:COV:SOURCE (default {','.join(DEFAULT_CANDIDATES)})")
    parser.add_argument("--features", nargs="+",
                        help="feature network checkpoints (default: every one in resources/features/, a table each)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be at least 2")
    try:
        candidates = [parse_candidate(c) for c in args.candidates.split(",") if c.strip()]
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))

    from latentlab.analysis.frechet import load_feature_networks
    from latentlab.bench.quality import load_reference, models_and_spec
    from latentlab.errors import LatentLabError

    def say(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    spaces = []  # (feature network, reference faces, rows) per feature space
    try:
        models, spec = models_and_spec(args.checkpoints, args.data, say)
        for features in load_feature_networks(args.features):
            say(f"loading {spec} ({args.split} split); features: {features.name}")
            ref = load_reference(spec, args.split, args.n, features)
            rows: list[CandidateRow] = []
            for path, model in models:
                say(f"scoring {path.name}")
                rows.extend(score_candidates(model, path.stem, candidates, ref.held_features, features, args.n,
                                             args.seeds))
            spaces.append((features, ref, rows))
    except LatentLabError as err:
        print(f"p-hat: error: {err}", file=sys.stderr)
        return 2
    if args.json:  # the first feature space at the top level, as before; all of them in feature_spaces
        dicts = [{"features": f.name, "floor": ref.floor, "rows": [asdict(r) for r in rows]} for f, ref, rows in spaces]
        print(json.dumps({"data": spec, "split": args.split, "n": args.n, "seeds": args.seeds, **dicts[0],
                          "feature_spaces": dicts}, indent=1))
        return 0
    for features, ref, rows in spaces:
        print(f"Fréchet distance of {args.n} decoded samples to {spec} {args.split} split ({len(ref.held)} images), "
              f"features: {features.name}; seeds {', '.join(map(str, args.seeds))}; lower is better")
        print(format_rows(rows, args.seeds))
        print(f"floor ({args.n} training images): {ref.floor:.2f}\n")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
