"""Put a `SavedSession` back into the window: model, map, handle, interpolation, chains, Pixels dock,
Compare window.

The model is checked before anything changes: found (or located by the user when it has moved),
readable, latent, and of the latent size the session's codes have; otherwise the window keeps what
it shows and says why. Then the pieces are applied in the order their signals need: the
interpolation before the A → B axes (they are built from its path) and before the handle (its slider
moves the handle), the chains last, resumed from their saved codes at their saved step. What cannot be
restored in full (a colour label the model lacks, a Pixels model that has moved) is listed in the
window's message; the rest is restored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QMainWindow

from latentlab.errors import LatentLabError
from latentlab.explorer import ExplorerSession
from latentlab.explorer.saved_session import (
    AXES,
    ChainSettings,
    CompareSettings,
    InterpolationSettings,
    PixelSettings,
    SavedSession,
    resolve_model,
)
from latentlab.ui.compare.window import SLIDER_MAX, CompareWindow, show_compare_window
from latentlab.ui.pixels.panel import SPEEDS

Locate = Callable[[str], "str | None"]  # the missing model's recorded path -> where it is now, or None


def restore(window: QMainWindow, saved: SavedSession, path: Path, locate: Locate) -> bool:
    """Show `saved` (read from `path`) in `window` (a MainWindow). Returns False, with the reason in the
    window's banner and nothing changed, when its model cannot be found, opened or does not fit."""
    model = resolve_model(saved, path)
    if model is None:
        located = locate(saved.model.path)
        if not located:
            window.show_error(f"{path}: its model {saved.model.path} was not found, so the session was not opened.")
            return False
        model = Path(located).resolve()
    session = _load(window, saved, path, model)
    if session is None:
        return False
    window.adopt_session(session, model)
    notes: list[str] = []
    _apply_map_colours(window, saved, notes)
    _apply_interpolation(window.interpolation, saved.interpolation)
    _apply_axes(window, saved, notes)
    if saved.z is not None:
        window.go_to(saved.z, saved.caption or "restored")
    if 0 <= saved.tab < window.tabs.count():
        window.tabs.setCurrentIndex(saved.tab)
    _apply_chain(window.chain, saved.chain, notes)
    _apply_pixels(window, saved.pixels, notes)
    _apply_compare(window, saved.compare)
    moved = "" if model == Path(saved.model.path) else f" (model found at {model}; save the session to remember it)"
    if notes:
        window.show_error(f"{path.name} restored, except: {'; '.join(notes)}.")
    window.statusBar().showMessage(f"Opened session {path}{moved}")
    return True


def _load(window, saved: SavedSession, path: Path, model: Path) -> ExplorerSession | None:
    """The session's model, loaded and checked against the session's codes (None: the banner says why)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        session = ExplorerSession.from_checkpoint(model)
    except (LatentLabError, OSError) as err:
        window.show_error(f"{path}: its model cannot be opened: {err}")
        return None
    finally:
        QApplication.restoreOverrideCursor()
    if getattr(session.model, "is_autoregressive", False):
        window.show_error(f"{path}: its model {model} is a pixel model, not a latent one; the session was not opened.")
        return None
    try:
        saved.check_latent_dim(session.latent_dim, path, model.name)
    except LatentLabError as err:
        window.show_error(f"{err}. The session was not opened.")
        return None
    return session


def _select(combo: QComboBox, data) -> bool:
    """Choose the entry whose data is `data` when it exists and is enabled; False when it cannot."""
    index = combo.findData(data)
    item = combo.model().item(index) if index >= 0 and hasattr(combo.model(), "item") else None
    if index < 0 or (item is not None and not item.isEnabled()):
        return False
    combo.setCurrentIndex(index)
    return True


def _apply_map_colours(window, saved: SavedSession, notes: list[str]) -> None:
    index = window.colour_combo.findText(saved.map.colour)
    if index < 0:
        notes.append(f"the colour {saved.map.colour!r} (this model's atlas has no such label)")
    else:
        window.colour_combo.setCurrentIndex(index)
        window.colour_combo.activated.emit(index)
    window.gaps_box.setChecked(saved.map.gaps)


def _apply_axes(window, saved: SavedSession, notes: list[str]) -> None:
    index = AXES.index(saved.map.axes)
    if index >= window.axes_combo.count():
        notes.append(f"the axes {saved.map.axes!r} (not offered for this model)")
        return
    window.axes_combo.setCurrentIndex(index)
    window.axes_combo.activated.emit(index)


def _apply_interpolation(panel, settings: InterpolationSettings) -> None:
    _select(panel.mode_combo, settings.mode)
    panel.steps_spin.setValue(settings.steps)
    panel.chain_spin.setValue(settings.chain_steps)
    _select(panel.chain_mode_combo, settings.chain_mode)
    for which, end in enumerate((settings.a, settings.b)):
        if end is not None:
            panel.set_endpoint(which, end.z, end.label)
    panel.slider.setValue(round(settings.t * panel.SLIDER_MAX))


def _apply_chain(panel, settings: ChainSettings, notes: list[str]) -> None:
    panel.chains_spin.setValue(settings.chains)
    panel.seed_spin.setValue(settings.seed)
    _select(panel.mode_combo, settings.mode)
    if not _select(panel.start_combo, settings.start):
        notes.append(f"the chains' start {settings.start!r} (not available for this model)")
    panel.debias_check.setChecked(settings.debias and panel.debias_check.isEnabled())
    panel.speed_slider.setValue(settings.speed)
    panel.fast_check.setChecked(settings.fast)
    panel.pause_spin.setValue(settings.pause_after)
    if settings.codes is not None:
        panel.resume(settings.codes, settings.step)
    else:
        panel.reset()


def _apply_pixels(window, settings: PixelSettings, notes: list[str]) -> None:
    panel, dock = window.pixels, window.pixel_dock
    if settings.model is not None:
        if not Path(settings.model).is_file():
            notes.append(f"the Pixels model {settings.model} (no such file)")
        elif not panel.open_checkpoint(settings.model):
            notes.append(f"the Pixels model ({panel.banner.message})")
    panel.count_spin.setValue(settings.count)
    panel.seed_spin.setValue(settings.seed)
    _select(panel.mode_combo, settings.mode)
    panel.speed_slider.setValue(min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - settings.speed)))
    panel.fast_check.setChecked(settings.fast)
    image = settings.known_image
    if image is not None and panel.model is not None:
        if image.shape == tuple(panel.model.image_shape):
            panel.set_known_image(image, settings.known_caption)
        else:
            notes.append(f"the image to complete ({list(image.shape)}; the Pixels model draws "
                         f"{list(panel.model.image_shape)})")
    panel.task_tabs.setCurrentIndex(1 if settings.task == "complete" else 0)
    panel.rows_slider.setValue(settings.rows)
    areas = Qt.DockWidgetArea
    window.addDockWidget(areas.BottomDockWidgetArea if settings.area == "bottom" else areas.RightDockWidgetArea, dock)
    dock.setVisible(settings.visible)


def _apply_compare(window, settings: CompareSettings) -> None:
    shown = [w for w in window.findChildren(CompareWindow) if w.isVisible()]
    if not settings.open:
        for compare in shown:
            compare.close()
        return
    compare = show_compare_window(window)
    for key in [k for k in compare.columns if k not in settings.models]:
        compare.remove_model(key)
    for model in settings.models:
        compare.add_model(model)  # a refusal (moved, other latent size) shows in the Compare window
    _select(compare.source_combo, settings.source)
    compare.count_spin.setValue(settings.count)
    compare.seed_spin.setValue(settings.seed)
    compare.chain_box.setChecked(settings.chain)
    compare.chain_spin.setValue(settings.chain_steps)
    _select(compare.ends_combo, settings.ends)
    compare.a_spin.setValue(settings.a)
    compare.b_spin.setValue(settings.b)
    compare.path_seed_spin.setValue(settings.path_seed)
    _select(compare.path_mode_combo, settings.path_mode)
    compare.steps_spin.setValue(settings.steps)
    compare.set_mode(settings.mode)
    compare.slider.setValue(round(settings.t * SLIDER_MAX))
