"""Model registry: name -> (class, config dataclass, description).

Configs are plain dataclasses that round-trip through JSON (`config_to_dict` / `config_from_dict`),
so a checkpoint stores the config and loading needs no code from the user.

The registry is complete whenever this module can be used: it is a submodule of `latentlab.models`,
so importing it first runs the package's `__init__`, which imports every family module and so runs
their `@register` decorators. Nothing here imports the families back.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from latentlab.errors import ConfigError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model_class: type[nn.Module]
    config_class: type
    description: str


MODELS: dict[str, ModelEntry] = {}


def register(name: str, config_class: type, description: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator adding a model family to the registry under `name`."""

    def add(model_class: type[nn.Module]) -> type[nn.Module]:
        MODELS[name] = ModelEntry(name, model_class, config_class, description)
        model_class.registry_name = name
        return model_class

    return add


def entry(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None


def available_models() -> dict[str, str]:
    return {name: e.description for name, e in sorted(MODELS.items())}


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-able dict of the config's fields (tuples become lists)."""
    return {f.name: _jsonable(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_dict(name: str, values: dict[str, Any]) -> Any:
    """Rebuild model `name`'s config from a dict, converting JSON lists back to tuples; unknown
    fields and invalid values raise ConfigError naming the field."""
    config_class = entry(name).config_class
    hints = typing.get_type_hints(config_class)
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"model {name!r} has no setting {', '.join(unknown)}; settings: {', '.join(sorted(known))}")
    kwargs = {key: _coerce(key, value, hints[key]) for key, value in values.items()}
    config = config_class(**kwargs)
    try:
        config.validate()
    except ValueError as err:
        raise ConfigError(f"invalid {name} config: {err}") from None
    return config


def build_model(name: str, config: Any | dict[str, Any] | None = None) -> nn.Module:
    """Instantiate model `name` from a config object or dict (defaults when None)."""
    if config is None or isinstance(config, dict):
        config = config_from_dict(name, config or {})
    try:
        return entry(name).model_class(config)
    except ValueError as err:
        raise ConfigError(f"invalid {name} config: {err}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert a JSON / command-line value to the field's declared type."""
    origin = typing.get_origin(hint)
    try:
        if origin is tuple:
            args = typing.get_args(hint)
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(_coerce(key, v, args[0]) for v in items)
        if hint is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if hint in (int, float, str):
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            if hint is float and not math.isfinite(float(value)):  # nan / inf would show up as a NaN loss
                raise ConfigError(f"setting {key}={value!r} must be a finite number")
            return hint(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {key}={value!r} is not a valid {getattr(hint, '__name__', hint)}") from None
    return value

