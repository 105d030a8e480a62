"""Benchmarks: `python -m latentlab.bench NAME`. Each prints figures measured side by side in one run."""

from __future__ import annotations

import os


def offscreen_without_display() -> None:
    """Qt's offscreen platform when no display is there (a bench needs none: it runs in CI too); a
    display, or a platform the user chose, is left alone."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
