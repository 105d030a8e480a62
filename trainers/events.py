"""Events the training loop yields; the CLI prints them, the app turns them into Qt signals.

Every payload is plain Python / numpy (owned copies), safe to hand to another thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Step:
    step: int                  # optimisation steps done so far (1-based after the first step)
    epoch: int                 # 0-based epoch the step belongs to
    total_steps: int           # steps the run will do in all
    losses: dict[str, float]
    images_per_sec: float      # moving average over recent steps


@dataclass
class EpochEnd:
    epoch: int
    step: int
    train: dict[str, float]                        # mean of the epoch's step losses
    held_out: dict[str, float] = field(default_factory=dict)  # evaluation on the held-out split


@dataclass
class Preview:
    step: int
    samples: np.ndarray          # uint8 [N, C, H, W]: decodes of fixed prior samples
    reconstructions: np.ndarray  # uint8 [2M, C, H, W]: originals then reconstructions
    codes: np.ndarray | None = None  # float32 [K, D]: posterior means of a fixed image set (a live latent map)


@dataclass
class CheckpointSaved:
    step: int
    epoch: int
    path: Path


@dataclass
class Finished:
    step: int
    epoch: int
    reason: str                  # "completed", "max-steps" or "stopped"
    checkpoint: Path | None


@dataclass
class Failed:
    step: int
    epoch: int
    message: str
    checkpoint: Path | None      # the last good checkpoint, untouched by the failure


Event = Step | EpochEnd | Preview | CheckpointSaved | Finished | Failed
