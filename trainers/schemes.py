"""Fitting schemes: how one batch updates a model's parameters.

SingleObjective (AE, VAE, DVAE, ...): minimise the model's "loss" term with one Adam optimiser,
    theta <- Adam(theta, grad_theta E_batch[loss]).
AlternatingAdversarial (AAE, WAE-GAN, GAN, ALI: models with `scheme = "adversarial"`, see
latentlab/models/base.py): one Adam (and schedule) per phase; each step first updates the
discriminator on its phase objective, then the generator (or encoder + decoder) on its own:
    phi   <- Adam_D(phi,   grad_phi   E_batch[discriminator "loss"])
    theta <- Adam_G(theta, grad_theta E_batch[generator "loss"])   (with the updated discriminator)
with the model's own additions: extra phases, repeats, a gated discriminator (see the class).
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
    """Alternating updates, one Adam (and schedule) per phase of `model.phases()`.

    Each iteration runs the phases in order, each on its own objective and parameter group
    (`model.parameter_groups()[phase]`): by default the discriminator, then the generator (or
    encoder + decoder), the latter against the freshly updated discriminator. A model may add phases
    (the AAE's own encoder step on its adversarial loss, Creswell et al.'s DAAE code), repeat one
    (`phase_repeats`: Su's GAN takes 2 generator steps per discriminator step), prepare one
    (`begin_phase`: Su's anchor G_old(z)), and gate the discriminator (`discriminator_gate`: it is
    updated only while a logged term of the previous iteration is below a bound).

    Learning rates: `model.phase_lr(phase)` where it gives one, else `config.lr`.
    Logged terms: the generator phase's terms as they are ("loss" is the generator objective), every
    other phase's with its first letter as prefix ("d_loss", "e_loss"), from its last repeat; a gated
    discriminator still computes its terms and logs "d_updated" 0 or 1. Each phase's terms are checked
    before its update, so a non-finite term leaves that phase's parameters (and every later phase's)
    untouched.

    `module` may be the DDP wrapper: phases run through `module(x, phase=...)` (the model's forward
    dispatches), so DDP synchronises the gradients of every backward pass. Each phase leaves some
    parameters without gradients (e.g. the decoder in an AAE discriminator phase), so a distributed
    run needs DistributedDataParallel(find_unused_parameters=True).
    """

    def __init__(self, model: nn.Module, config: TrainConfig, total_steps: int) -> None:
        self.phases = tuple(model.phases())
        groups = model.parameter_groups()
        if set(groups) != set(self.phases):
            raise ValueError(f"parameter_groups() must return {', '.join(self.phases)}; got {', '.join(groups)}")
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        covered = {id(p) for name in self.phases for p in groups[name]}
        if covered != trainable or any(len({id(p) for p in groups[n]}) != len(groups[n]) for n in self.phases):
            raise ValueError("parameter_groups() must cover every trainable parameter, each at most once per group")
        if "discriminator" in groups:
            d_ids = {id(p) for p in groups["discriminator"]}
            if any(id(p) in d_ids for name in self.phases if name != "discriminator" for p in groups[name]):
                raise ValueError("the discriminator's parameters must be in no other group")
        self.optimizers = {name: torch.optim.Adam(groups[name], lr=model.phase_lr(name) or config.lr,
                                                  betas=tuple(config.betas)) for name in self.phases}
        self.schedulers = {name: _scheduler(self.optimizers[name], config, total_steps) for name in self.phases}
        self.gate = model.discriminator_gate()
        self.gate_value: float | None = None  # the gated term at the previous iteration

    @staticmethod
    def _prefix(phase: str) -> str:
        return "" if phase == "generator" else phase[0] + "_"

    def _phase(self, module: nn.Module, x: torch.Tensor, phase: str, reduce) -> tuple[dict, dict[str, float]]:
        terms = module(x, phase=phase)
        values = torch.stack([terms[k].detach().float() for k in terms])
        if reduce is not None:
            values = reduce(values)
        prefix = self._prefix(phase)
        return terms, {prefix + k: v for k, v in zip(terms, values.tolist())}

    def _discriminator_updates(self) -> bool:
        return self.gate is None or self.gate_value is None or self.gate_value < self.gate[1]

    def step(self, module: nn.Module, x: torch.Tensor, reduce=None) -> dict[str, float]:
        """One iteration of every phase; returns every logged term as a float."""
        model = getattr(module, "module", module)  # the model itself under DDP
        losses: dict[str, float] = {}
        for phase in self.phases:
            update = phase != "discriminator" or self._discriminator_updates()
            model.begin_phase(phase, x)
            try:
                for _ in range(model.phase_repeats(phase) if update else 1):
                    # A gated phase only logs its terms: no graph, so DDP expects no backward either.
                    with torch.set_grad_enabled(update and torch.is_grad_enabled()):
                        terms, logged = self._phase(module, x, phase, reduce)
                    losses.update(logged)
                    if not all(math.isfinite(v) for v in logged.values()):
                        raise NonFiniteLoss(losses)
                    optimizer = self.optimizers[phase]
                    optimizer.zero_grad(set_to_none=True)
                    if update:
                        terms["loss"].backward()
                        optimizer.step()
            finally:
                model.end_phase(phase)
            if self.gate is not None and phase == "discriminator":
                losses["d_updated"] = float(update)
        for scheduler in self.schedulers.values():
            scheduler.step()
        # Later phases also left gradients on earlier groups; drop them (zeroed anyway).
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        if self.gate is not None:
            self.gate_value = losses[self.gate[0]]
        generator_first = {k: v for k, v in losses.items() if k in self._own_terms(losses)}
        return {**generator_first, **{k: v for k, v in losses.items() if k not in generator_first}}

    def _own_terms(self, losses: dict[str, float]) -> set[str]:
        prefixes = tuple(self._prefix(p) for p in self.phases if p != "generator")
        return {k for k in losses if not k.startswith(prefixes)}

    def state_dict(self) -> dict[str, Any]:
        return {"groups": list(self.phases),
                "optimizers": [self.optimizers[g].state_dict() for g in self.phases],
                "schedulers": [self.schedulers[g].state_dict() for g in self.phases],
                "gate_value": self.gate_value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state.get("groups", [])) != list(self.phases):
            raise ValueError(f"scheme state holds groups {state.get('groups')}, expected {list(self.phases)}")
        for i, group in enumerate(self.phases):
            self.optimizers[group].load_state_dict(state["optimizers"][i])
            self.schedulers[group].load_state_dict(state["schedulers"][i])
        self.gate_value = state.get("gate_value")


def make_scheme(model: nn.Module, config: TrainConfig, total_steps: int) -> SingleObjective | AlternatingAdversarial:
    """The alternating scheme for models declaring `scheme = "adversarial"`, else SingleObjective."""
    if getattr(model, "scheme", None) == "adversarial":
        return AlternatingAdversarial(model, config, total_steps)
    return SingleObjective(model, config, total_steps)
