"""`python -m latentlab.ui.screenshots OUT_DIR [CHECKPOINT [PIXEL_CHECKPOINT]]`: the window's states, as PNGs.

launch.png (the default model, a point hovered), drag.png (the handle dragged off the encoded
faces), interpolation.png (two training faces, slerp path, slider half-way), chain.png (16 chains
from prior samples after 8 steps, on the axes where P̂(Z) is narrowest), pixels.png (the Pixels dock
beside the Chain tab: a pixel model two thirds through drawing, with one pixel's receptive field shown;
the first bundled pixel model unless PIXEL_CHECKPOINT is given, skipped when there is none),
compare.png and compare-path.png (the Compare window on the model and the next bundled one with the
same latent size — vae-celeba and dvae-celeba with the bundled models — showing the same 8 prior
samples, then the same slerp path at t = 0.5), compare-all.png (every bundled model with the default's
latent size and image shape on one slerp path at t = 0.5), training.png (a short run on the built-in
synthetic faces, mid-way). Works offscreen and on a real or virtual X display.

`python -m latentlab.ui.screenshots --p-hat OUT_DIR [CHECKPOINT]` takes only the P̂(Z) shots:
p-hat.png (the main window on a draw of the model's P̂(Z), seed 0, with "Random from P̂(Z)" under the
face) and compare-p-hat.png (the Compare window decoding 8 draws of each model's own P̂(Z), seed 0);
`--compare-all OUT_DIR` only compare-all.png; `--nearest OUT_DIR [CHECKPOINT]` only nearest.png (the
Nearest training faces dock on a decoded draw of the model's P̂(Z), seed 0, once its held-out reference
is measured; needs the model's training data on disk for the lower row).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    p_hat_only, compare_all_only, nearest_only = "--p-hat" in argv, "--compare-all" in argv, "--nearest" in argv
    argv = [a for a in argv if a not in ("--p-hat", "--compare-all", "--nearest")]
    if not argv:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from latentlab.resources import bundled_pixel_models, default_model
    from latentlab.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    scratch = Path(tempfile.mkdtemp(prefix="latentlab-shots-"))
    window = MainWindow(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1360, 900)
    window.show()

    def settle(seconds: float = 0.6) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(name: str) -> None:
        settle()
        deadline = time.perf_counter() + 30
        while (window.gap_map_pending or window.hover_pending) and time.perf_counter() < deadline:
            settle(0.05)  # the gap map and the hover preview are made on workers
        window.grab().save(str(out / name))
        print(out / name)

    checkpoint = argv[1] if len(argv) > 1 else default_model()
    if not window.open_checkpoint(checkpoint):
        print(window.banner.message, file=sys.stderr)
        return 1
    settle(1.5)
    if nearest_only:
        nearest_shot(window, settle, shot)
        window.shutdown()
        return 0
    if p_hat_only or compare_all_only:
        (p_hat_shots(window, settle, shot, out) if p_hat_only else compare_all_shot(window, settle, out))
        window.shutdown()
        return 0
    window.map.point_hovered.emit("atlas", 11)
    shot("launch.png")

    x, y = window.map.handle_position()
    for step in range(1, 21):  # a drag, in small moves, towards the prior's empty corner
        window.map.handle.setPos(x - 0.25 * step, y + 0.2 * step)
        settle(0.03)
    shot("drag.png")

    window.map.point_clicked.emit("atlas", 3)
    settle(0.2)
    window.face_panel.a_button.click()
    window.map.point_clicked.emit("atlas", 24)
    settle(0.2)
    window.face_panel.b_button.click()
    window.interpolation.slider.setValue(window.interpolation.slider.maximum() // 2)
    shot("interpolation.png")

    window.axes_combo.setCurrentIndex(2)
    window.axes_combo.activated.emit(2)
    window.tabs.setCurrentIndex(window.chain_tab)
    settle(4.0)  # the chain panel fits P̂(Z) for its gap scores
    for _ in range(8):
        window.chain.step()
        settle(0.5)
    shot("chain.png")
    pixel_checkpoint = argv[2] if len(argv) > 2 else next(iter(bundled_pixel_models()), None)
    if pixel_checkpoint is None:
        print("pixels.png skipped: no pixel model bundled (give one as PIXEL_CHECKPOINT)", file=sys.stderr)
    elif not window.open_checkpoint(pixel_checkpoint):
        print(window.banner.message or window.pixels.banner.message, file=sys.stderr)
    else:
        window.resize(1760, 960)  # the dock takes a third of the width: show it beside a full-size map
        pixel_shot(window, settle)
        shot("pixels.png")
        window.pixels.pause()
        window.pixel_dock.hide()
        window.resize(1360, 900)
    window.axes_combo.setCurrentIndex(0)
    window.axes_combo.activated.emit(0)
    compare_shots(window, settle, out)
    compare_all_shot(window, settle, out)

    panel = window.training
    window.tabs.setCurrentIndex(window.tabs.count() - 1)
    panel.set_dataset_spec("synthetic-faces")
    panel.set_options(model="vae", size=32, latent=16, epochs=3, batch=32, limit=3000, out=str(scratch / "run"),
                      preview_every=20)
    panel.start()
    deadline = time.perf_counter() + 240
    while panel.steps_done < 150 and panel.is_running and time.perf_counter() < deadline:
        settle(0.2)
    shot("training.png")
    panel.cancel()
    window.shutdown()
    return 0


def compare_shots(window, settle, out: Path) -> None:
    """compare.png (the same prior samples) and compare-path.png (the same path), once every map,
    decode and gap score is in."""
    from latentlab.ui.compare.window import show_compare_window

    compare = show_compare_window(window)
    compare.resize(1500, 950)
    deadline = time.perf_counter() + 120

    def wait_ready() -> None:
        while not (compare.maps_ready() and compare.decodes_ready() and compare.densities_ready()) \
                and time.perf_counter() < deadline:
            settle(0.1)
        settle(0.5)

    for name, prepare in (("compare.png", lambda: None),
                          ("compare-path.png", lambda: (compare.set_mode("path"), compare.slider.setValue(500)))):
        prepare()
        wait_ready()
        compare.grab().save(str(out / name))
        print(out / name)
    compare.close()


def nearest_shot(window, settle, shot) -> None:
    """nearest.png: the Nearest training faces dock beside the map, on a draw of P̂(Z) (seed 0)."""
    window.resize(1760, 960)
    window.nearest_dock.toggle_action.trigger()
    window._jump_to_p_hat(seed=0)
    panel = window.nearest_dock.panel
    deadline = time.perf_counter() + 1800  # the held-out reference: seconds alone, minutes on a busy machine

    def ready() -> bool:
        nearest, report = panel.nearest, panel.report
        return (nearest is not None and nearest.prepared and report is not None and not panel.pending
                and (report.verdict is not None or nearest.reference is None)
                and "P̂(Z) sample" in window.face_panel.caption.text())

    while not ready() and time.perf_counter() < deadline:
        settle(0.2)
    shot("nearest.png")


def p_hat_shots(window, settle, shot, out: Path) -> None:
    """p-hat.png: the main window on a draw of P̂(Z) (seed 0); compare-p-hat.png: Compare decoding
    draws of each model's own P̂(Z) (seed 0)."""
    from latentlab.ui.compare.window import show_compare_window

    window._jump_to_p_hat(seed=0)
    deadline = time.perf_counter() + 60
    while "P̂(Z) sample" not in window.face_panel.caption.text() and time.perf_counter() < deadline:
        settle(0.1)
    shot("p-hat.png")
    compare = show_compare_window(window)
    compare.resize(1500, 950)
    compare.source_combo.setCurrentIndex(compare.source_combo.findData("p_hat"))
    deadline = time.perf_counter() + 120
    def own_draws_shown() -> bool:
        return all(c.decodes is not None and c.decodes.codes is not None
                   for c in compare.columns.values() if c.session.atlas_codes is not None)

    while not (compare.maps_ready() and compare.decodes_ready() and compare.densities_ready() and own_draws_shown()) \
            and time.perf_counter() < deadline:
        settle(0.1)
    settle(0.5)
    compare.grab().save(str(out / "compare-p-hat.png"))
    print(out / "compare-p-hat.png")
    compare.close()


def compare_all_shot(window, settle, out: Path) -> None:
    """compare-all.png: every bundled model that can share the default's latent space (same latent size
    and image shape) decoding one slerp path, the slider half-way, once every map and decode is in."""
    from latentlab.checkpoints import load_model
    from latentlab.resources import bundled_models
    from latentlab.ui.compare.window import COLUMN_MIN_WIDTH, CompareWindow

    reference = window.session.model
    paths = []
    for path in bundled_models():
        model = load_model(path)
        if getattr(model, "latent_dim", None) == reference.latent_dim and \
                tuple(model.image_shape) == tuple(reference.image_shape) and not getattr(model, "is_autoregressive", False):
            paths.append(path)
    compare = CompareWindow(window)
    for path in paths:
        compare.add_candidate(path, f"{path.stem} (bundled)")
    compare.add_default_models(paths, want=len(paths))
    compare.resize(max(1500, (COLUMN_MIN_WIDTH + 12) * len(paths) + 330), 980)  # sidebar + every column
    compare.show()
    compare.set_mode("path")
    compare.slider.setValue(500)
    deadline = time.perf_counter() + 180
    while not (compare.maps_ready() and compare.decodes_ready() and compare.densities_ready()) \
            and time.perf_counter() < deadline:
        settle(0.1)
    settle(0.5)
    compare.grab().save(str(out / "compare-all.png"))
    print(out / "compare-all.png")
    compare.shutdown(wait=1.0)
    compare.close()


def pixel_shot(window, settle) -> None:
    """The Pixels dock mid-way: drawing at full speed until two thirds are drawn, then paused, with the
    receptive field of the pixel being drawn shown on the first image."""
    panel = window.pixels
    panel.fast_check.setChecked(True)
    panel.reset()
    panel.play()
    deadline = time.perf_counter() + 120
    while panel.done < 2 * panel.total // 3 and panel.is_playing and time.perf_counter() < deadline:
        settle(0.05)
    panel.pause()
    settle(0.3)
    _, width = panel.images.shape[2:4]
    row, col = divmod(panel.done // panel.images.shape[1], width)
    panel.show_receptive_field(0, row, col)
    deadline = time.perf_counter() + 30
    while not panel.field_shown and time.perf_counter() < deadline:
        settle(0.05)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
