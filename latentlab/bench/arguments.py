"""Command-line argument types the benches share (argparse `type=` callables)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence


def _items(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated list."""
    return [item.strip() for item in text.split(",") if item.strip()]


def choice_list(choices: Sequence[str], what: str) -> Callable[[str], list[str]]:
    """A `type` for ``--OPTION a,b,c``: a non-empty comma-separated list, every item one of `choices`
    (order kept); otherwise ``argparse.ArgumentTypeError("<what> must be among ..., got '...'")``."""
    allowed = tuple(choices)

    def parse(text: str) -> list[str]:
        items = _items(text)
        if not items or any(item not in allowed for item in items):
            raise argparse.ArgumentTypeError(f"{what} must be among {', '.join(allowed)}, got {text!r}")
        return items

    return parse


def non_negative_ints(text: str) -> list[int]:
    """A `type` for ``--OPTION 0,1,2``: a non-empty comma-separated list of integers >= 0."""
    try:
        values = [int(item) for item in _items(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return values


def positive_int(text: str) -> int:
    """A `type` for ``--OPTION 30``: one integer >= 1 (a count of moves, repeats, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text!r}")
    return value


def checkpoint_path(given: str | None) -> str:
    """A bench's ``--checkpoint``: `given`, or else the bundled default model's path. LatentLabError
    when neither is there."""
    from latentlab.errors import LatentLabError
    from latentlab.resources import default_model

    path = given or default_model()
    if path is None:
        raise LatentLabError("no checkpoint given and no bundled model found")
    return str(path)


def open_session(given: str | None):
    """An `ExplorerSession` on `checkpoint_path(given)`, or None once the reason (the file and the
    problem) is printed to standard error: what a bench reports before it exits with status 2."""
    import sys

    from latentlab.errors import LatentLabError
    from latentlab.explorer.session import ExplorerSession

    try:
        return ExplorerSession.from_checkpoint(checkpoint_path(given))
    except LatentLabError as err:
        print(err, file=sys.stderr)
        return None


def number_list(text: str) -> list[float]:
    """A `type` for ``--OPTION 0.5,1,2``: a non-empty comma-separated list of finite numbers."""
    try:
        values = [float(item) for item in _items(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


__all__ = ["checkpoint_path", "choice_list", "non_negative_ints", "number_list", "open_session", "positive_int"]
