"""Test-set bits/dim of PixelCNN, Gated PixelCNN and Row LSTM trained on the same data and budget.

    python -m latentlab.bench pixel-models [--data SPEC] [--epochs 2] [--batch 32] [--lr 1e-3]
                                           [--limit N] [--eval-limit N] [--seed 0] [--device auto]
                                           [--models pixelcnn,gated_pixelcnn,row_lstm] [--set KEY=VALUE]
                                           [--out runs/pixel-models] [--json]

Each model is trained by the project's Trainer with the same data, seed, optimiser (Adam, `--lr`,
betas (0.9, 0.999), cosine schedule), batch size and number of epochs — the same budget in
optimisation steps and images seen — and then scored on the *test* split:

    bits/dim = -log p(x) / (C H W ln 2),   log p(x) = Σ_{r,c,k} log p(x_{r,c,k} | x_{<(r,c,k)})

(van den Oord et al. 2016, "Pixel Recurrent Neural Networks", §5; lower is better). The table also
gives each model's parameter count and training seconds, since equal steps are not equal compute.
Checkpoints are kept under `--out/<model>/last.ckpt`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from latentlab.bench.arguments import choice_list

DEFAULT_MODELS = ("pixelcnn", "gated_pixelcnn", "row_lstm")


def _setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def test_bits_per_dim(checkpoint: Path, spec: str, limit: int | None, device: str) -> float:
    """Mean bits/dim of the checkpoint's model over the test split of `spec` (first `limit` images)."""
    import torch

    from latentlab.checkpoints import load_model
    from latentlab.data import load_dataset

    model = load_model(checkpoint)
    target = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                          ("cpu" if device == "auto" else device))
    model.to(target).eval()
    data = load_dataset(spec, split="test", limit=limit)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(data), 100):
            x = data.as_tensor()[start:start + 100].to(target)
            total += float(model.bits_per_dim(x).double().sum())
            count += x.shape[0]
    return total / count


def train_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train `name` with the shared budget; return its row of the table."""
    from trainers.config import TrainConfig
    from trainers.events import Failed, Finished
    from trainers.loop import Trainer

    out = Path(args.out) / name
    config = TrainConfig(model=name, data=args.data, out=str(out), model_config=dict(args.set or []),
                         epochs=args.epochs, batch_size=args.batch, lr=args.lr, betas=(0.9, 0.999),
                         lr_schedule="cosine", seed=args.seed, limit=args.limit, eval_limit=0,
                         preview_every=10**9, checkpoint_every=10**9, device=args.device)
    trainer = Trainer(config)
    started = time.perf_counter()
    finished = None
    for event in trainer.run():
        if isinstance(event, Failed):
            raise RuntimeError(f"{name}: {event.message}")
        if isinstance(event, Finished):
            finished = event
    seconds = time.perf_counter() - started
    parameters = sum(p.numel() for p in trainer.model.parameters())
    bpd = test_bits_per_dim(out / "last.ckpt", args.data, args.eval_limit, args.device)
    return {"model": name, "parameters": parameters, "steps": finished.step if finished else None,
            "train_seconds": seconds, "test_bits_per_dim": bpd, "checkpoint": str(out / "last.ckpt")}


def format_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'model':16s} {'parameters':>10s} {'steps':>6s} {'train s':>8s} {'test bits/dim':>13s}"
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(f"{row['model']:16s} {row['parameters']:10,d} {row['steps']:6d} {row['train_seconds']:8.0f} "
                     f"{row['test_bits_per_dim']:13.4f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench pixel-models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion-mnist", help="dataset spec (default fashion-mnist)")
    parser.add_argument("--models", type=choice_list(DEFAULT_MODELS, "models"), default=list(DEFAULT_MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--eval-limit", type=int, help="score only the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", type=_setting, action="append", metavar="KEY=VALUE",
                        help="a model setting given to every model, e.g. --set hidden_channels=32")
    parser.add_argument("--out", default="runs/pixel-models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from latentlab.errors import LatentLabError

    rows = []
    try:
        for name in args.models:
            print(f"  training {name} ({args.epochs} epochs, batch {args.batch}) on {args.data}",
                  file=sys.stderr, flush=True)
            rows.append(train_one(name, args))
    except (LatentLabError, RuntimeError) as err:
        print(f"pixel-models: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"data": args.data, "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                          "seed": args.seed, "rows": rows}, indent=1))
        return 0
    print(f"data: {args.data}; {args.epochs} epochs, batch {args.batch}, Adam lr {args.lr} cosine, seed {args.seed}")
    print(format_table(rows))
    best = min(rows, key=lambda r: r["test_bits_per_dim"])
    print(f"lowest test bits/dim: {best['model']} ({best['test_bits_per_dim']:.4f}; "
          f"{math.log2(256):.0f} bits/dim would be a uniform guess)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
