"""A scroll area whose panel is built when it is first shown or first asked for.

The main window's Train tab and Pixels dock are not on screen at launch; building them (their plots,
forms and image views) would delay the first paint for nothing (`python -m latentlab.bench launch`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QScrollArea, QWidget

PanelT = TypeVar("PanelT", bound=QWidget)


class LazyScrollArea(QScrollArea, Generic[PanelT]):
    """Holds the panel `build()` makes; `panel()` builds it on the first call (or the first show) and
    returns the same panel afterwards. `built` tells whether it exists without building it."""

    def __init__(self, build: Callable[[], PanelT], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build, self._panel = build, None
        self.setWidgetResizable(True)  # scrolling keeps a panel's minimum width from squeezing the map
        self.setFrameShape(QScrollArea.Shape.NoFrame)

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
