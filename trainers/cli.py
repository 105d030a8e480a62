"""`latentlab-train`: fit a model from the command line.

    latentlab-train vae --data celeba:../shared/data/celeba_10k --size 64 --latent 64 --epochs 20 --out runs/vae-celeba

Shows a progress bar (loss terms, images/s, ETA); Ctrl+C writes a resumable checkpoint and
`--resume` continues the run exactly. Under `torchrun --nproc_per_node N` the same command trains
with DistributedDataParallel. Exit status: 0 done or stopped by the user, 1 training failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from latentlab.data import KINDS, parse_spec
from latentlab.errors import ConfigError, LatentLabError
from latentlab.images import save_grid
from latentlab.models import available_models
from trainers.config import LR_SCHEDULES, TrainConfig
from trainers.events import CheckpointSaved, EpochEnd, Failed, Finished, Preview, Step
from trainers.loop import Trainer, checkpoint_path

SHOWN_TERMS = ("loss", "recon", "kl", "mse")
DEFAULTS = TrainConfig.defaults()  # what --help shows; a new run gets TrainConfig's own defaults
#: options a resumed run may change (the rest are the stored run's: they decide what the updates are)
RESUME_MAY_CHANGE = ("--epochs", "--max-steps", "--lr", "--device", "--checkpoint-every", "--keep-every",
                     "--preview-every", "--eval-limit", "--quiet")


def build_parser() -> argparse.ArgumentParser:
    models = "\n".join(f"  {name:8s} {text}" for name, text in available_models().items())
    kinds = "\n".join(f"  {kind:16s} {text}" for kind, text in KINDS.items())
    parser = argparse.ArgumentParser(
        prog="latentlab-train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a LatentLab model.",
        epilog=f"models:\n{models}\n\ndataset specs (--data):\n{kinds}\n\n"
               f"with --resume, only these may change: {', '.join(RESUME_MAY_CHANGE)}.\n"
               "The model, --data, --latent and the other settings are the stored run's; giving a different\n"
               "value is refused with the stored one named.")
    parser.add_argument("model", nargs="?", help="model name (see below); not needed with --resume")
    parser.add_argument("--data", help="dataset spec, e.g. synthetic-faces or celeba:PATH")
    parser.add_argument("--out", required=True, help="output folder for last.ckpt, history.jsonl, preview.png")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out exactly where it stopped (only "
                             f"{', '.join(RESUME_MAY_CHANGE)} may change)")
    parser.add_argument("--size", type=int, help="image side in pixels (overrides the spec's size option)")
    parser.add_argument("--channels", type=int, choices=(1, 3), help="1 gray or 3 colour (overrides the spec)")
    parser.add_argument("--latent", type=int, help="latent size (2..256)")
    parser.add_argument("--likelihood", choices=("bernoulli", "gaussian"), help="decoder likelihood")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other model setting, e.g. --set beta=0.5 --set corruption=dropout")
    # Run-defining options default to None here, so that --resume can tell a given value from a default.
    parser.add_argument("--epochs", type=int, help=f"passes over the training set, >= 1 (default {DEFAULTS['epochs']})")
    parser.add_argument("--batch", type=int, help=f"batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--lr", type=float, help=f"Adam learning rate (default {DEFAULTS['lr']:g})")
    parser.add_argument("--betas", type=float, nargs=2, metavar=("B1", "B2"),
                        help=f"Adam betas (default {' '.join(map(str, DEFAULTS['betas']))})")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, help=f"(default {DEFAULTS['lr_schedule']})")
    parser.add_argument("--seed", type=int, help=f"(default {DEFAULTS['seed']})")
    parser.add_argument("--limit", type=int, help="use only the first N training examples")
    parser.add_argument("--max-steps", type=int, help="stop after N optimisation steps")
    parser.add_argument("--strict", action="store_true",
                        help="refuse an image folder holding files that cannot be decoded (default: leave them out, "
                             "list them on the terminal and in skipped-images.txt)")
    parser.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints (default "
                                                             f"{DEFAULTS['checkpoint_every']})")
    parser.add_argument("--keep-every", type=int, metavar="STEPS",
                        help="also keep the checkpoint every STEPS steps as step-NNNNNN.ckpt (to score a run over training)")
    parser.add_argument("--preview-every", type=int, help=f"steps between preview.png updates (default "
                                                          f"{DEFAULTS['preview_every']})")
    parser.add_argument("--eval-limit", type=int, help=f"held-out images evaluated per epoch (default "
                                                       f"{DEFAULTS['eval_limit']})")
    parser.add_argument("--device", default=DEFAULTS["device"],
                        help=f"auto, cpu, cuda or cuda:N (default {DEFAULTS['device']})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    if args.model is None or args.data is None:
        raise LatentLabError("give a model name and --data (or --resume to continue a run); see --help")
    spec = parse_spec(args.data)
    overrides = {k: v for k, v in (("size", args.size), ("channels", args.channels)) if v is not None}
    if overrides:
        spec = spec.with_options(**overrides)
    model_config: dict[str, object] = {}
    if args.latent is not None:
        model_config["latent_dim"] = args.latent
    if args.likelihood is not None:
        model_config["likelihood"] = args.likelihood
    model_config.update(_settings(args.set))
    given = {k: v for k, v in _run_options(args).items() if v is not None}
    return TrainConfig(model=args.model, data=spec.to_string(), out=args.out, model_config=model_config, **given)


def _settings(items: list[str]) -> dict[str, str]:
    """--set KEY=VALUE items; image_shape is refused (it comes from the data) rather than silently dropped."""
    settings: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        if key == "image_shape":
            raise ConfigError(f"--set {item}: the image shape comes from the data; use --size and --channels")
        settings[key] = value.strip()
    return settings


def _run_options(args: argparse.Namespace) -> dict[str, object]:
    """TrainConfig fields as given on the command line (None where not given)."""
    return {"epochs": args.epochs, "batch_size": args.batch, "lr": args.lr,
            "betas": tuple(args.betas) if args.betas is not None else None, "lr_schedule": args.lr_schedule,
            "seed": args.seed, "limit": args.limit, "max_steps": args.max_steps, "checkpoint_every": args.checkpoint_every,
            "keep_every": args.keep_every, "preview_every": args.preview_every, "eval_limit": args.eval_limit,
            "device": args.device, "strict": args.strict or None}


def resume_config(args: argparse.Namespace) -> TrainConfig:
    """The stored run's config. Only the run length, learning rate, device and the file cadences may
    change on resume (RESUME_MAY_CHANGE); any other option given must equal the stored value, else it
    is refused, naming that value, rather than silently ignored."""
    from latentlab.checkpoints import read_checkpoint

    path = checkpoint_path(args.out)
    if not path.exists():
        raise ConfigError(f"{path}: nothing to resume (no checkpoint in {args.out})")
    checkpoint = read_checkpoint(path)
    stored = checkpoint.meta.get("train_config")
    if stored is None:
        raise LatentLabError(f"{path}: no training config stored; cannot resume")
    config = TrainConfig.from_dict(stored)
    model_config = checkpoint.meta.get("config", {})
    wanted: list[tuple[str, object, object]] = []  # (option, given, stored)
    if args.model is not None:
        wanted.append(("model", args.model, config.model))
    if args.data is not None:
        spec = parse_spec(args.data)
        stored_spec = parse_spec(config.data)
        overrides = {k: v for k, v in (("size", args.size), ("channels", args.channels)) if v is not None}
        wanted.append(("--data", spec.with_options(**overrides).to_string(),
                       stored_spec.with_options(**{k: stored_spec.option(k) for k in overrides}).to_string()))
    else:
        stored_spec = parse_spec(config.data)
        wanted += [(f"--{k}", v, stored_spec.option(k)) for k, v in (("size", args.size), ("channels", args.channels))
                   if v is not None]
    if args.latent is not None:
        wanted.append(("--latent", args.latent, model_config.get("latent_dim")))
    if args.likelihood is not None:
        wanted.append(("--likelihood", args.likelihood, model_config.get("likelihood")))
    for key, value in _settings(args.set).items():
        wanted.append((f"--set {key}", value, model_config.get(key, config.model_config.get(key))))
    flags = {"batch_size": "--batch", "betas": "--betas", "lr_schedule": "--lr-schedule",
             "seed": "--seed", "limit": "--limit", "strict": "--strict"}
    options = _run_options(args)
    wanted += [(flag, options[name], getattr(config, name)) for name, flag in flags.items() if options[name] is not None]
    for option, given, kept in wanted:
        if not _same(given, kept):
            raise ConfigError(
                f"{path}: this run was trained with {option} {_shown(kept)}; --resume cannot change it to "
                f"{_shown(given)} (on resume only {', '.join(RESUME_MAY_CHANGE)} may change; start a new run in "
                "another --out folder for different settings)")
    config.out = args.out
    for name in ("epochs", "max_steps", "lr", "checkpoint_every", "keep_every", "preview_every", "eval_limit"):
        if options[name] is not None:
            setattr(config, name, options[name])
    config.device = args.device
    return config


def _same(given: object, stored: object) -> bool:
    """Whether a value given on the command line equals the stored one (as text when types differ:
    --set values arrive as strings, the stored config holds numbers)."""
    if isinstance(given, (tuple, list)) and isinstance(stored, (tuple, list)):
        return len(given) == len(stored) and all(_same(a, b) for a, b in zip(given, stored))
    if given == stored:
        return True
    try:
        return float(given) == float(stored)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(given).strip().lower() == str(stored).strip().lower()


def _shown(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value))
    return "(not set)" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = resume_config(args) if args.resume else config_from_args(args)
        return run(config, resume=args.resume, quiet=args.quiet)
    except LatentLabError as err:
        print(f"latentlab-train: error: {err}", file=sys.stderr)
        return 2


def _rescue(trainer: Trainer, config: TrainConfig) -> None:
    """After a save failed (disk full, read-only), the model is still in memory: write it to a folder
    under the system's temporary folder and say how to continue from there."""
    folder = Path(tempfile.gettempdir()) / f"latentlab-rescue-{Path(config.out).name or 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        saved = trainer.save_to(folder)
    except LatentLabError as err:
        print(f"latentlab-train: could not save the model elsewhere either ({err}); free some space or fix the "
              "folder's permissions, then run again", file=sys.stderr)
        return
    print(f"latentlab-train: the model trained so far was saved to {saved} instead; continue with: "
          f"latentlab-train --resume --out {folder}", file=sys.stderr)


def run(config: TrainConfig, resume: bool, quiet: bool) -> int:
    loading = tqdm(desc="decoding images", unit="img", disable=quiet, leave=False)

    def data_progress(done: int, total: int) -> None:
        loading.total = total
        loading.n = done
        loading.refresh()

    trainer = Trainer(config, resume=resume, data_progress=data_progress)
    previous = install_stop_handler(trainer)
    bar = None
    status = 0
    try:
        events = trainer.run()
        for event in events:
            if bar is None:
                loading.close()
                for note in trainer.notes:
                    tqdm.write(f"note: {note}")
                bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", disable=quiet,
                           dynamic_ncols=True, desc=f"{config.model} epoch {trainer.epoch + 1}/{config.epochs}")
            if isinstance(event, Step):
                bar.set_description(f"{config.model} epoch {event.epoch + 1}/{config.epochs}", refresh=False)
                terms = {k: f"{v:.4g}" for k, v in event.losses.items() if k in SHOWN_TERMS}
                bar.set_postfix(terms | {"img/s": f"{event.images_per_sec:.0f}"}, refresh=False)
                bar.update(event.step - bar.n)
            elif isinstance(event, EpochEnd):
                held = ", ".join(f"{k} {v:.4g}" for k, v in event.held_out.items())
                tqdm.write(f"epoch {event.epoch + 1}: train loss {event.train.get('loss', float('nan')):.4g}"
                           + (f"; held-out {held}" if held else ""))
            elif isinstance(event, Preview):
                try:
                    save_grid(Path(config.out) / "preview.png", [event.samples, event.reconstructions])
                except OSError as err:  # the checkpoint save will say what is wrong; a preview is not worth a stop
                    tqdm.write(f"note: could not write {Path(config.out) / 'preview.png'} ({err})")
            elif isinstance(event, CheckpointSaved):
                bar.set_postfix_str(f"saved {event.path.name} at step {event.step}")
            elif isinstance(event, Finished):
                bar.close()
                if event.reason == "stopped":
                    print(f"stopped at step {event.step}; resume with: latentlab-train --resume --out {config.out}")
                else:
                    print(f"done ({event.reason}) after {event.step} steps; checkpoint: {event.checkpoint}")
            elif isinstance(event, Failed):
                bar.close()
                print(f"latentlab-train: error: {event.message}", file=sys.stderr)
                status = 1
        if trainer.unsaved and trainer.ctx.is_main:
            _rescue(trainer, config)
    finally:
        loading.close()
        signal.signal(signal.SIGINT, previous)
    return status


def install_stop_handler(trainer: Trainer):
    """First Ctrl+C: stop after the current step and write a resumable checkpoint. Second: abort."""
    def handler(signum, frame):
        tqdm.write("stopping after this step (Ctrl+C again to abort without saving)…")
        trainer.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return signal.signal(signal.SIGINT, handler)


if __name__ == "__main__":
    sys.exit(main())
