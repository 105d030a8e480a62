"""Scale-out with torch.distributed: the same loop under `torchrun --nproc_per_node N`.

torchrun sets WORLD_SIZE / RANK / LOCAL_RANK; we then join the process group (nccl on GPU, gloo on
CPU), wrap the model in DistributedDataParallel and shard the data with a DistributedSampler.
Rank 0 alone writes checkpoints and history and reports progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from latentlab.errors import ConfigError


@dataclass
class Context:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Average a tensor over all processes (identity when running alone)."""
        if not self.distributed:
            return values
        values = values.to(self.device).clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values.cpu() / self.world_size


def check_device(device: str) -> None:
    """ConfigError naming the device unless it is auto, cpu, or a CUDA device this PyTorch can use
    (asking a CPU-only build for cuda used to end in an AttributeError from torch._C)."""
    if device == "auto":
        return
    try:
        chosen = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"device {device!r}: not a device name (use auto, cpu, cuda or cuda:N)") from None
    if chosen.type == "cpu":
        return
    if chosen.type != "cuda":
        raise ConfigError(f"device {device!r}: not supported for training (use auto, cpu, cuda or cuda:N)")
    if not torch.cuda.is_available():
        why = ("this PyTorch build has no CUDA support" if torch.version.cuda is None
               else "no CUDA GPU is visible to this PyTorch")
        raise ConfigError(f"device {device!r}: {why}; use cpu or auto")
    if chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise ConfigError(f"device {device!r}: there are only {torch.cuda.device_count()} CUDA devices "
                          f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")


def setup(device: str = "auto") -> Context:
    """Join the process group when launched by torchrun; choose the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank if world_size > 1 else (chosen.index or 0))
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return Context(rank=rank, world_size=world_size, device=chosen)


def teardown(context: Context, *, clean: bool = True) -> None:
    """Leave the process group.

    On a clean finish every rank first meets at a barrier: without it one rank could destroy its
    gloo pair while the other still sends, and gloo's worker thread then aborts the process
    ("terminate called without an active exception"), which a CI run caught once in ~50. After a
    failure we skip the barrier, since the other rank may never arrive.
    """
    if context.distributed and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()
