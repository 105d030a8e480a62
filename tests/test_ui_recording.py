"""Record and export walks in the real window (pytest-qt): a drag recorded through the map's signals,
exports through the dialog (its answers monkeypatched), cancel, and bad input answered in the banner."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import open_main_window
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QPushButton

import latentlab.ui.recording.controller as controller_module
from latentlab.errors import ExportError
from latentlab.ui.recording import dialog as dialog_module
from latentlab.ui.recording.dialog import AnimationDialog

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="MP4 export needs imageio-ffmpeg (a dependency)")


@pytest.fixture
def window(qtbot, tmp_path, tiny_checkpoint):
    win = open_main_window(qtbot, tmp_path, tiny_checkpoint)
    yield win
    win.shutdown()


def answer_dialog(monkeypatch, path: Path, **answers) -> list[AnimationDialog]:
    """The export dialog accepts with `answers` (format=".mp4", fps, scale, frames, bounce, real_time) set
    on its real widgets, and the save dialog returns `path`. Returns the dialogs shown."""
    shown = []

    def exec_(dialog):
        shown.append(dialog)
        if "format" in answers:
            dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(answers["format"]))
        for name, spin in (("fps", dialog.fps_spin), ("scale", dialog.scale_spin), ("frames", dialog.frames_spin)):
            if name in answers:
                spin.setValue(answers[name])
        if "bounce" in answers:
            dialog.bounce_check.setChecked(answers["bounce"])
        if "real_time" in answers:
            dialog.timing_combo.setCurrentIndex(dialog.timing_combo.findData(answers["real_time"]))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnimationDialog, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    return shown


def drag(qtbot, window, moves: int) -> None:
    """Move the handle as a mouse drag does (the TargetItem's position), waiting for each face."""
    x, y = window.map.handle_position()
    for step in range(1, moves + 1):
        shown = window.face_panel.last_shown_at
        window.map.handle.setPos(x + 0.3 * step, y - 0.2 * step)
        qtbot.waitUntil(lambda: window.face_panel.last_shown_at > shown, timeout=5000)


def wait_for_export(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.recorder.exporting, timeout=60000)


def test_a_recorded_drag_keeps_every_face_shown_with_its_code(qtbot, window):
    recorder = window.recorder
    assert recorder.button.defaultAction() is recorder.record_action
    recorder.record_action.trigger()  # the menu entry / status-bar button / Ctrl+R
    assert recorder.is_recording and recorder.indicator.isVisible()
    drag(qtbot, window, 6)
    recorder.record_action.trigger()
    assert not recorder.is_recording
    recording = recorder.recording
    assert len(recording) == 7  # the face shown when Record was pressed, then one per move
    assert recorder.indicator.text() == "● REC 7" and not recorder.indicator.isVisible()
    np.testing.assert_array_equal(recording.images[-1], window.face_panel.current_image)
    np.testing.assert_allclose(recording.codes[-1], window.current_z, atol=1e-6)
    x, y = window.map.handle_position()
    np.testing.assert_allclose(window.projection.project(recording.codes[-1]), [x, y], atol=1e-4)
    assert np.all(np.diff(recording.times) > 0)
    assert "Recorded 7 faces" in window.statusBar().currentMessage()
    drag(qtbot, window, 2)  # not recording: nothing is added
    assert len(recording) == 7


def test_export_the_recording_through_the_dialog_as_gif(qtbot, window, tmp_path, monkeypatch):
    window.recorder.start()
    drag(qtbot, window, 5)
    window.recorder.stop()
    shown = answer_dialog(monkeypatch, tmp_path / "walk", fps=10, scale=3, real_time=False)  # no suffix typed
    window.recorder.export_action.trigger()
    wait_for_export(qtbot, window)
    path = tmp_path / "walk.gif"
    assert shown[0].walk == "recording" and shown[0].frame_count() == 6
    assert window.recorder.last_written == path and f"Saved {path}" in window.statusBar().currentMessage()
    with Image.open(path) as gif:
        assert gif.size == (48, 48) and gif.info["duration"] == 100
        assert gif.n_frames <= 6  # identical neighbouring faces are merged by Pillow, timing kept
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    last = window.recorder.recording.images[-1].transpose(1, 2, 0).repeat(3, 0).repeat(3, 1)
    assert np.abs(frames[-1].astype(int) - last).mean() < 8  # the GIF palette is close, not exact


def test_export_the_path_walk_as_mp4_decoded_from_its_codes(qtbot, window, tmp_path, monkeypatch):
    window.map.point_clicked.emit("atlas", 3)
    window.face_panel.a_button.click()
    window.map.point_clicked.emit("atlas", 24)
    window.face_panel.b_button.click()
    answer_dialog(monkeypatch, tmp_path / "path.mp4", format=".mp4", fps=25, scale=4, frames=12, bounce=False)
    window.recorder.path_action.trigger()
    wait_for_export(qtbot, window)
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "path.mp4"))
    meta = next(reader)
    assert meta["fps"] == 25.0 and meta["size"] == (64, 64) and sum(1 for _ in reader) == 12
    assert not window.banner.isVisible()


def test_export_the_chain_run_one_step_per_frame(qtbot, window, tmp_path, monkeypatch):
    window.tabs.setCurrentIndex(window.chain_tab)
    chain = window.chain
    qtbot.waitUntil(lambda: chain.step_count == 0 and chain.latest_codes is not None, timeout=20000)
    for expected in (1, 2, 3):
        chain.step()
        qtbot.waitUntil(lambda: chain.step_count == expected, timeout=20000)
    answer_dialog(monkeypatch, tmp_path / "chain.gif", fps=5, scale=1, bounce=False)
    window.recorder.chain_action.trigger()
    wait_for_export(qtbot, window)
    n = chain.chains_spin.value()
    columns = int(np.ceil(np.sqrt(n)))
    assert chain.trail_codes.shape[:2] == (n, 4)
    with Image.open(tmp_path / "chain.gif") as gif:  # steps 0..3, every chain's face tiled
        assert gif.size == (columns * 18 + 2, int(np.ceil(n / columns)) * 18 + 2)
        durations = []
        for i in range(gif.n_frames):  # (Pillow merges identical neighbours: an untrained chain may stall)
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert sum(durations) == 4 * 200  # four steps at 5 frames/s


def test_cancel_removes_the_partial_file_and_keeps_the_rest(qtbot, window, tmp_path, monkeypatch):
    window.recorder.start()
    drag(qtbot, window, 4)
    window.recorder.stop()
    target = tmp_path / "walk.mp4"
    target.write_bytes(b"an older export")
    first_frame_written, let_go = threading.Event(), threading.Event()
    real_export = controller_module.export_frames

    def held_export(*args, **kwargs):
        frames = real_export(*args, **kwargs)
        try:
            for event in frames:
                yield event
                if event[1] == 1:  # the first frame is in the partial file: wait for the test to cancel
                    first_frame_written.set()
                    let_go.wait(30)
        finally:
            frames.close()

    monkeypatch.setattr(controller_module, "export_frames", held_export)
    answer_dialog(monkeypatch, target, format=".mp4", real_time=False)
    window.recorder.export_action.trigger()
    assert first_frame_written.wait(30)
    parts = list(tmp_path.glob(".walk.mp4.*.part"))
    assert len(parts) == 1  # the partial file exists while encoding
    qtbot.waitUntil(lambda: window.recorder._progress is not None and window.recorder._progress.value() >= 1)
    cancel = window.recorder._progress.findChild(QPushButton)
    assert cancel.text() == "Cancel"
    cancel.click()  # the progress dialog's Cancel button
    let_go.set()
    wait_for_export(qtbot, window)
    assert not parts[0].exists() and not list(tmp_path.glob("*.part"))
    assert target.read_bytes() == b"an older export"
    assert len(window.recorder.recording) == 5  # the recording is still there to export again
    assert "Export cancelled" in window.statusBar().currentMessage() and not window.banner.isVisible()


def test_bad_input_is_answered_in_the_window(qtbot, window, tmp_path, monkeypatch):
    window.recorder.export_action.trigger()  # nothing recorded yet
    assert "Nothing is recorded yet" in window.banner.message
    window.recorder.path_action.trigger()  # no A and B
    assert "Set faces A and B first" in window.banner.message
    window.recorder.start()
    drag(qtbot, window, 1)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    answer_dialog(monkeypatch, blocker / "walk.gif")
    window.recorder.export_action.trigger()
    wait_for_export(qtbot, window)
    assert "The export failed" in window.banner.message and "not_a_folder" in window.banner.message
    assert blocker.read_text() == "x" and window.recorder.last_written is None


def test_mp4_is_greyed_out_with_the_reason_when_there_is_no_encoder(qtbot, monkeypatch):
    def no_encoder():
        raise ExportError("MP4 export needs the ffmpeg encoder of the imageio-ffmpeg package")

    monkeypatch.setattr(dialog_module, "find_mp4_encoder", no_encoder)
    dialog = AnimationDialog("path", 60, (3, 16, 16))
    qtbot.addWidget(dialog)
    item = dialog.format_combo.model().item(1)
    assert not item.isEnabled() and "imageio-ffmpeg" in dialog.format_combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert dialog.kind == "GIF" and dialog.frame_count() == 2 * 60 - 2  # bounce on for a path walk
    dialog.scale_spin.setValue(5)
    assert dialog.size_label.text() == "80 × 80 pixels"


def test_the_recorded_codes_save_as_csv_with_their_map_place_and_time(qtbot, window, tmp_path, monkeypatch):
    window.recorder.start()
    drag(qtbot, window, 3)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(tmp_path / "codes.csv"), ""))
    window.recorder.codes_action.trigger()
    assert not window.recorder.is_recording
    table = np.loadtxt(tmp_path / "codes.csv", delimiter=",", skiprows=1)
    recording = window.recorder.recording
    assert table.shape == (4, 6 + 2 + 1)
    np.testing.assert_array_equal(table[:, :6].astype(np.float32), recording.codes_array())
    np.testing.assert_allclose(table[-1, 6:8], window.map.handle_position(), atol=1e-4)
    assert table[0, 8] == 0 and np.all(np.diff(table[:, 8]) > 0)
