"""Gather what the window shows into a `SavedSession` (the widgets' own state, read, never changed)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from latentlab.errors import SessionError
from latentlab.explorer.directions import AttributeDirection
from latentlab.explorer.saved_session import (
    AXES,
    ChainSettings,
    CompareSettings,
    Endpoint,
    InterpolationSettings,
    MapSettings,
    ModelFile,
    PixelSettings,
    SavedSession,
)
from latentlab.ui.compare.window import CompareWindow
from latentlab.ui.pixels.panel import SPEEDS


def capture(window: QMainWindow, directions: list[AttributeDirection] | None = None) -> SavedSession:
    """The session `window` (a MainWindow) shows now, with `directions` carried along. SessionError when
    there is nothing to save: no model, or a model that is not in a file."""
    session = window.session
    if session is None:
        raise SessionError("There is no model open: open one before saving a session.")
    if session.path is None:
        raise SessionError(f"{session.name} was not opened from a file, so a session cannot refer to it; "
                           "save the model as a checkpoint first.")
    return SavedSession(
        model=ModelFile(str(session.path)), latent_dim=session.latent_dim,
        z=None if window.current_z is None else window.current_z.copy(), caption=window.current_caption,
        map=MapSettings(axes=AXES[max(0, window.axes_combo.currentIndex())], colour=window.colour_combo.currentText(),
                        gaps=window.gaps_box.isChecked()),
        interpolation=_interpolation(window.interpolation), chain=_chain(window.chain),
        pixels=_pixels(window), compare=_compare(window), tab=window.tabs.currentIndex(),
        directions=[d for d in directions or [] if d.vector.shape == (session.latent_dim,)])


def _interpolation(panel) -> InterpolationSettings:
    a, b = (panel.endpoint(which) for which in (0, 1))
    return InterpolationSettings(a=None if a is None else Endpoint(*a), b=None if b is None else Endpoint(*b),
                                 mode=panel.mode, steps=panel.steps, chain_steps=panel.chain_spin.value(),
                                 chain_mode=panel.chain_mode, t=panel.current_t())


def _chain(panel) -> ChainSettings:
    codes = panel.latest_codes
    return ChainSettings(chains=panel.chains_spin.value(), seed=panel.seed_spin.value(),
                         start=panel.start_combo.currentData(), mode=panel.mode_combo.currentData(),
                         debias=panel.debias_check.isChecked(), speed=panel.speed_slider.value(),
                         fast=panel.fast_check.isChecked(), pause_after=panel.pause_spin.value(),
                         codes=None if codes is None else codes.copy(),
                         step=panel.step_count if codes is not None else 0)


def _pixels(window) -> PixelSettings:
    panel = window.pixels
    known = panel.known_image
    bottom = window.dockWidgetArea(window.pixel_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    return PixelSettings(visible=not window.pixel_dock.isHidden(), area="bottom" if bottom else "right",
                         model=None if panel.model_path is None else str(panel.model_path),
                         count=panel.count_spin.value(), seed=panel.seed_spin.value(),
                         mode=panel.mode_combo.currentData(),
                         task="complete" if panel.task_tabs.currentIndex() == 1 else "generate",
                         rows=panel.rows_slider.value(), known_image=None if known is None else known[0],
                         known_caption="" if known is None else known[1],
                         speed=SPEEDS[panel.speed_slider.value()], fast=panel.fast_check.isChecked())


def _compare(window) -> CompareSettings:
    shown = [w for w in window.findChildren(CompareWindow) if w.isVisible()]
    if not shown:
        return CompareSettings(open=False)
    compare = shown[0]
    return CompareSettings(
        open=True, models=list(compare.columns), mode=compare.mode, count=compare.count_spin.value(),
        seed=compare.seed_spin.value(), source=compare.source_combo.currentData(),
        chain=compare.chain_box.isChecked(), chain_steps=compare.chain_spin.value(),
        ends=compare.ends_combo.currentData(), a=compare.a_spin.value(), b=compare.b_spin.value(),
        path_seed=compare.path_seed_spin.value(), path_mode=compare.path_mode_combo.currentData(),
        steps=compare.steps_spin.value(), t=compare.current_t())
