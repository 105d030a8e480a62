"""Fitting schemes: how one batch updates a model's parameters.

SingleObjective (AE, VAE, DVAE, ...): minimise the model's "loss" term with one Adam optimiser,
    theta <- Adam(theta, grad_theta E_batch[loss]).
The alternating adversarial scheme (AAE, WAE-GAN, GAN, ALI) plugs in here with several optimisers.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from trainers.config import TrainConfig


class NonFiniteLoss(Exception):
    """Raised before any parameter is touched when a loss term is NaN or infinite."""

    def __init__(self, losses: dict[str, float]) -> None:
        self.losses = losses
        terms = ", ".join(f"{k}={v:.4g}" for k, v in losses.items())
        super().__init__(f"non-finite loss ({terms})")


class SingleObjective:
    """One Adam optimiser (and an optional cosine schedule) on the model's "loss"."""

    def __init__(self, model: nn.Module, config: TrainConfig, total_steps: int) -> None:
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=tuple(config.betas))
        if config.lr_schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(total_steps, 1))
        else:
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)

    def step(self, module: nn.Module, x: torch.Tensor, reduce=None) -> dict[str, float]:
        """One update; `module` may be the DDP wrapper (its forward is the model's `losses`).
        `reduce` averages the logged terms over processes (None when running alone)."""
        terms = module(x)
        values = torch.stack([terms[k].detach().float() for k in terms])
        if reduce is not None:
            values = reduce(values)
        losses = dict(zip(terms, values.tolist()))
        if not all(math.isfinite(v) for v in losses.values()):
            raise NonFiniteLoss(losses)
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.optimizer.step()
        self.scheduler.step()
        return losses

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": [self.optimizer.state_dict()], "schedulers": [self.scheduler.state_dict()]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizers"][0])
        self.scheduler.load_state_dict(state["schedulers"][0])


def make_scheme(model: nn.Module, config: TrainConfig, total_steps: int) -> SingleObjective:
    return SingleObjective(model, config, total_steps)
