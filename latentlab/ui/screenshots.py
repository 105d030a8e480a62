"""`python -m latentlab.ui.screenshots OUT_DIR [CHECKPOINT [PIXEL_CHECKPOINT]]`: the window's states, as PNGs.

launch.png (the default model, a point hovered), drag.png (the handle dragged off the encoded
faces), interpolation.png (two training faces, slerp path, slider half-way), chain.png (16 chains
from prior samples on the model's measured default setting, played until it pauses after its measured
step count — 8 steps for a model without one — on the axes where P̂(Z) is narrowest), pixels.png (the Pixels dock
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
`--compare-all OUT_DIR` only compare-all.png.

`python -m latentlab.ui.screenshots --scale OUT_DIR [CHECKPOINT]` takes the latent map alone of a model
with its own atlas and with that atlas grown to 200,000 codes (`latentlab.bundle.grow_atlas`, in a
temporary folder): map-3k.png, map-200k.png (the shaded density) and map-200k-colour.png (coloured by
the first label, each bin its mean); CHECKPOINT defaults to the bundled vae-synthetic.
`--session OUT_DIR [CHECKPOINT]` takes only session-restored.png (a
session saved with A/B set, the A → B axes, a colour label if the model has one and 16 chains 6 steps
from prior samples, then opened in a fresh window).
`python -m latentlab.ui.screenshots --walk OUT_DIR [CHECKPOINT] [--gif PATH]` records a drag of the
handle once round an ellipse on the map (1.5 standard deviations of the encoded faces
across; Record, 60 moves), exports it through the Record menu's
export job as a looping GIF (15 frames/s, one face per frame, twice the model's size) to PATH
(default OUT_DIR/walk.gif), and takes export-dialog.png (the export dialog for that recording).
`--directions OUT_DIR [CHECKPOINT]` only directions.png
(the bundled vae-synthetic unless CHECKPOINT is given: a "glasses" direction from the label, the map's
x axis along it and coloured by glasses, a face moved by t = 2, four faces Ctrl+clicked into groups).
`--nearest OUT_DIR [CHECKPOINT]` only nearest.png (the
Nearest training faces dock on a decoded draw of the model's P̂(Z), seed 0, once its held-out reference
is measured; needs the model's training data on disk for the lower row).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


MODES = ("--p-hat", "--compare-all", "--scale", "--session", "--walk", "--directions", "--nearest")


def main(argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    unknown = [a for i, a in enumerate(argv)
               if a.startswith("-") and a not in MODES and a != "--gif" and not (i and argv[i - 1] == "--gif")]
    if unknown:
        print(f"unknown option {unknown[0]!r} (known: {', '.join(MODES)}, --gif PATH, --help)", file=sys.stderr)
        return 2
    modes = {a for a in argv if a in MODES}
    gif = None
    if "--gif" in argv:
        at = argv.index("--gif")
        gif = Path(argv[at + 1]) if at + 1 < len(argv) else None
        argv = argv[:at] + argv[at + 2:]
    argv = [a for a in argv if a not in MODES]
    if not argv:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    # The run's settings, its training run and any grown atlas go to a folder removed afterwards (tens
    # of MB with --scale); a worker still closing a file must not turn the shots into a failure.
    with tempfile.TemporaryDirectory(prefix="latentlab-shots-", ignore_cleanup_errors=True) as folder:
        return take_shots(app, out, Path(folder), argv, modes, gif)


def take_shots(app, out: Path, scratch: Path, argv: list[str], modes: set[str], gif: Path | None) -> int:
    """The shots that `modes` (a subset of MODES; empty for the full set) ask for, into `out`;
    settings and intermediate files into `scratch`."""
    from PySide6.QtCore import QSettings

    from latentlab.resources import bundled_pixel_models, default_model
    from latentlab.ui.main_window import MainWindow

    p_hat_only, compare_all_only, scale_only = "--p-hat" in modes, "--compare-all" in modes, "--scale" in modes
    session_only, walk_only, directions_only = "--session" in modes, "--walk" in modes, "--directions" in modes
    nearest_only = "--nearest" in modes
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

    if scale_only:
        return scale_shots(window, settle, out, scratch, argv[1] if len(argv) > 1 else None)
    if directions_only and len(argv) < 2:
        from latentlab.resources import bundled_models

        argv.append(next(str(p) for p in bundled_models() if p.stem == "vae-synthetic"))
    checkpoint = argv[1] if len(argv) > 1 else default_model()
    if not window.open_checkpoint(checkpoint):
        print(window.banner.message, file=sys.stderr)
        return 1
    settle(1.5)
    if nearest_only:
        nearest_shot(window, settle, shot)
        window.shutdown()
        return 0
    if directions_only:
        directions_shot(window, settle, shot)
        window.shutdown()
        return 0
    if session_only:
        return session_shot(window, settle, out, scratch)
    if walk_only:
        walk_shots(window, settle, out, gif or out / "walk.gif")
        window.shutdown()
        return 0
    if p_hat_only or compare_all_only:
        (p_hat_shots(window, settle, shot, out) if p_hat_only else compare_all_shot(window, settle, out))
        window.shutdown()
        return 0
    window.map.point_hovered.emit("atlas", 11)
    shot("launch.png")

    x, y = window.map.handle_position()
    (left, right), (bottom, top) = window.map.plot.getViewBox().viewRange()
    # a drag, in small moves, towards the prior's empty upper-left corner, ending well inside the view
    to_x, to_y = left + 0.18 * (right - left), top - 0.22 * (top - bottom)
    for step in range(1, 21):
        window.map.handle.setPos(x + (to_x - x) * step / 20, y + (to_y - y) * step / 20)
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
    chain = window.chain
    if chain.pause_spin.value():  # the model's measured default: Play runs until it pauses by itself
        chain.speed_slider.setValue(4)
        chain.play()
        deadline = time.perf_counter() + 120
        while chain.is_playing and time.perf_counter() < deadline:
            settle(0.2)
    else:
        for _ in range(8):
            chain.step()
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


def scale_shots(window, settle, out: Path, scratch: Path, checkpoint: str | None) -> int:
    """map-3k.png, map-200k.png, map-200k-colour.png: the map of a model's own atlas and of that atlas
    grown to 200,000 codes, once the gap map is in."""
    from latentlab.bundle import grow_atlas
    from latentlab.resources import bundled_models

    source = checkpoint or next((str(p) for p in bundled_models() if p.stem == "vae-synthetic"), None)
    if source is None:
        print("no CHECKPOINT given and vae-synthetic is not bundled", file=sys.stderr)
        return 1
    grown = grow_atlas(source, scratch / "atlas-200k.ckpt", 200_000)
    window.resize(1200, 780)

    def map_shot(name: str) -> None:
        settle(0.5)
        deadline = time.perf_counter() + 120
        while window.gap_map_pending and time.perf_counter() < deadline:
            settle(0.05)
        settle(0.3)
        window.map.plot.grab().save(str(out / name))
        print(out / name)

    for path, name in ((source, "map-3k.png"), (grown, "map-200k.png")):
        if not window.open_checkpoint(path):
            print(window.banner.message, file=sys.stderr)
            return 1
        map_shot(name)
    if window.colour_combo.count() > 1:
        window.colour_combo.setCurrentIndex(1)
        window.colour_combo.activated.emit(1)
        map_shot("map-200k-colour.png")
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


def directions_shot(window, settle, shot) -> None:
    """directions.png: see the module docstring."""
    from PySide6.QtCore import Qt

    panel = window.directions
    window.tabs.setCurrentIndex(window.tabs.indexOf(panel.parentWidget().parentWidget()))
    panel.from_label.setChecked(True)
    panel.label_combo.setCurrentText("glasses")
    panel.create_direction()
    deadline = time.perf_counter() + 120
    while not panel.directions and time.perf_counter() < deadline:
        settle(0.1)
    window.colour_combo.setCurrentText("glasses")
    index = window.axes_combo.findText("glasses", flags=Qt.MatchFlag.MatchContains)
    window.axes_combo.setCurrentIndex(index)
    window.axes_combo.activated.emit(index)
    panel.group_a.setChecked(True)
    for i in (0, 1):
        panel.toggle_face("atlas", i)
    panel.group_b.setChecked(True)
    for i in (2, 7):
        panel.toggle_face("atlas", i)
    window.map.point_clicked.emit("atlas", 6)
    settle(0.3)
    panel.list.setCurrentRow(0)
    panel.slider.setValue(200)
    shot("directions.png")


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


def session_shot(window, settle, out: Path, scratch: Path) -> int:
    """session-restored.png: a session saved from `window` and opened in a fresh window (as
    `latentlab SESSION` does), once its face, gap map and chains are back."""
    from PySide6.QtCore import QSettings

    from latentlab.ui.main_window import MainWindow

    for index, button in ((3, window.face_panel.a_button), (24, window.face_panel.b_button)):
        window.map.point_clicked.emit("atlas", index)
        settle(0.2)
        button.click()
    window.interpolation.slider.setValue(window.interpolation.slider.maximum() // 2)
    window.axes_combo.setCurrentIndex(1)
    window.axes_combo.activated.emit(1)
    if window.colour_combo.count() > 1:
        window.colour_combo.setCurrentIndex(1)
        window.colour_combo.activated.emit(1)
    window.tabs.setCurrentIndex(window.chain_tab)
    window.chain.start_combo.setCurrentIndex(window.chain.start_combo.findData("prior"))
    window.chain.reset()
    deadline = time.perf_counter() + 600  # the first steps wait for the P̂(Z) fit of the gap scores
    for step in range(1, 7):
        window.chain.step()
        while window.chain.step_count < step and time.perf_counter() < deadline:
            settle(0.1)
    path = window.session_files.save(scratch / "session")
    window.shutdown()
    window.close()
    if path is None:
        print(window.banner.message, file=sys.stderr)
        return 1
    fresh = MainWindow(QSettings(str(scratch / "fresh.ini"), QSettings.Format.IniFormat))
    fresh.resize(1360, 900)
    fresh.show()
    if not fresh.session_files.open(path):
        print(fresh.banner.message, file=sys.stderr)
        return 1
    deadline = time.perf_counter() + 120
    while (fresh.gap_map_pending or fresh.chain.step_count < 6) and time.perf_counter() < deadline:
        settle(0.1)
    settle(1.0)
    fresh.grab().save(str(out / "session-restored.png"))
    print(out / "session-restored.png")
    fresh.shutdown()
    return 0


def walk_shots(window, settle, out: Path, gif: Path) -> None:
    """walk.gif: a recorded drag once round a circle about the first face, exported by the Record menu's
    job; export-dialog.png: the export dialog of that recording."""
    import math

    from latentlab.explorer.recording import AnimationSettings
    from latentlab.ui.recording.dialog import AnimationDialog

    recorder = window.recorder
    x0, y0 = window.map.handle_position()
    spread = window.projection.project(window.session.atlas_codes).std(axis=0)
    moves = 60

    def move_to(x: float, y: float) -> None:
        shown = window.face_panel.last_shown_at
        window.map.handle.setPos(x, y)
        deadline = time.perf_counter() + 5
        while window.face_panel.last_shown_at == shown and time.perf_counter() < deadline:
            settle(0.01)

    move_to(x0 + 1.5 * spread[0], y0)  # the circle (1.5 standard deviations of the faces across) starts east
    recorder.start()
    for step in range(1, moves + 1):
        angle = 2 * math.pi * step / moves
        move_to(x0 + 1.5 * spread[0] * math.cos(angle), y0 + 1.5 * spread[1] * math.sin(angle))
    recorder.stop()
    recording = recorder.recording
    dialog = AnimationDialog("recording", len(recording), recording.images[0].shape, recording.seconds, window)
    dialog.timing_combo.setCurrentIndex(1)  # one face per frame: the same file on any machine's speed
    dialog.scale_spin.setValue(2)  # 128 x 128 for a 64x64 model: under 1 MB for the README
    dialog.show()
    settle(0.3)
    dialog.grab().save(str(out / "export-dialog.png"))
    print(out / "export-dialog.png")
    settings = AnimationSettings(gif, fps=dialog.fps, scale=dialog.scale, real_time=dialog.real_time)
    dialog.close()
    images = recording.frames()[-moves:]  # one face per move (the first, at the start, is the last too)
    recorder.start_export(settings, images=images)
    deadline = time.perf_counter() + 120
    while recorder.exporting and time.perf_counter() < deadline:
        settle(0.1)
    print(gif, f"{len(images)} frames, {gif.stat().st_size / 1024:.0f} KiB")


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
