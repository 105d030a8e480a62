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
from pathlib import Path

from tqdm import tqdm

from latentlab.data import KINDS, parse_spec
from latentlab.errors import LatentLabError
from latentlab.images import save_grid
from latentlab.models import available_models
from trainers.config import LR_SCHEDULES, TrainConfig
from trainers.events import CheckpointSaved, EpochEnd, Failed, Finished, Preview, Step
from trainers.loop import Trainer, checkpoint_path

SHOWN_TERMS = ("loss", "recon", "kl", "mse")


def build_parser() -> argparse.ArgumentParser:
    models = "\n".join(f"  {name:8s} {text}" for name, text in available_models().items())
    kinds = "\n".join(f"  {kind:16s} {text}" for kind, text in KINDS.items())
    parser = argparse.ArgumentParser(
        prog="latentlab-train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a LatentLab model.", epilog=f"models:\n{models}\n\ndataset specs (--data):\n{kinds}")
    parser.add_argument("model", nargs="?", help="model name (see below); not needed with --resume")
    parser.add_argument("--data", help="dataset spec, e.g. synthetic-faces or celeba:PATH")
    parser.add_argument("--out", required=True, help="output folder for last.ckpt, history.jsonl, preview.png")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    parser.add_argument("--size", type=int, help="image side in pixels (overrides the spec's size option)")
    parser.add_argument("--channels", type=int, choices=(1, 3), help="1 gray or 3 colour (overrides the spec)")
    parser.add_argument("--latent", type=int, help="latent size (2..256)")
    parser.add_argument("--likelihood", choices=("bernoulli", "gaussian"), help="decoder likelihood")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other model setting, e.g. --set beta=0.5 --set corruption=dropout")
    parser.add_argument("--epochs", type=int, help="passes over the training set (default 20)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--betas", type=float, nargs=2, default=(0.5, 0.999), metavar=("B1", "B2"))
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N training examples")
    parser.add_argument("--max-steps", type=int, help="stop after N optimisation steps")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    parser.add_argument("--keep-every", type=int, metavar="STEPS",
                        help="also keep the checkpoint every STEPS steps as step-NNNNNN.ckpt (to score a run over training)")
    parser.add_argument("--preview-every", type=int, default=200, help="steps between preview.png updates")
    parser.add_argument("--eval-limit", type=int, default=1000, help="held-out images evaluated per epoch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
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
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LatentLabError(f"--set expects KEY=VALUE, got {item!r}")
        model_config[key.strip()] = value.strip()
    return TrainConfig(
        model=args.model, data=spec.to_string(), out=args.out, model_config=model_config, epochs=args.epochs or 20,
        batch_size=args.batch, lr=args.lr, betas=tuple(args.betas), lr_schedule=args.lr_schedule, seed=args.seed,
        limit=args.limit, max_steps=args.max_steps, checkpoint_every=args.checkpoint_every, keep_every=args.keep_every,
        preview_every=args.preview_every, eval_limit=args.eval_limit, device=args.device)


def resume_config(args: argparse.Namespace) -> TrainConfig:
    """The stored run's config; only the run length and device may change on resume."""
    from latentlab.checkpoints import read_checkpoint

    stored = read_checkpoint(checkpoint_path(args.out)).meta.get("train_config")
    if stored is None:
        raise LatentLabError(f"{checkpoint_path(args.out)}: no training config stored; cannot resume")
    config = TrainConfig.from_dict(stored)
    config.out = args.out
    if args.epochs is not None:
        config.epochs = args.epochs
    if args.max_steps is not None:
        config.max_steps = args.max_steps
    config.device = args.device
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = resume_config(args) if args.resume else config_from_args(args)
        return run(config, resume=args.resume, quiet=args.quiet)
    except LatentLabError as err:
        print(f"latentlab-train: error: {err}", file=sys.stderr)
        return 2


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
                save_grid(Path(config.out) / "preview.png", [event.samples, event.reconstructions])
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
