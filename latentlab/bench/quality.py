"""Sample quality of every bundled CelebA model: Fréchet distance of prior samples to held-out faces.

    python -m latentlab.bench quality [--checkpoints PATH ...] [--data SPEC] [--split test] [--n 1000]
                                      [--seeds 0 [1 2]] [--chain-steps 5] [--mode mean] [--features PATH ...]
                                      [--json]

For each model: n codes z ~ P(Z) = N(0, I) (the same seeded draw for every model of one latent
size), decoded to their decoder means x = E[P(x | z)], then the Fréchet distance

    FD = ||μ_s - μ_h||² + Tr(Σ_s + Σ_h - 2 (Σ_s Σ_h)^{1/2})

between Gaussians fitted to the features of the samples (s) and of the held-out images (h), in
each feature space shipped in resources/features/ (or given with --features), one table each and a
side-by-side summary in multiples of each space's floor: the project's CelebA autoencoder code,
nearly blind to blur, and a contrastive network trained to notice it (latentlab.analysis.frechet,
models/contrastive.py; not Inception, so the numbers are not comparable with published FIDs). Then the same codes after `--chain-steps`
transitions of the latent Markov chain (Creswell et al. 2016; decode, re-encode, in `--mode`), for
models with an encoder. Two reference rows put the numbers on a scale: the held-out images'
reconstructions by each model (how far the decoder alone is from the data) and a sample of n
*training* images (the floor that sampling noise alone gives). Two more columns say how well the
encoder's codes of those n training images match the prior P(Z): their mean norm and their MMD² to
prior draws. And two diversity figures of the prior samples catch collapse
(`latentlab.analysis.diversity`): how many k-means clusters of the compared faces they reach, and
how many of them have a near-duplicate among the others.

The P̂ column decodes n codes drawn from the model's own P̂(Z) instead of the prior: the explorer's
estimate of the aggregate posterior (`analysis.density.fit_p_hat`, a 10-component full-covariance
Gaussian mixture fitted by EM to draws z ~ Q(z|x) of the model's atlas; for a model without an atlas, to the
posterior means of the n training images), sampled with `sample_p_hat` from the same seed. This is
the ex-post density estimation of Ghosh et al. 2020 ("From variational to deterministic
autoencoders"). With several `--seeds` the prior and P̂ columns are means over the seeds (each seed
a new draw of both; the per-seed figures follow the table and are in the JSON); the other columns
use the first seed.

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
    fd_p_hat: float | None = None                   # FD of decoded draws of the model's P̂(Z)
    seeds: list[int] | None = None                  # the sample seeds fd_prior / fd_p_hat average over
    fd_prior_per_seed: list[float] | None = None
    fd_p_hat_per_seed: list[float] | None = None
    p_hat_clusters: int | None = None               # the diversity figures of the P̂ samples (first seed)
    p_hat_near_duplicates: float | None = None
    chain_setting: str | None = None                # the chain column's mode, debiasing and steps


def _is_celeba_model(model: Any) -> bool:
    spec = (getattr(model, "checkpoint_meta", {}).get("dataset") or {}).get("spec", "")
    return str(spec).startswith(CELEBA_PREFIX)


def _has_encoder(model: Any) -> bool:
    return bool(getattr(model, "has_encoder", True)) and callable(getattr(model, "encode", None))


def _after_chain(model: Any, z: np.ndarray, steps: int, mode: str, seed: int, debias: bool = False) -> np.ndarray:
    """Decoder means after `steps` chain transitions from z (debiased: b measured on the model's
    atlas codes with the generator seeded seed + 100, as `studies.chain_study` does)."""
    import torch

    from latentlab.analysis.codes import atlas_codes
    from latentlab.sampling.chain import latent_chain, transition_bias

    bias = None
    if debias:
        codes = atlas_codes(model)
        if codes is not None:
            bias = transition_bias(model, codes, mode, torch.Generator().manual_seed(seed + 100))
    last = None
    for state in latent_chain(model, z, steps, mode=mode, generator=torch.Generator().manual_seed(seed), bias=bias):
        last = state
    return last.x


def chain_setting(path: Path, model: Any, steps: int, mode: str) -> tuple[str, int, bool]:
    """(mode, steps, debias) of the chain column: as given, or with mode "default" the model's
    measured default (`explorer.chain_defaults`, docs/chain-defaults.md)."""
    if mode != "default":
        return mode, steps, False
    from latentlab.explorer.chain_defaults import chain_default

    measured = chain_default(path, model.registry_name)
    return measured.mode, measured.pause_after, measured.debias


def describe_setting(mode: str, steps: int, debias: bool) -> str:
    return f"{mode}{'+debias' if debias else ''} x{steps}"


def code_figures(model: Any, train: np.ndarray, seed: int) -> tuple[float, float]:
    """How well the codes E[z|x] of training images match the prior: their mean norm (the prior's is
    about sqrt(d - 1/2)) and the unbiased MMD² (multi-scale IMQ, the WAE kernel) to as many seeded
    prior draws."""
    import torch

    from latentlab.analysis.image_stats import mmd_unbiased
    from latentlab.sampling.chain import prior_start
    from latentlab.analysis.codes import posterior_means

    codes = posterior_means(model, train)
    prior = prior_start(model, len(codes), generator=torch.Generator().manual_seed(seed + 1))
    return float(np.linalg.norm(codes, axis=1).mean()), mmd_unbiased(codes, prior, kernel="imq")


def p_hat_codes(model: Any, n: int, seed: int, train: np.ndarray | None = None,
                density: Any = None) -> np.ndarray | None:
    """n codes drawn from the model's P̂(Z) (`analysis.codes.model_p_hat`: its atlas, else the
    posterior means of `train`; `density` skips the fit), float32 [n, D]; None when neither exists."""
    from latentlab.analysis.codes import model_p_hat
    from latentlab.analysis.density import sample_p_hat

    if density is None:
        density = model_p_hat(model, train)[0]
    return None if density is None else sample_p_hat(density, n, seed)


def score_model(model: Any, name: str, held_out_features: np.ndarray, held_out: np.ndarray, features: Any,
                n: int, seed: int, chain_steps: int, mode: str, train: np.ndarray | None = None,
                diversity: Any = None, more_seeds: list[int] | tuple[int, ...] = (), debias: bool = False,
                ) -> QualityRow:
    """The FD figures of one model (see the module docstring), with `train` images the code figures,
    and with a `DiversityReference` the prior samples' diversity figures. `more_seeds`: further
    sample seeds for the prior and P̂ columns (which then hold the means over all seeds)."""
    import torch

    from latentlab.analysis.codes import decode_means, model_p_hat, reconstructions
    from latentlab.analysis.frechet import fid_against
    from latentlab.sampling.chain import prior_start

    model.eval()
    z = prior_start(model, n, generator=torch.Generator().manual_seed(seed))
    prior_features = features(decode_means(model, z))
    fd_prior = fid_against(prior_features, held_out_features)
    spread = diversity.score(prior_features) if diversity is not None else None
    fd_chain = fd_recon = norm = code_mmd = None
    if _has_encoder(model):
        fd_chain = fid_against(features(_after_chain(model, z, chain_steps, mode, seed, debias)), held_out_features)
        fd_recon = fid_against(features(reconstructions(model, held_out)), held_out_features)
        if train is not None:
            norm, code_mmd = code_figures(model, train, seed)
    density = model_p_hat(model, train)[0]
    seeds = [seed, *[s for s in more_seeds if s != seed]]
    prior_fds, p_hat_fds, p_hat_spread = [fd_prior], [], None
    for s in seeds:
        if s != seed:
            z_s = prior_start(model, n, generator=torch.Generator().manual_seed(s))
            prior_fds.append(fid_against(features(decode_means(model, z_s)), held_out_features))
        codes = p_hat_codes(model, n, s, density=density) if density is not None else None
        if codes is not None:
            p_hat_features = features(decode_means(model, codes))
            p_hat_fds.append(fid_against(p_hat_features, held_out_features))
            if s == seed and diversity is not None:
                p_hat_spread = diversity.score(p_hat_features)
    return QualityRow(name, model.registry_name, int(model.latent_dim), float(np.mean(prior_fds)), fd_chain, fd_recon,
                      norm, code_mmd, spread.clusters if spread else None, spread.near_duplicates if spread else None,
                      float(np.mean(p_hat_fds)) if p_hat_fds else None, seeds, prior_fds, p_hat_fds or None,
                      p_hat_spread.clusters if p_hat_spread else None,
                      p_hat_spread.near_duplicates if p_hat_spread else None,
                      describe_setting(mode, chain_steps, debias) if fd_chain is not None else None)


def format_table(rows: list[QualityRow], floor: float, chain_steps: int, mode: str, floor_spread: Any = None) -> str:
    def cell(value: float | None, digits: int = 2) -> str:
        return f"{value:9.{digits}f}" if value is not None else f"{'—':>9s}"

    def relative(value: float | None, base: float | None) -> str:
        return f"{(value - base) / base:+8.1%}" if value is not None and base else f"{'—':>8s}"

    head = (f"{'model':28s} {'family':8s} {'d_z':>4s} {'prior':>9s} {'P̂(Z)':>9s} {'vs prior':>8s} "
            f"{'default' if mode == 'default' else f'+{chain_steps} {mode}':>9s} {'change':>8s} {'recon':>9s} {'|E[z|x]|':>9s} {'MMD² P':>9s} "
            f"{'clusters':>8s} {'dup %':>6s}")

    def spread(clusters: int | None, duplicates: float | None) -> str:
        if clusters is None:
            return f"{'—':>8s} {'—':>6s}"
        return f"{clusters:8d} {100 * duplicates:6.1f}"

    lines = [head, "-" * len(head)]
    for row in sorted(rows, key=lambda r: r.fd_prior):
        first_seed = row.fd_prior_per_seed[0] if row.fd_prior_per_seed else row.fd_prior  # the chain's start
        lines.append(f"{row.model:28s} {row.family:8s} {row.latent_dim:4d} {cell(row.fd_prior)} {cell(row.fd_p_hat)} "
                     f"{relative(row.fd_p_hat, row.fd_prior)} {cell(row.fd_chain)} "
                     f"{relative(row.fd_chain, first_seed)} {cell(row.fd_reconstruction)} {cell(row.code_norm)} "
                     f"{cell(row.code_mmd, 4)} {spread(row.clusters, row.near_duplicates)}")
    blank = f"{'':>9s}"
    floor_cells = (f" {blank} {'':>8s} {blank} {'':>8s} {blank} {blank} {blank} "
                   f"{spread(floor_spread.clusters, floor_spread.near_duplicates)}" if floor_spread else "")
    lines.append(f"{'training images (floor)':28s} {'':8s} {'':4s} {cell(floor)}{floor_cells}")
    if any(row.p_hat_clusters is not None for row in rows):
        lines.append("")
        lines.append("diversity of the P̂(Z) samples (first seed), as the clusters and dup % columns:")
        for row in sorted(rows, key=lambda r: r.fd_prior):
            if row.p_hat_clusters is not None:
                lines.append(f"  {row.model:28s} {spread(row.p_hat_clusters, row.p_hat_near_duplicates)}")
    if any(row.seeds and len(row.seeds) > 1 for row in rows):
        lines.append("")
        lines.append("per seed (prior | P̂(Z)):")
        for row in sorted(rows, key=lambda r: r.fd_prior):
            prior = " ".join(f"{v:.2f}" for v in row.fd_prior_per_seed or [])
            p_hat = " ".join(f"{v:.2f}" for v in row.fd_p_hat_per_seed or []) or "—"
            lines.append(f"  {row.model:28s} seeds {','.join(map(str, row.seeds or []))}: {prior} | {p_hat}")
    return "\n".join(lines)


def _default_checkpoints() -> list[Path]:
    from latentlab.resources import bundled_models

    return bundled_models()


@dataclass
class Reference:
    """The faces samples are compared with: `held` (float [M, C, H, W] in [0, 1]) and its features,
    n training images and theirs, and the floor FD(training images, held)."""

    held: np.ndarray
    held_features: np.ndarray
    train_images: np.ndarray
    train_features: np.ndarray
    floor: float


def load_reference(spec: str, split: str, n: int, features: Any) -> Reference:
    """The compared faces: the `split` of `spec` (for split "train", all but its first n images, so the
    floor's n training images are not on both sides); raises DataError when the images do not fit
    the feature network."""
    from latentlab.analysis.frechet import fid_against
    from latentlab.data import load_dataset
    from latentlab.errors import DataError

    train = load_dataset(spec, split="train", limit=n)
    held_out = load_dataset(spec, split=split)
    for name, data in (("held-out", held_out), ("training", train)):
        if tuple(data.image_shape) != tuple(features.image_shape):
            raise DataError(f"{spec} gives {name} images {data.image_shape}; the feature network takes "
                            f"{features.image_shape}")
    held = held_out.as_tensor().float().div(255.0).numpy()
    if split == "train":  # compare with the rest of the split, so the floor's n images are not in both
        held = held[n:]
    held_features = features(held)
    train_images = train.as_tensor().float().div(255.0).numpy()
    train_features = features(train_images)
    return Reference(held, held_features, train_images, train_features, fid_against(train_features, held_features))


def load_models(checkpoints: list[str] | None, say: Any) -> list[tuple[Path, Any]]:
    """(path, model) of the given checkpoints, or of the bundled CelebA models."""
    from latentlab.checkpoints import load_model

    paths = [Path(p) for p in checkpoints] if checkpoints else _default_checkpoints()
    models = []
    for path in paths:
        model = load_model(path)
        if checkpoints or _is_celeba_model(model):
            models.append((path, model))
        else:
            say(f"skipping {path.name}: not trained on CelebA")
    return models


def models_and_spec(checkpoints: list[str] | None, data: str | None, say: Any) -> tuple[list[tuple[Path, Any]], str]:
    """What `quality`, `p-hat` start from: the models and the dataset spec (the first model's unless
    given). Raises LatentLabError when there is nothing to score."""
    from latentlab.errors import LatentLabError

    models = load_models(checkpoints, say)
    if not models:
        raise LatentLabError(f"no {'CelebA ' if checkpoints is None else ''}model to score")
    spec = data or (models[0][1].checkpoint_meta.get("dataset") or {}).get("spec")
    if not spec:
        raise LatentLabError("the checkpoints record no dataset; pass --data")
    return models, spec


@dataclass
class FeatureSpaceReport:
    """Every model's row in one feature space, with that space's floor and diversity reference."""

    features: str
    floor: float
    floor_spread: Any
    reference: Any
    rows: list[QualityRow]
    held_count: int

    def as_json(self) -> dict[str, Any]:
        return {"features": self.features, "floor": self.floor,
                "floor_clusters": self.floor_spread.clusters if self.floor_spread else None,
                "floor_near_duplicates": self.floor_spread.near_duplicates if self.floor_spread else None,
                "rows": [asdict(r) for r in self.rows]}


def score_in_space(models: list[tuple[Path, Any]], features: Any, ref: Reference, args: Any, seeds: list[int],
                   say: Any) -> FeatureSpaceReport:
    """Score every model in the feature space of `features` against the faces of `ref`."""
    from latentlab.analysis.diversity import DEFAULT_CLUSTERS, DiversityReference

    # k-means needs several faces per cluster; tiny held-out sets get fewer clusters, or none
    k = min(DEFAULT_CLUSTERS, len(ref.held_features) // 5)
    reference = DiversityReference.fit(ref.held_features, k=k, seed=args.seed) if k >= 2 else None
    floor_spread = reference.score(ref.train_features) if reference else None
    rows = []
    stems = [path.stem for path, _ in models]
    for path, model in models:
        # checkpoints kept over training share their names (step-000280): say whose run they are
        name = path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}/{path.stem}"
        if tuple(model.image_shape) != tuple(features.image_shape):
            say(f"skipping {path.name}: images {tuple(model.image_shape)}, not {features.image_shape}")
            continue
        say(f"scoring {path.name}")
        mode, steps, debias = chain_setting(path, model, args.chain_steps, args.mode)
        rows.append(score_model(model, name, ref.held_features, ref.held, features, args.n, args.seed,
                                steps, mode, train=ref.train_images, diversity=reference,
                                more_seeds=seeds[1:], debias=debias))
    return FeatureSpaceReport(features.name, ref.floor, floor_spread, reference, rows, len(ref.held))


def side_by_side(spaces: list[FeatureSpaceReport]) -> str:
    """Prior, P̂ and reconstruction FD of every model in each feature space, as multiples of that
    space's floor (FD of training images against the compared faces), so spaces of different scale
    read side by side."""
    names = [row.model for row in spaces[0].rows]
    head = f"{'model':28s}" + "".join(f" | {'space ' + str(i + 1):^35s}" for i in range(len(spaces)))
    sub = f"{'(FD / floor)':28s}" + "".join(f" | {'prior':>8s} {'P̂(Z)':>8s} {'chain':>8s} {'recon':>8s}"
                                           for _ in spaces)
    lines = ["side by side, each FD divided by its space's floor:", head, sub, "-" * len(sub)]

    def ratio(value: float | None, floor: float) -> str:
        return f"{value / floor:8.1f}" if value is not None and floor > 0 else f"{'—':>8s}"

    for name in names:
        line = f"{name:28s}"
        for space in spaces:
            row = next((r for r in space.rows if r.model == name), None)
            line += (f" | {ratio(row.fd_prior, space.floor)} {ratio(row.fd_p_hat, space.floor)} "
                     f"{ratio(row.fd_chain, space.floor)} {ratio(row.fd_reconstruction, space.floor)}"
                     if row else f" | {'':35s}")
        lines.append(line)
    lines.append(f"{'floor (FD)':28s}" + "".join(f" | {space.floor:8.2f} {'':26s}" for space in spaces))
    settings = [(row.model, row.chain_setting) for row in spaces[0].rows if row.chain_setting]
    if settings:
        lines.append("chain: " + "; ".join(f"{name} {setting}" for name, setting in settings))
    lines += [f"space {i + 1}: {space.features}" for i, space in enumerate(spaces)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="checkpoints to score (default: the bundled CelebA models)")
    parser.add_argument("--data", help="dataset spec of the held-out faces (default: the first model's CelebA spec)")
    parser.add_argument("--split", default="test",
                        help="the split to compare with (default test; 'train' to choose settings without "
                             "looking at the held-out faces)")
    parser.add_argument("--n", type=int, default=1000, help="prior samples per model (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the sample seed (default 0)")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="several sample seeds: the prior and P̂ columns become means over them (the other "
                             "columns use the first); replaces --seed")
    parser.add_argument("--chain-steps", type=int, default=5, help="chain transitions (default 5)")
    parser.add_argument("--mode", default="mean", choices=("mean", "stochastic", "mean-decode", "default"),
                        help="chain mode (default mean); 'default': each model's measured default mode, debiasing "
                             "and step count (docs/chain-defaults.md), replacing --chain-steps")
    parser.add_argument("--features", nargs="+",
                        help="feature network checkpoints (default: every one in resources/features/, side by side)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.n < 2 or args.chain_steps < 0:
        parser.error("--n must be at least 2 and --chain-steps non-negative")
    seeds = list(dict.fromkeys(args.seeds)) if args.seeds else [args.seed]
    args.seed = seeds[0]

    from latentlab.analysis.density import P_HAT, expected_norm
    from latentlab.errors import LatentLabError

    def say(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    from latentlab.analysis.frechet import load_feature_networks

    try:
        models, spec = models_and_spec(args.checkpoints, args.data, say)
        spaces = []
        for features in load_feature_networks(args.features):
            say(f"loading {spec} ({args.split} split, and training images for the floor); features: {features.name}")
            spaces.append(score_in_space(models, features, load_reference(spec, args.split, args.n, features),
                                         args, seeds, say))
    except LatentLabError as err:
        print(f"quality: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        common = {"data": spec, "split": args.split, "n": args.n, "seed": args.seed, "seeds": seeds,
                  "chain_steps": args.chain_steps, "p_hat": P_HAT.describe(), "mode": args.mode}
        # the first feature space's figures at the top level, as before; all of them in feature_spaces
        print(json.dumps({**common, **spaces[0].as_json(), "feature_spaces": [sp.as_json() for sp in spaces]},
                         indent=1))
        return 0
    seed_text = f"seed {args.seed}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))} (prior, P̂: means)"
    for space in spaces:
        rows, reference = space.rows, space.reference
        print(f"Fréchet distance to {spec} {args.split} split ({space.held_count} images), features: {space.features}")
        chain_text = ("each model's measured default (docs/chain-defaults.md)" if args.mode == "default"
                      else f"{args.chain_steps} steps, {args.mode} mode")
        print(f"{args.n} samples per model, {seed_text}; chain: {chain_text}, first seed; lower is better")
        print(f"P̂(Z): each model's own {P_HAT.describe()} of its atlas (analysis.density.fit_p_hat)")
        print(format_table(rows, space.floor, args.chain_steps, args.mode, space.floor_spread))
        print(f"|E[z|x]|: mean norm of the codes of the {args.n} training images (a "
              f"{rows[0].latent_dim if rows else 0}-d N(0, I) draw has {expected_norm(rows[0].latent_dim if rows else 1):.2f}); "
              "MMD² P: unbiased MMD² (IMQ) of those codes to as many prior draws")
        if reference is not None:
            print(f"clusters: of {len(reference.centres)} k-means clusters of the compared faces' features, how many the "
                  "prior samples reach; dup %: samples whose nearest other sample is closer than the 1 % quantile of "
                  "the compared faces' own nearest-neighbour distances (latentlab.analysis.diversity)")
        print()
    if len(spaces) > 1:
        print(side_by_side(spaces))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
