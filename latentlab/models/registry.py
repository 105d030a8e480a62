"""Model registry: name -> (class, config dataclass, description).

Configs are plain dataclasses that round-trip through JSON (`config_to_dict` / `config_from_dict`),
so a checkpoint stores the config and loading needs no code from the user.

The built-in families are registered whenever this module can be used: it is a submodule of
`latentlab.models`, so importing it first runs the package's `__init__`, which imports every family
module and so runs their `@register` decorators. Nothing here imports the families back.

Other installed packages add families through the entry-point group `latentlab.models`
(docs/plugins.md). Each entry point names a module (importing it runs its `@register` decorators)
or a callable (called with no arguments; it calls `register`). Plugins load once, lazily: when
`entry` is asked for a name no family has, or when `available_models` lists the families. A plugin
that fails to load is reported in one line naming it and the error (`plugin_errors`), and none of
its families is kept; a plugin cannot take a name that is already registered (a built-in family's
or another plugin's).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import math
import threading
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from latentlab.errors import ConfigError


#: the entry-point group through which installed packages register model families
PLUGIN_GROUP = "latentlab.models"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model_class: type[nn.Module]
    config_class: type
    description: str
    #: the entry point ("distribution: entry-point name") that registered the family; None if built in
    plugin: str | None = None


MODELS: dict[str, ModelEntry] = {}

_plugins_lock = threading.RLock()
_plugins_loaded = False
_loading_plugin: str | None = None  # the plugin being loaded, while its code runs
_plugin_errors: dict[str, str] = {}


def register(name: str, config_class: type, description: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator adding a model family to the registry under `name`.

    `config_class` is a dataclass whose fields round-trip through JSON and whose `validate()`
    raises ValueError for invalid settings; the model class is built as `model_class(config)`.
    ConfigError when the name is already taken: a family is never silently replaced."""

    def add(model_class: type[nn.Module]) -> type[nn.Module]:
        plugin = _loading_plugin
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a model family's name must be a non-empty string, got {name!r}")
        if not dataclasses.is_dataclass(config_class) or not isinstance(config_class, type):
            raise ConfigError(f"model family {name!r}: its config class {config_class!r} is not a dataclass")
        if not (isinstance(model_class, type) and issubclass(model_class, nn.Module)):
            raise ConfigError(f"model family {name!r}: {model_class!r} is not a torch.nn.Module class")
        taken = MODELS.get(name)
        if taken is not None and taken.model_class is not model_class:
            owner = "a built-in family" if taken.plugin is None else f"plugin {taken.plugin}"
            raise ConfigError(f"model family {name!r} is already registered by {owner}; "
                              "a family cannot be replaced, register this one under another name")
        MODELS[name] = ModelEntry(name, model_class, config_class, description, plugin)
        model_class.registry_name = name
        return model_class

    return add


def entry(name: str) -> ModelEntry:
    if name not in MODELS:
        load_plugins()
    try:
        return MODELS[name]
    except KeyError:
        message = f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}"
        if _plugin_errors:
            message += "; model plugins that failed to load: " + "; ".join(_plugin_errors.values())
        raise ConfigError(message) from None


def available_models() -> dict[str, str]:
    """{family name: description} of every family, the installed plugins' included."""
    load_plugins()
    return {name: e.description for name, e in sorted(MODELS.items())}


def load_plugins() -> dict[str, str]:
    """Load every `latentlab.models` entry point once (later calls return at once) and return
    `plugin_errors()`. A plugin that raises is reported (a warning on the `latentlab.models.registry`
    logger: one line naming the plugin and the error, no traceback) and its families are dropped;
    the built-in families and the other plugins are unaffected."""
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded:
            return dict(_plugin_errors)
        _plugins_loaded = True  # before loading: a plugin that asks for the registry does not recurse
        try:
            points = sorted(importlib.metadata.entry_points(group=PLUGIN_GROUP), key=lambda p: (p.name, p.value))
        except Exception as err:  # noqa: BLE001 - broken installed metadata must not break the built-ins
            _report("(discovery)", f"reading the installed packages' entry points failed: {_describe(err)}")
            return dict(_plugin_errors)
        seen: set[tuple[str, str]] = set()
        for point in points:
            if (point.name, point.value) not in seen:  # a distribution found twice on sys.path
                seen.add((point.name, point.value))
                _load_plugin(point)
        return dict(_plugin_errors)


def plugin_errors() -> dict[str, str]:
    """{plugin: message} of the plugins that failed to load (empty until `load_plugins` has run)."""
    return dict(_plugin_errors)


def _load_plugin(point: importlib.metadata.EntryPoint) -> None:
    global _loading_plugin
    dist = getattr(point, "dist", None)
    plugin = f"{dist.name}: {point.name}" if dist is not None else point.name
    before = set(MODELS)
    _loading_plugin = plugin
    try:
        target = point.load()
        if isinstance(target, type):
            if getattr(target, "registry_name", None) not in MODELS:
                raise ConfigError(f"{point.value} is a class that is not registered; decorate it with "
                                  "@latentlab.models.registry.register(name, ConfigClass, description)")
        elif callable(target) and not isinstance(target, types.ModuleType):
            target()
        if set(MODELS) == before and not isinstance(target, type):
            log.info("model plugin %s (%s) registered no model family", plugin, point.value)
    except Exception as err:  # noqa: BLE001 - whatever a plugin raises, the built-ins keep working
        for name in set(MODELS) - before:  # all or nothing: none of a failed plugin's families stay
            del MODELS[name]
        _report(plugin, f"model plugin {plugin!r} ({point.value}) failed to load: {_describe(err)}")
    finally:
        _loading_plugin = None


def _describe(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _report(plugin: str, message: str) -> None:
    _plugin_errors[plugin] = message
    log.warning("latentlab: %s", message)


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

