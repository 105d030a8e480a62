"""What a training run needs, as one JSON-able dataclass (stored in every checkpoint for --resume)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from latentlab.errors import ConfigError

LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """A training run.

    model / model_config: registry name and config overrides (image_shape is taken from the data).
    data: dataset spec string (see `latentlab.data`), e.g. "celeba:PATH?size=64".
    limit: use only the first `limit` training examples. max_steps: stop after this many steps.
    lr, betas: Adam (Creswell et al. use lr 2e-4, betas (0.5, 0.999)). lr_schedule: constant or
    cosine annealing to 0 over the run.
    checkpoint_every: steps between periodic checkpoints (also written at each epoch end and at the end).
    keep_every: also keep a copy of the checkpoint every this many steps as `step-NNNNNN.ckpt` (to
    score a run over training); None: only `last.ckpt`.
    preview_every: steps between preview events. eval_limit: held-out examples evaluated per epoch.
    strict: refuse a folder / CelebA dataset holding undecodable images (default: leave them out and report them).
    """

    model: str
    data: str
    out: str
    model_config: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_schedule: str = "constant"
    seed: int = 0
    limit: int | None = None
    max_steps: int | None = None
    checkpoint_every: int = 500
    keep_every: int | None = None
    preview_every: int = 200
    eval_limit: int = 1000
    device: str = "auto"
    strict: bool = False  # refuse a dataset with undecodable images instead of leaving them out

    def validate(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 2, f"batch size must be >= 2 (batch-norm needs it), got {self.batch_size}"),
            (math.isfinite(self.lr) and self.lr > 0, f"learning rate must be a finite number > 0, got {self.lr}"),
            (all(0 <= b < 1 for b in self.betas), f"Adam betas must be in [0, 1), got {self.betas}"),
            (self.lr_schedule in LR_SCHEDULES, f"lr schedule must be one of {', '.join(LR_SCHEDULES)}"),
            (self.limit is None or self.limit >= 2, f"limit must be >= 2, got {self.limit}"),
            (self.max_steps is None or self.max_steps >= 1, f"max steps must be >= 1, got {self.max_steps}"),
            (self.checkpoint_every >= 1, f"checkpoint interval must be >= 1, got {self.checkpoint_every}"),
            (self.keep_every is None or self.keep_every >= 1, f"keep interval must be >= 1, got {self.keep_every}"),
            (self.preview_every >= 1, f"preview interval must be >= 1, got {self.preview_every}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        from trainers.distributed import check_device

        check_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["betas"] = list(self.betas)
        return values

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """{field: default} for every field that has one (all but model, data and out): the one
        place a run's defaults are written, which the command line shows and uses."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                values[f.name] = f.default_factory()
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config `to_dict` wrote (a checkpoint's "train_config"). As for model configs
        (`latentlab.models.registry.config_from_dict`), a key that is not a setting is refused
        with a ConfigError naming it rather than dropped; so is a missing model, data or out."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(f"training config has no setting {', '.join(unknown)}; "
                              f"settings: {', '.join(sorted(fields))}")
        required = [name for name, f in fields.items()
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise ConfigError(f"training config lacks the setting {', '.join(missing)}")
        values = dict(values)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])  # JSON stores the pair as a list
        return cls(**values)
