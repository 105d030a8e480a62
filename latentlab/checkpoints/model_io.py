"""Models to and from checkpoints: `save_model`, `model_from_checkpoint`, `load_model`."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from latentlab.checkpoints.format import Checkpoint, read_checkpoint, read_meta, write_checkpoint
from latentlab.errors import CheckpointError, ConfigError
from latentlab.models.registry import build_model, config_to_dict, entry


def model_meta(model: nn.Module, **extra: Any) -> dict[str, Any]:
    """Metadata describing `model`: registry name and JSON config, plus any extra JSON-able fields
    (dataset, preprocessing, history, metrics, ...)."""
    return {"model": model.registry_name, "config": config_to_dict(model.config), **extra}


def save_model(path: str | os.PathLike, model: nn.Module, half: bool = False,
               training: dict[str, Any] | None = None, **meta: Any) -> Path:
    """Write `model` (weights, config, metadata) atomically to `path`."""
    checkpoint = Checkpoint(meta=model_meta(model, **meta), state_dict=model.state_dict(), training=training)
    return write_checkpoint(path, checkpoint, half=half)


class SkippedInitialisers(TorchFunctionMode):
    """Within it, `torch.nn.init`'s initialisers and `Tensor.uniform_` / `normal_` leave their tensor as
    allocated: for building a model whose every parameter and persistent buffer a strict
    `load_state_dict` overwrites next, so that its random initialisation (about 40 ms of the default
    model's 50 ms build, at every launch) is not computed only to be discarded. Like every torch
    function mode it applies to the calling thread only: a model built on another thread meanwhile
    is initialised as usual."""

    FILLS = frozenset({torch.Tensor.uniform_, torch.Tensor.normal_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if func in self.FILLS or (getattr(func, "__module__", None) == "torch.nn.init" and name.endswith("_")
                                  and not name.startswith("_")):
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def model_from_checkpoint(checkpoint: Checkpoint) -> nn.Module:
    """Build the model the checkpoint describes and load its weights (strict: every tensor must fit,
    except the modules a bundle records in meta["omitted_modules"], which stay untrained). A model of
    LatentLab's own whose weights all come from the checkpoint is built without its random
    initialisation (`SkippedInitialisers`); one with omitted modules, or a plugin's, whose
    constructor might draw values the checkpoint does not hold, is initialised as usual."""
    where = checkpoint.path or "checkpoint"
    omitted = [str(name) for name in checkpoint.meta.get("omitted_modules", [])]
    try:
        own = entry(checkpoint.model_name).model_class.__module__.startswith("latentlab.models.")
    except ConfigError:
        own = False  # an unknown model: build_model below says so
    try:
        with SkippedInitialisers() if own and not omitted else nullcontext():
            model = build_model(checkpoint.model_name, checkpoint.meta.get("config", {}))
    except ConfigError as err:
        raise CheckpointError(f"{where}: {err}") from None
    try:
        result = model.load_state_dict(checkpoint.state_dict, strict=not omitted)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise CheckpointError(
            f"{where}: the weights do not fit model {checkpoint.model_name!r} with the stored config ({detail})"
        ) from None
    if omitted:  # a bundle left out modules exploring never runs (a discriminator): only those may be missing
        stray = [k for k in result.missing_keys if not any(k.startswith(f"{name}.") for name in omitted)]
        if stray or result.unexpected_keys:
            raise CheckpointError(f"{where}: the weights do not fit model {checkpoint.model_name!r} with the stored "
                                  f"config (missing {', '.join(stray[:5]) or 'none'}; unexpected "
                                  f"{', '.join(result.unexpected_keys[:5]) or 'none'})")
    model.omitted_modules = omitted
    model.checkpoint_meta = checkpoint.meta
    model.checkpoint_extras = checkpoint.extras
    return model


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """`latentlab.load`: the checkpoint's model, weights loaded, in eval mode."""
    model = model_from_checkpoint(read_checkpoint(path, map_location=map_location))
    return model.to(map_location).eval()


def holds_autoregressive_model(path: str | os.PathLike) -> bool:
    """Whether the checkpoint at `path` is of an autoregressive (pixel-by-pixel) model, judged from
    its metadata alone; False for a file that cannot be read or names an unknown model."""
    try:
        return bool(getattr(entry(read_meta(path)["model"]).model_class, "is_autoregressive", False))
    except (CheckpointError, ConfigError):
        return False
