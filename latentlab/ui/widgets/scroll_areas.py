"""Scroll areas for the window's panels: frameless and resizing their panel, so that a panel's minimum
width scrolls instead of squeezing the latent map. `LazyScrollArea` builds its panel when it is first
shown or asked for: the main window's Train tab and Pixels dock are not on screen at launch, and
building them (their plots, forms and image views) would delay the first paint for nothing
(`python -m latentlab.bench launch`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QScrollArea, QWidget

PanelT = TypeVar("PanelT", bound=QWidget)


def _configure(area: QScrollArea) -> None:
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)


def scroll_area(panel: QWidget) -> QScrollArea:
    """`panel` in a frameless scroll area that resizes it."""
    area = QScrollArea()
    _configure(area)
    area.setWidget(panel)
    return area


class LazyScrollArea(QScrollArea, Generic[PanelT]):
    """A `scroll_area` for the panel `build()` makes; `panel()` builds it on the first call (or the
    first show) and returns the same panel afterwards. `built` tells whether it exists without
    building it."""

    def __init__(self, build: Callable[[], PanelT], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build, self._panel = build, None
        _configure(self)

    @property
    def built(self) -> bool:
        return self._panel is not None

    def panel(self) -> PanelT:
        if self._panel is None:
            self._panel = self._build()
            self.setWidget(self._panel)
        return self._panel

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.panel()
        super().showEvent(event)
