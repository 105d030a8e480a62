"""Sample quality of every bundled CelebA model: Fréchet distance of prior samples to held-out faces.

    python -m latentlab.bench quality [--checkpoints PATH ...] [--data SPEC] [--n 1000] [--seed 0]
                                      [--chain-steps 5] [--mode mean] [--features PATH] [--json]

For each model: n codes z ~ P(Z) = N(0, I) (the same seeded draw for every model of one latent
size), decoded to their decoder means x = E[P(x | z)], then the Fréchet distance

    FD = ||μ_s - μ_h||² + Tr(Σ_s + Σ_h - 2 (Σ_s Σ_h)^{1/2})

between Gaussians fitted to the features of the samples (s) and of the held-out images (h), in the
feature space of the project's CelebA autoencoder (latentlab.analysis.frechet; not Inception, so
the numbers are not comparable with published FIDs). Then the same codes after `--chain-steps`
transitions of the latent Markov chain (Creswell et al. 2016; decode, re-encode, in `--mode`), for
models with an encoder. Two reference rows put the numbers on a scale: the held-out images'
reconstructions by each model (how far the decoder alone is from the data) and a sample of n
*training* images (the floor that sampling noise alone gives). Two more columns say how well the
encoder's codes of those n training images match the prior P(Z): their mean norm and their MMD² to
prior draws. And two diversity figures of the prior samples catch collapse
(`latentlab.analysis.diversity`): how many k-means clusters of the compared faces they reach, and
how many of them have a near-duplicate among the others.

Without --checkpoints, every bundled model in resources/models whose dataset is CelebA is scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

CELEBA_PREFIX = "celeba:"


@dataclass
class QualityRow:
    """One model's figures; FD values are None where they do not apply (no encoder)."""

    model: str
    family: str
    latent_dim: int
    fd_prior: float
    fd_chain: float | None
    fd_reconstruction: float | None
    code_norm: float | None = None
    code_mmd: float | None = None
    clusters: int | None = None
    near_duplicates: float | None = None


def _is_celeba_model(model: Any) -> bool:
    spec = (getattr(model, "checkpoint_meta", {}).get("dataset") or {}).get("spec", "")
    return str(spec).startswith(CELEBA_PREFIX)


def _has_encoder(model: Any) -> bool:
    return bool(getattr(model, "has_encoder", True)) and callable(getattr(model, "encode", None))


def _decode_means(model: Any, z: np.ndarray, batch_size: int = 250) -> np.ndarray:
    import torch

    from latentlab.sampling.chain import model_device

    device = model_device(model)
    out = []
    with torch.no_grad():
        for start in range(0, len(z), batch_size):
            chunk = torch.from_numpy(z[start:start + batch_size]).to(device)
            out.append(model.decode(chunk).mean.float().cpu().numpy())
    return np.concatenate(out)


def _after_chain(model: Any, z: np.ndarray, steps: int, mode: str, seed: int) -> np.ndarray:
    """Decoder means after `steps` chain transitions from z."""
    import torch

    from latentlab.sampling.chain import latent_chain

    last = None
    for state in latent_chain(model, z, steps, mode=mode, generator=torch.Generator().manual_seed(seed)):
        last = state
    return last.x


def code_figures(model: Any, train: np.ndarray, seed: int) -> tuple[float, float]:
    """How well the codes E[z|x] of training images match the prior: their mean norm (the prior's is
    about sqrt(d - 1/2)) and the unbiased MMD² (multi-scale IMQ, the WAE kernel) to as many seeded
    prior draws."""
    import torch

    from latentlab.analysis.image_stats import mmd_unbiased
    from latentlab.sampling.chain import prior_start
    from latentlab.sampling.chain_metrics import posterior_means

    codes = posterior_means(model, train)
    prior = prior_start(model, len(codes), generator=torch.Generator().manual_seed(seed + 1))
    return float(np.linalg.norm(codes, axis=1).mean()), mmd_unbiased(codes, prior, kernel="imq")


def score_model(model: Any, name: str, held_out_features: np.ndarray, held_out: np.ndarray, features: Any,
                n: int, seed: int, chain_steps: int, mode: str, train: np.ndarray | None = None,
                diversity: Any = None) -> QualityRow:
    """The FD figures of one model (see the module docstring), with `train` images the code figures,
    and with a `DiversityReference` the prior samples' diversity figures."""
    import torch

    from latentlab.analysis.frechet import fid_against
    from latentlab.sampling.chain import prior_start
    from latentlab.sampling.chain_metrics import reconstructions

    model.eval()
    z = prior_start(model, n, generator=torch.Generator().manual_seed(seed))
    prior_features = features(_decode_means(model, z))
    fd_prior = fid_against(prior_features, held_out_features)
    spread = diversity.score(prior_features) if diversity is not None else None
    fd_chain = fd_recon = norm = code_mmd = None
    if _has_encoder(model):
        fd_chain = fid_against(features(_after_chain(model, z, chain_steps, mode, seed)), held_out_features)
        fd_recon = fid_against(features(reconstructions(model, held_out)), held_out_features)
        if train is not None:
            norm, code_mmd = code_figures(model, train, seed)
    return QualityRow(name, model.registry_name, int(model.latent_dim), fd_prior, fd_chain, fd_recon, norm, code_mmd,
                      spread.clusters if spread else None, spread.near_duplicates if spread else None)


def format_table(rows: list[QualityRow], floor: float, chain_steps: int, mode: str, floor_spread: Any = None) -> str:
    def cell(value: float | None, digits: int = 2) -> str:
        return f"{value:9.{digits}f}" if value is not None else f"{'—':>9s}"

    head = (f"{'model':28s} {'family':8s} {'d_z':>4s} {'prior':>9s} {f'+{chain_steps} {mode}':>9s} "
            f"{'change':>8s} {'recon':>9s} {'|E[z|x]|':>9s} {'MMD² P':>9s} {'clusters':>8s} {'dup %':>6s}")

    def spread(clusters: int | None, duplicates: float | None) -> str:
        if clusters is None:
            return f"{'—':>8s} {'—':>6s}"
        return f"{clusters:8d} {100 * duplicates:6.1f}"

    lines = [head, "-" * len(head)]
    for row in sorted(rows, key=lambda r: r.fd_prior):
        change = (f"{(row.fd_chain - row.fd_prior) / row.fd_prior:+8.1%}" if row.fd_chain is not None
                  else f"{'—':>8s}")
        lines.append(f"{row.model:28s} {row.family:8s} {row.latent_dim:4d} {cell(row.fd_prior)} "
                     f"{cell(row.fd_chain)} {change} {cell(row.fd_reconstruction)} {cell(row.code_norm)} "
                     f"{cell(row.code_mmd, 4)} {spread(row.clusters, row.near_duplicates)}")
    blank = f"{'':>9s}"
    floor_cells = (f" {blank} {'':>8s} {blank} {blank} {blank} "
                   f"{spread(floor_spread.clusters, floor_spread.near_duplicates)}" if floor_spread else "")
    lines.append(f"{'training images (floor)':28s} {'':8s} {'':4s} {cell(floor)}{floor_cells}")
    return "\n".join(lines)


def _prior_norm(dim: int) -> float:
    """E||z|| for z ~ N(0, I_d): sqrt(2) Γ((d + 1) / 2) / Γ(d / 2)."""
    from math import exp, lgamma, sqrt

    return sqrt(2.0) * exp(lgamma((dim + 1) / 2) - lgamma(dim / 2))


def _default_checkpoints() -> list[Path]:
    from latentlab.resources import bundled_models

    return bundled_models()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="checkpoints to score (default: the bundled CelebA models)")
    parser.add_argument("--data", help="dataset spec of the held-out faces (default: the first model's CelebA spec)")
    parser.add_argument("--split", default="test",
                        help="the split to compare with (default test; 'train' to choose settings without "
                             "looking at the held-out faces)")
    parser.add_argument("--n", type=int, default=1000, help="prior samples per model (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chain-steps", type=int, default=5, help="chain transitions (default 5)")
    parser.add_argument("--mode", default="mean", choices=("mean", "stochastic"), help="chain mode (default mean)")
    parser.add_argument("--features", help="feature network checkpoint (default: resources/features/celeba-ae128.ckpt)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.n < 2 or args.chain_steps < 0:
        parser.error("--n must be at least 2 and --chain-steps non-negative")

    from latentlab.analysis.diversity import DEFAULT_CLUSTERS, DiversityReference
    from latentlab.analysis.frechet import FeatureNetwork, fid_against
    from latentlab.checkpoints import load_model
    from latentlab.data import load_dataset
    from latentlab.errors import LatentLabError

    def say(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        paths = [Path(p) for p in args.checkpoints] if args.checkpoints else _default_checkpoints()
        models = []
        for path in paths:
            model = load_model(path)
            if args.checkpoints or _is_celeba_model(model):
                models.append((path, model))
            else:
                say(f"skipping {path.name}: not trained on CelebA")
        if not models:
            print("quality: error: no CelebA model to score", file=sys.stderr)
            return 2
        spec = args.data or (models[0][1].checkpoint_meta.get("dataset") or {}).get("spec")
        if not spec:
            print("quality: error: the checkpoints record no dataset; pass --data", file=sys.stderr)
            return 2
        features = FeatureNetwork.load(args.features)
        say(f"loading {spec} ({args.split} split, and training images for the floor)")
        train = load_dataset(spec, split="train", limit=args.n)
        held_out = load_dataset(spec, split=args.split)
        for name, data in (("held-out", held_out), ("training", train)):
            if tuple(data.image_shape) != tuple(features.image_shape):
                print(f"quality: error: {spec} gives {name} images {data.image_shape}; the feature network takes "
                      f"{features.image_shape}", file=sys.stderr)
                return 2
        held = held_out.as_tensor().float().div(255.0).numpy()
        if args.split == "train":  # compare with the rest of the split, so the floor's n images are not in both
            held = held[args.n:]
        held_features = features(held)
        train_images = train.as_tensor().float().div(255.0).numpy()
        train_features = features(train_images)
        floor = fid_against(train_features, held_features)
        # k-means needs several faces per cluster; tiny held-out sets get fewer clusters, or none
        k = min(DEFAULT_CLUSTERS, len(held_features) // 5)
        reference = DiversityReference.fit(held_features, k=k, seed=args.seed) if k >= 2 else None
        floor_spread = reference.score(train_features) if reference else None
        rows = []
        for path, model in models:
            if tuple(model.image_shape) != tuple(features.image_shape):
                say(f"skipping {path.name}: images {tuple(model.image_shape)}, not {features.image_shape}")
                continue
            say(f"scoring {path.name}")
            rows.append(score_model(model, path.stem, held_features, held, features, args.n, args.seed,
                                    args.chain_steps, args.mode, train=train_images, diversity=reference))
    except LatentLabError as err:
        print(f"quality: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"data": spec, "n": args.n, "seed": args.seed, "chain_steps": args.chain_steps,
                          "mode": args.mode, "features": features.name, "floor": floor,
                          "floor_clusters": floor_spread.clusters if floor_spread else None,
                          "floor_near_duplicates": floor_spread.near_duplicates if floor_spread else None,
                          "rows": [asdict(r) for r in rows]}, indent=1))
        return 0
    print(f"Fréchet distance to {spec} {args.split} split ({len(held)} images), features: {features.name}")
    print(f"{args.n} prior samples per model, seed {args.seed}; chain: {args.chain_steps} steps, {args.mode} mode; "
          "lower is better")
    print(format_table(rows, floor, args.chain_steps, args.mode, floor_spread))
    print(f"|E[z|x]|: mean norm of the codes of the {args.n} training images (a {rows[0].latent_dim if rows else 0}-d "
          f"N(0, I) draw has {_prior_norm(rows[0].latent_dim if rows else 1):.2f}); MMD² P: unbiased MMD² (IMQ) of "
          "those codes to as many prior draws")
    if reference is not None:
        print(f"clusters: of {len(reference.centres)} k-means clusters of the compared faces' features, how many the "
              "prior samples reach; dup %: samples whose nearest other sample is closer than the 1 % quantile of the "
              "compared faces' own nearest-neighbour distances (latentlab.analysis.diversity)")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
