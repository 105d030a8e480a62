"""Each model's default chain setting, chosen from measurements on the training split.

    python -m latentlab.bench chain-defaults [--checkpoints PATH ...] [--data SPEC] [--n 500] [--seed 0]
                                             [--steps 0,1,2,5,10] [--write resources/models/chain-defaults.json]

For every model with an encoder (default: the bundled CelebA latent models), every chain mode
(mean, stochastic, mean-decode), with and without debiasing: n chains start from the same prior
draws, and at each step the Fréchet distance of their decodes to 1,000 training images (those after
the atlas's and the floor's, `bench chain --split train`) is divided by its floor (as many other
training images against the same 1,000), in every shipped feature space. The score of a setting
and step is the geometric mean of those ratios over the spaces. The default is the setting and
step count (at least 1) with the lowest score; it "improves" the samples when that score is below
step 0's (the prior samples themselves). Held-out faces are never used, so the choice can then be
judged on them (`bench chain`, `bench quality`). `--write` saves the table that the window reads
(`latentlab.explorer.chain_defaults`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from latentlab.bench.arguments import non_negative_ints
from latentlab.studies.chain_study import DEFAULT_STEPS

DEFAULT_N = 500


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench chain-defaults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="checkpoints with an encoder (default: the bundled CelebA "
                                                         "latent models)")
    parser.add_argument("--data", help="dataset spec (default: the one each checkpoint was trained on)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"chains per setting (default {DEFAULT_N})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=non_negative_ints, default=list(DEFAULT_STEPS), help="default 0,1,2,5,10")
    parser.add_argument("--features", nargs="+", help="feature network checkpoints (default: every shipped one)")
    parser.add_argument("--write", type=Path, help="save the chosen defaults and the whole table as JSON here (the "
                                                   "entries of models not measured in this run are kept)")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be at least 2")
    if 0 not in args.steps or max(args.steps) < 1:
        parser.error("--steps must include 0 (the prior samples) and a step >= 1")

    from latentlab.analysis.frechet import load_feature_networks
    from latentlab.bench.chain import comparison_data
    from latentlab.bench.quality import load_models
    from latentlab.errors import LatentLabError
    from latentlab.explorer.chain_defaults import TABLE_FORMAT, TABLE_VERSION, load_table
    from latentlab.fileio import atomic_write
    from latentlab.studies.chain_study import fd_ratios_by_setting

    def say(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    chosen: dict[str, dict] = {}
    try:
        networks = load_feature_networks(args.features)
        for path, model in load_models(args.checkpoints, say):
            if not getattr(model, "has_encoder", True) or not callable(getattr(model, "encode", None)):
                say(f"{path.name}: no encoder, no chain; skipped")
                continue
            spec = args.data or (model.checkpoint_meta.get("dataset") or {}).get("spec")
            if not spec:
                raise LatentLabError(f"{path} records no dataset; pass --data")
            compared, train = comparison_data(spec, "train", args.n)
            floor_images = train.as_tensor()[:args.n].float().div(255.0).numpy()
            ratios = fd_ratios_by_setting(model, compared, floor_images, networks, n=args.n, seed=args.seed,
                                          steps=args.steps, progress=lambda text: say(f"{path.name}: {text}"))
            chosen[path.name] = choose(model.registry_name, ratios)
            print(format_model(path.name, chosen[path.name]), flush=True)
    except LatentLabError as err:
        print(f"chain-defaults: error: {err}", file=sys.stderr)
        return 2
    if args.write:
        kept = {name: entry for name, entry in load_table(args.write).items() if name not in chosen}
        command = "python -m latentlab.bench chain-defaults " + " ".join(argv)
        for entry in chosen.values():
            entry.update(command=command, n=args.n, seed=args.seed)
        table = {"format": TABLE_FORMAT, "version": TABLE_VERSION, "split": "train", "models": {**kept, **chosen}}
        text = json.dumps(table, indent=1) + "\n"
        atomic_write(args.write, lambda part: part.write_text(text, encoding="utf-8"))
        print(f"wrote {args.write}")
    return 0


def geometric_mean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def choose(family: str, ratios: dict[tuple[str, bool, int], dict[str, float]]) -> dict:
    """The default from {(mode, debias, step): {space: FD / floor}}: the lowest geometric-mean score at
    a step >= 1, and whether it beats step 0 (the same prior draws for every setting)."""
    scored = [{"mode": mode, "debias": debias, "step": step, "ratios": spaces,
               "score": geometric_mean(spaces.values())} for (mode, debias, step), spaces in sorted(ratios.items())]
    start = min(r["score"] for r in scored if r["step"] == 0)
    best = min((r for r in scored if r["step"] >= 1), key=lambda r: r["score"])
    return {"family": family, "mode": best["mode"], "debias": best["debias"], "steps": best["step"],
            "score": best["score"], "score_step0": start, "improves": best["score"] < start, "table": scored}


def format_model(name: str, entry: dict) -> str:
    """One table per model: settings as rows, steps as columns, the score (geometric mean of FD / floor)."""
    steps = sorted({r["step"] for r in entry["table"]})
    lines = [f"{name} ({entry['family']}): score = geometric mean over feature spaces of FD / floor, training split",
             f"  {'setting':24s}" + "".join(f"{'step ' + str(s):>10s}" for s in steps)]
    settings = sorted({(r["mode"], r["debias"]) for r in entry["table"]}, key=lambda s: (s[1], s[0]))
    for mode, debias in settings:
        cells = {r["step"]: r["score"] for r in entry["table"] if r["mode"] == mode and r["debias"] == debias}
        label = mode + (" + debias" if debias else "")
        lines.append(f"  {label:24s}" + "".join(f"{cells[s]:10.2f}" for s in steps))
    verdict = "improves on" if entry["improves"] else "does not improve on"
    lines.append(f"  default: {entry['mode']}{' + debias' if entry['debias'] else ''}, {entry['steps']} step(s): "
                 f"score {entry['score']:.2f}, {verdict} the prior samples ({entry['score_step0']:.2f})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
