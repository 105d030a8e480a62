"""Saved sessions in the real window (pytest-qt): every piece set through the widgets, saved with File →
Save session, and restored in a fresh process by `latentlab SESSION` (tests/session_probe.py); a moved
model located through the file dialog; bad sessions answered in the banner with the window unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_tiny_bundle
from PySide6.QtCore import QSettings, Qt

from latentlab.checkpoints import save_model
from latentlab.data import load_dataset
from latentlab.explorer.directions import AttributeDirection
from latentlab.explorer.saved_session import arrays_path, read_session, write_session
from latentlab.models import build_model
from latentlab.ui.compare.window import show_compare_window
from latentlab.ui.main_window import MainWindow
from latentlab.ui.sessions import files as session_files

PROBE = Path(__file__).with_name("session_probe.py")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two latent models with the same latent size (Compare), one with another size, one pixel model."""
    root = tmp_path_factory.mktemp("session-models")
    folders = {name: root / name for name in ("a", "b", "wide", "pixels")}
    for folder in folders.values():
        folder.mkdir()
    torch.manual_seed(0)
    pixel = build_model("pixelcnn", {"hidden_channels": 8, "num_layers": 3, "first_kernel": 3,
                                     "image_shape": [1, 8, 8]}).eval()
    dataset = load_dataset("synthetic-faces?size=8&channels=1&n=60", split="train", limit=10)
    return {"a": make_tiny_bundle(folders["a"], latent_dim=6, atlas_size=60, faces=200),
            "b": make_tiny_bundle(folders["b"], latent_dim=6, atlas_size=40, faces=200),
            "wide": make_tiny_bundle(folders["wide"], latent_dim=9, atlas_size=40, faces=200),
            "pixels": save_model(folders["pixels"] / "pixelcnn.ckpt", pixel, dataset=dataset.describe(),
                                 preprocessing=dataset.preprocessing)}


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.chain.worker_threads = win.pixels.worker_threads = 1
    win.show()
    yield win
    win.shutdown()


def settle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.face_panel.current_image is not None and not window.gap_map_pending, timeout=20000)


def set_every_piece(qtbot, window, models) -> dict:
    """Drive the widgets as a user would; returns what was set."""
    assert window.open_checkpoint(models["a"])
    settle(qtbot, window)
    window.colour_combo.setCurrentIndex(2)
    window.colour_combo.activated.emit(2)
    window.gaps_box.setChecked(False)
    for index, button in ((3, window.face_panel.a_button), (24, window.face_panel.b_button)):
        window.map.point_clicked.emit("atlas", index)
        button.click()
    panel = window.interpolation
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("linear"))
    panel.steps_spin.setValue(7)
    panel.chain_spin.setValue(2)
    panel.chain_mode_combo.setCurrentIndex(panel.chain_mode_combo.findData("stochastic"))
    panel.slider.setValue(300)
    window.axes_combo.setCurrentIndex(1)
    window.axes_combo.activated.emit(1)
    x, y = window.map.handle_position()
    window.map.handle.setPos(x + 1.5, y - 0.5)  # a drag
    qtbot.waitUntil(lambda: window.current_caption == "dragged", timeout=5000)

    chain = window.chain
    window.tabs.setCurrentIndex(window.chain_tab)
    chain.chains_spin.setValue(5)
    chain.seed_spin.setValue(3)
    chain.mode_combo.setCurrentIndex(chain.mode_combo.findData("stochastic"))
    chain.start_combo.setCurrentIndex(chain.start_combo.findData("current"))
    chain.speed_slider.setValue(12)
    chain.pause_spin.setValue(20)
    chain.reset()
    for steps in (1, 2, 3):
        chain.step()
        qtbot.waitUntil(lambda s=steps: chain.step_count == s, timeout=20000)

    pixels = window.pixels
    assert window.open_checkpoint(models["pixels"])  # routed to the Pixels dock
    pixels.count_spin.setValue(2)
    pixels.seed_spin.setValue(5)
    pixels.mode_combo.setCurrentIndex(pixels.mode_combo.findData("cached"))
    known = np.arange(64, dtype=np.uint8).reshape(1, 8, 8) * 3
    pixels.set_known_image(known, "stripes.png")
    pixels.rows_slider.setValue(3)
    pixels.speed_slider.setValue(4)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.pixel_dock)

    compare = show_compare_window(window)
    compare.add_model(models["b"])
    qtbot.waitUntil(lambda: len(compare.columns) == 2, timeout=20000)
    compare.count_spin.setValue(5)
    compare.seed_spin.setValue(11)
    compare.path_mode_combo.setCurrentIndex(compare.path_mode_combo.findData("linear"))
    compare.steps_spin.setValue(12)
    compare.set_mode("path")
    window.directions.replace_directions([AttributeDirection("smile", np.linspace(-1, 1, 6).astype(np.float32),
                                                             {"attribute": "smile", "method": "mean difference"})])
    return {"known": known, "compared": sorted(str(Path(m).resolve()) for m in (models["a"], models["b"]))}


def run_probe(session: Path, home: Path) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(PROBE), str(session)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh process restoring five views: about a minute on a quiet machine
def test_every_piece_is_restored_by_latentlab_session_in_a_fresh_process(qtbot, window, models, tmp_path):
    expected = set_every_piece(qtbot, window, models)
    path = window.session_files.save(tmp_path / "work" / "my")
    assert path == (tmp_path / "work" / "my.llsession").resolve() and arrays_path(path).is_file()
    saved = read_session(path)
    window.shutdown()

    state = run_probe(path, tmp_path / "home")
    got, shown = state["captured"], state["shown"]
    assert shown["banner"] == "" and shown["face"]
    assert got["model"]["path"] == str(Path(models["a"]).resolve())
    assert got["map"] == {"axes": "a_to_b", "colour": saved.map.colour, "gaps": False}
    assert saved.map.colour not in ("", "single colour") and shown["axes"].startswith("A → B")
    np.testing.assert_allclose(got["z"]["values"], saved.z, atol=1e-6)
    assert got["caption"] == "dragged"
    ends = got["interpolation"]
    np.testing.assert_allclose(ends["a"]["z"]["values"], saved.interpolation.a.z)
    np.testing.assert_allclose(ends["b"]["z"]["values"], saved.interpolation.b.z)
    assert (ends["a"]["label"], ends["b"]["label"]) == ("training face #3", "training face #24")
    assert {k: ends[k] for k in ("mode", "steps", "chain_steps", "chain_mode", "t")} == {
        "mode": "linear", "steps": 7, "chain_steps": 2, "chain_mode": "stochastic", "t": 0.3}
    chain = got["chain"]
    assert {k: chain[k] for k in ("chains", "seed", "start", "mode", "speed", "fast", "pause_after", "step")} == {
        "chains": 5, "seed": 3, "start": "current", "mode": "stochastic", "speed": 12, "fast": False,
        "pause_after": 20, "step": 3}
    np.testing.assert_allclose(chain["codes"]["values"], saved.chain.codes, atol=1e-6)
    assert shown["chain_step"] == 3 and got["tab"] == 1
    pixels = got["pixels"]
    assert pixels["visible"] and shown["pixel_dock_visible"] and pixels["area"] == "bottom"
    assert pixels["model"] == str(Path(models["pixels"]).resolve())
    assert {k: pixels[k] for k in ("count", "seed", "mode", "task", "rows", "known_caption", "speed")} == {
        "count": 2, "seed": 5, "mode": "cached", "task": "complete", "rows": 3, "known_caption": "stripes.png",
        "speed": 20}
    assert pixels["known_image"] == {"dtype": "uint8", "values": expected["known"].tolist()}
    compare = got["compare"]
    assert compare["open"] and sorted(compare["models"]) == expected["compared"] == sorted(shown["compare_columns"])
    assert {k: compare[k] for k in ("mode", "count", "seed", "path_mode", "steps")} == {
        "mode": "path", "count": 5, "seed": 11, "path_mode": "linear", "steps": 12}
    assert [(d["name"], d["origin"]) for d in got["directions"]] == [
        ("smile", {"attribute": "smile", "method": "mean difference"})]
    np.testing.assert_allclose(got["directions"][0]["vector"]["values"], np.linspace(-1, 1, 6), atol=1e-6)
    assert shown["direction_names"] == ["smile"]  # back in the Directions tab
    assert shown["recent_sessions"] == [str(path)]


def test_a_moved_model_is_located_through_the_file_dialog_and_the_rest_restored(qtbot, window, models, tmp_path,
                                                                                 monkeypatch):
    assert window.open_checkpoint(models["b"])
    settle(qtbot, window)
    window.map.point_clicked.emit("atlas", 7)
    path = window.session_files.save(tmp_path / "moved.llsession")
    z = window.current_z.copy()
    saved = read_session(path)
    saved.model.path, saved.model.relative = str(tmp_path / "gone" / "tiny.ckpt"), None
    write_session(saved, path)
    asked = []

    def dialog(parent, title, folder, filters):
        asked.append(title)
        return str(models["b"]), filters

    monkeypatch.setattr(session_files.QFileDialog, "getOpenFileName", dialog)
    window.open_checkpoint(models["a"])
    assert window.session_files.open(path)
    assert asked and "tiny.ckpt has moved" in asked[0]
    assert window.session.path == Path(models["b"]).resolve()
    np.testing.assert_array_equal(window.current_z, z)
    assert "model found at" in window.statusBar().currentMessage()


def test_declining_to_locate_the_model_leaves_the_window_as_it_was(qtbot, window, models, tmp_path, monkeypatch):
    assert window.open_checkpoint(models["a"])
    settle(qtbot, window)
    path = window.session_files.save(tmp_path / "declined")
    saved = read_session(path)
    saved.model.path, saved.model.relative = "/nowhere/model.ckpt", None
    write_session(saved, path)
    monkeypatch.setattr(session_files.QFileDialog, "getOpenFileName", lambda *a: ("", ""))
    before = window.session
    assert not window.session_files.open(path)
    assert window.session is before
    assert "declined.llsession: its model /nowhere/model.ckpt was not found" in window.banner.message


def test_codes_of_another_latent_size_are_refused_naming_the_session(qtbot, window, models, tmp_path):
    assert window.open_checkpoint(models["a"])
    settle(qtbot, window)
    path = window.session_files.save(tmp_path / "six")
    saved = read_session(path)
    saved.model.path, saved.model.relative = str(Path(models["wide"]).resolve()), None
    saved.latent_dim = 6
    write_session(saved, path)
    before = window.session
    assert not window.session_files.open(path)
    assert window.session is before
    message = window.banner.message
    assert "six.llsession" in message and "latent space of 9 values" in message and "shape [6]" in message


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_text("not json"), "JSON error"),
    (lambda p: p.write_text(json.dumps({"format": "latentlab-session", "version": 99})), "newer LatentLab"),
    (lambda p: arrays_path(p).unlink(), "is missing"),
])
def test_a_bad_session_file_is_answered_in_the_banner(qtbot, window, models, tmp_path, damage, words):
    assert window.open_checkpoint(models["a"])
    settle(qtbot, window)
    path = window.session_files.save(tmp_path / "bad")
    damage(path)
    before = window.session
    assert not window.session_files.open(path)
    assert window.session is before and "bad.llsession" in window.banner.message and words in window.banner.message


def test_saving_without_a_model_says_so(window, tmp_path):
    assert window.session_files.save(tmp_path / "empty") is None
    assert "no model open" in window.banner.message and not (tmp_path / "empty.llsession").exists()


def test_save_and_open_through_the_file_menu_and_recent_sessions(qtbot, window, models, tmp_path, monkeypatch):
    assert window.open_checkpoint(models["a"])
    settle(qtbot, window)
    window.map.point_clicked.emit("atlas", 5)
    target = tmp_path / "menu"
    monkeypatch.setattr(session_files.QFileDialog, "getSaveFileName", lambda *a: (str(target), ""))
    actions = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    actions["Sa&ve session…"].trigger()
    saved_path = (tmp_path / "menu.llsession").resolve()
    assert saved_path.is_file()
    recent = window.session_files.recent_menu.actions()
    assert [a.text() for a in recent] == [str(saved_path)]
    z = window.current_z.copy()
    window.map.point_clicked.emit("atlas", 9)
    recent[0].trigger()
    np.testing.assert_array_equal(window.current_z, z)
