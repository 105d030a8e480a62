"""Fitting schemes: how one batch updates a model's parameters.

SingleObjective (AE, VAE, DVAE, ...): minimise the model's "loss" term with one Adam optimiser,
    theta <- Adam(theta, grad_theta E_batch[loss]).
AlternatingAdversarial (AAE, WAE-GAN, GAN, ALI: models with `scheme = "adversarial"`, see
latentlab/models/base.py): one Adam (and schedule) per parameter group; each step first updates the
discriminator on its phase objective, then the generator (or encoder + decoder) on its own:
    phi   <- Adam_D(phi,   grad_phi   E_batch[discriminator "loss"])
    theta <- Adam_G(theta, grad_theta E_batch[generator "loss"])   (with the updated discriminator)
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


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


class AlternatingAdversarial:
    """Alternating discriminator / generator updates, one Adam per group of `model.parameter_groups()`.

    Learning rates: the generator group uses `config.lr`; the discriminator uses
    `model.discriminator_lr()` when the model config sets one (`discriminator_lr` > 0), else `config.lr`.
    Logged terms: the generator phase's terms as they are ("loss" is the generator objective) and the
    discriminator phase's with a "d_" prefix. Each phase's terms are checked before its update, so a
    non-finite discriminator term leaves every weight untouched; a non-finite generator term (which
    is computed with the freshly updated discriminator) leaves the generator untouched.

    `module` may be the DDP wrapper: phases run through `module(x, phase=...)` (the model's forward
    dispatches), so DDP synchronises the gradients of both backward passes. Each phase leaves some
    parameters without gradients (e.g. the decoder in an AAE discriminator phase), so a distributed
    run needs DistributedDataParallel(find_unused_parameters=True).
    """

    GROUPS = ("discriminator", "generator")

    def __init__(self, model: nn.Module, config: TrainConfig, total_steps: int) -> None:
        groups = model.parameter_groups()
        if set(groups) != set(self.GROUPS):
            raise ValueError(f"parameter_groups() must return {', '.join(self.GROUPS)}; got {', '.join(groups)}")
        grouped = [id(p) for name in self.GROUPS for p in groups[name]]
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        if len(grouped) != len(set(grouped)) or set(grouped) != trainable:
            raise ValueError("parameter_groups() must split the trainable parameters into disjoint groups")
        d_lr = model.discriminator_lr() if hasattr(model, "discriminator_lr") else None
        lrs = {"discriminator": d_lr or config.lr, "generator": config.lr}
        self.optimizers = {name: torch.optim.Adam(groups[name], lr=lrs[name], betas=tuple(config.betas))
                           for name in self.GROUPS}
        self.schedulers = {name: _scheduler(self.optimizers[name], config, total_steps) for name in self.GROUPS}

    def _phase(self, module: nn.Module, x: torch.Tensor, phase: str, reduce) -> tuple[dict, dict[str, float]]:
        terms = module(x, phase=phase)
        values = torch.stack([terms[k].detach().float() for k in terms])
        if reduce is not None:
            values = reduce(values)
        prefix = "d_" if phase == "discriminator" else ""
        return terms, {prefix + k: v for k, v in zip(terms, values.tolist())}

    def step(self, module: nn.Module, x: torch.Tensor, reduce=None) -> dict[str, float]:
        """One discriminator update then one generator update; returns every logged term as a float."""
        losses: dict[str, float] = {}
        for phase in self.GROUPS:
            terms, logged = self._phase(module, x, phase, reduce)
            losses.update(logged)
            if not all(math.isfinite(v) for v in logged.values()):
                raise NonFiniteLoss(losses)
            optimizer = self.optimizers[phase]
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
        for scheduler in self.schedulers.values():
            scheduler.step()
        # The generator phase also left gradients on the discriminator; drop them (zeroed anyway).
        self.optimizers["discriminator"].zero_grad(set_to_none=True)
        generator_first = {k: losses[k] for k in losses if not k.startswith("d_")}
        return {**generator_first, **{k: v for k, v in losses.items() if k.startswith("d_")}}

    def state_dict(self) -> dict[str, Any]:
        return {"groups": list(self.GROUPS),
                "optimizers": [self.optimizers[g].state_dict() for g in self.GROUPS],
                "schedulers": [self.schedulers[g].state_dict() for g in self.GROUPS]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state.get("groups", [])) != list(self.GROUPS):
            raise ValueError(f"scheme state holds groups {state.get('groups')}, expected {list(self.GROUPS)}")
        for i, group in enumerate(self.GROUPS):
            self.optimizers[group].load_state_dict(state["optimizers"][i])
            self.schedulers[group].load_state_dict(state["schedulers"][i])


def make_scheme(model: nn.Module, config: TrainConfig, total_steps: int) -> SingleObjective | AlternatingAdversarial:
    """The alternating scheme for models declaring `scheme = "adversarial"`, else SingleObjective."""
    if getattr(model, "scheme", None) == "adversarial":
        return AlternatingAdversarial(model, config, total_steps)
    return SingleObjective(model, config, total_steps)
