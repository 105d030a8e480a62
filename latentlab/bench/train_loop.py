"""Training-loop throughput against a bare, minimal PyTorch loop over the same model and batches.

Both loops train the same architecture from the same initial weights on the same batch sequence
(the Trainer's DistributedSampler order for the run's seed). Rounds alternate bare / Trainer so that
machine-load drift hits both; the printed ratio is Trainer images/s over bare images/s per round,
and the median over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch.utils.data import DistributedSampler

from latentlab.data import load_dataset, parse_spec
from latentlab.models import build_model
from trainers.config import TrainConfig
from trainers.events import Step
from trainers.loop import Trainer


def bare_loop(model_name: str, model_config: dict, images: torch.Tensor, order: torch.Tensor, batch: int,
              warmup: int, steps: int, seed: int) -> float:
    """The minimal loop: index, convert, forward, backward, Adam step. Returns images/s after warm-up."""
    torch.manual_seed(seed)
    model = build_model(model_name, model_config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x = images[order[i * batch:(i + 1) * batch]].float().div_(255.0)
        loss = model(x)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


def trainer_loop(config: TrainConfig, warmup: int) -> float:
    """The project's Trainer; times the same steps from its own Step events (wall clock between them)."""
    stamps: dict[int, float] = {}
    for event in Trainer(config).run():
        if isinstance(event, Step):
            stamps[event.step] = time.perf_counter()
    last = max(stamps)
    return (last - warmup) * config.batch_size / (stamps[last] - stamps[warmup])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench train-loop", description=__doc__)
    parser.add_argument("--model", default="vae")
    parser.add_argument("--data", default="synthetic-faces", help="dataset spec (default: built-in faces)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--latent", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    spec = parse_spec(args.data).with_options(size=args.size).to_string()
    total = args.warmup + args.steps
    limit = max(4096, 2 * total * args.batch)  # no epoch end (and so no held-out evaluation) inside a round
    dataset = load_dataset(spec, split="train", limit=limit)
    model_config = {"latent_dim": args.latent, "image_shape": list(dataset.image_shape)}
    sampler = DistributedSampler(range(len(dataset)), num_replicas=1, rank=0, shuffle=True, seed=args.seed,
                                 drop_last=True)
    sampler.set_epoch(0)
    order = torch.tensor(list(iter(sampler)))
    images = dataset.as_tensor()
    print(f"model {args.model} latent {args.latent}, data {spec} ({len(dataset)} images {dataset.image_shape}), "
          f"batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{torch.get_num_threads()} threads")
    ratios = []
    for r in range(args.rounds):
        bare = bare_loop(args.model, model_config, images, order, args.batch, args.warmup, args.steps, args.seed)
        with tempfile.TemporaryDirectory() as out:
            config = TrainConfig(model=args.model, data=spec, out=out, model_config={"latent_dim": args.latent},
                                 batch_size=args.batch, limit=limit, max_steps=total, seed=args.seed, epochs=1)
            ours = trainer_loop(config, args.warmup)
        ratios.append(ours / bare)
        print(f"round {r + 1}: bare loop {bare:8.1f} img/s   latentlab Trainer {ours:8.1f} img/s   ratio {ours / bare:.3f}")
    print(f"median ratio (Trainer / bare): {statistics.median(ratios):.3f}   (goal >= 0.95)")
    return 0
