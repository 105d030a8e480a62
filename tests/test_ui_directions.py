"""The Directions tab, driven through the real widgets: Ctrl+click faces into two groups on the map,
create and name a direction, slide along it, use it as a map axis, export, delete, import."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import open_main_window
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from latentlab.ui.directions.panel import AXIS_PREFIX, SLIDER_STEPS


@pytest.fixture
def window(qtbot, tmp_path, tiny_checkpoint):
    win = open_main_window(qtbot, tmp_path, tiny_checkpoint)
    win.tabs.setCurrentWidget(win.tabs.widget(2))
    yield win
    win.shutdown()


def _pixels(window) -> np.ndarray:
    """Where each atlas point is drawn, in the plot view's pixel coordinates [N, 2]."""
    item = window.map.atlas
    out = []
    for spot in item.points():
        scene = item.mapToScene(QPointF(spot.pos()))
        view = window.map.plot.mapFromScene(scene)
        out.append((view.x(), view.y()))
    return np.array(out, dtype=float)


def _isolated(qtbot, window, count: int) -> list[int]:
    """`count` atlas points with no other point within 10 px (so a click there hits that one), after
    zooming the map onto the encoded faces as a user would (the untrained model's codes bunch up)."""
    xy = np.column_stack([window.map.atlas.data["x"], window.map.atlas.data["y"]])
    window.map.plot.getPlotItem().getViewBox().setRange(xRange=(xy[:, 0].min(), xy[:, 0].max()),
                                                        yRange=(xy[:, 1].min(), xy[:, 1].max()), padding=0.05)
    qtbot.wait(100)  # the view applies the new range on the next event-loop turn
    pixels = _pixels(window)
    distances = np.linalg.norm(pixels[:, None] - pixels[None], axis=2) + np.eye(len(pixels)) * 1e9
    inside = (pixels[:, 0] > 20) & (pixels[:, 1] > 20) & (pixels[:, 0] < window.map.plot.width() - 20) \
        & (pixels[:, 1] < window.map.plot.height() - 20)
    chosen = [int(i) for i in np.flatnonzero((distances.min(axis=1) > 10) & inside)]
    if len(chosen) < count:
        pytest.skip(f"only {len(chosen)} well-separated points on this screen")
    return chosen[:count]


def _ctrl_click(qtbot, window, index: int) -> None:
    x, y = _pixels(window)[index]
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(window.map.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     QPoint(round(x), round(y)))


def _create(qtbot, panel, name: str) -> None:
    count = len(panel.directions)
    panel.name_edit.setText(name)
    qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.directions) == count + 1 and not panel.busy, timeout=90000)  # fits on a worker; slow on a loaded CI machine


def test_ctrl_click_groups_create_name_slide_axis_export_delete_import(qtbot, window, tmp_path, monkeypatch):
    panel = window.directions
    picked = _isolated(qtbot, window, 4)
    before = window.current_z.copy()
    _ctrl_click(qtbot, window, picked[0])
    _ctrl_click(qtbot, window, picked[1])
    qtbot.mouseClick(panel.group_b, Qt.MouseButton.LeftButton)
    _ctrl_click(qtbot, window, picked[2])
    _ctrl_click(qtbot, window, picked[3])
    assert panel.groups == {"A": picked[:2], "B": picked[2:]}
    assert np.array_equal(window.current_z, before)  # Ctrl+click selects; it does not jump there
    assert len(window.map.marks.data) == 4 and "A: 2 faces · B: 2 faces" in panel.group_counts.text()
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # a second click at once would be a double-click
    _ctrl_click(qtbot, window, picked[3])  # again: out of the group
    assert panel.groups["B"] == picked[2:3]

    panel.method_combo.setCurrentIndex(panel.method_combo.findData("group-mean"))
    _create(qtbot, panel, "my attribute")
    direction = panel.directions[0]
    codes = window.session.atlas_codes
    expected = codes[picked[2:3]].mean(axis=0) - codes[picked[:2]].mean(axis=0)
    assert direction.name == "my attribute" and np.allclose(direction.vector, expected, atol=1e-6)
    assert panel.list.item(0).text() == "my attribute" and direction.origin["group_a"] == sorted(picked[:2])

    # Rename in the list.
    panel.list.item(0).setText("renamed")
    assert panel.directions[0].name == "renamed"

    # Slide: z = z0 + t v/|v|, decoded by the window.
    panel.list.setCurrentRow(0)
    z0 = window.current_z.copy()
    shown = window.face_panel.last_shown_at
    panel.slider.setValue(int(1.5 * SLIDER_STEPS))
    qtbot.waitUntil(lambda: window.face_panel.last_shown_at > shown, timeout=5000)
    assert np.allclose(window.current_z, z0 + 1.5 * direction.unit, atol=1e-5)
    panel.slider.setValue(int(-0.5 * SLIDER_STEPS))
    assert np.allclose(window.current_z, z0 - 0.5 * direction.unit, atol=1e-5)  # still from the same z0
    window.map.point_clicked.emit("atlas", 5)  # another face: the slider starts again from it
    assert panel.slider.value() == 0
    panel.slider.setValue(SLIDER_STEPS)
    assert np.allclose(window.current_z, codes[5] + direction.unit, atol=1e-5)

    # As a map axis: x = the projection on the direction.
    index = window.axes_combo.findData(AXIS_PREFIX + "renamed")
    assert index > 0
    window.axes_combo.setCurrentIndex(index)
    window.axes_combo.activated.emit(index)
    xy = window.projection.project(codes)
    assert np.allclose(xy[:, 0], (codes - codes.mean(axis=0)) @ direction.unit, atol=1e-4)
    assert "renamed" in window.map.plot.getPlotItem().getAxis("bottom").labelText
    assert np.allclose(window.map.atlas.data["x"], xy[:, 0], atol=1e-4)

    # Export, delete (the axis goes back to PCA), import.
    target = tmp_path / "dirs.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    saved = json.loads(target.read_text())
    assert saved["directions"][0]["name"] == "renamed"
    assert np.allclose(saved["directions"][0]["vector"], direction.vector)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert panel.list.count() == 0 and window.axes_combo.findData(AXIS_PREFIX + "renamed") < 0
    assert window.axes_combo.currentIndex() == 0 and "PC" in window.projection.labels[0]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert [d.name for d in panel.directions] == ["renamed"]
    assert np.allclose(panel.directions[0].vector, direction.vector)
    assert window.axes_combo.findData(AXIS_PREFIX + "renamed") > 0


def test_a_direction_from_a_label_and_a_bad_import_file(qtbot, window, tmp_path, monkeypatch):
    panel = window.directions
    qtbot.mouseClick(panel.from_label, Qt.MouseButton.LeftButton)
    panel.label_combo.setCurrentText("glasses")
    assert not panel.category_combo.isEnabled()  # two categories: no → yes
    panel.label_combo.setCurrentText("hair_style")
    assert panel.category_combo.isEnabled() and panel.category_combo.itemText(0) == "bald"
    panel.category_combo.setCurrentIndex(1)
    assert panel.name_edit.placeholderText() == "hair_style = short"
    panel.label_combo.setCurrentText("glasses")
    _create(qtbot, panel, "")
    direction = panel.directions[0]
    assert direction.name == "glasses" and direction.origin["method"] == "classifier"  # the default
    labels, codes = window.session.atlas_labels["glasses"], window.session.atlas_codes
    margin = codes @ direction.unit
    assert margin[labels == 1].mean() > margin[labels == 0].mean()  # points toward "with glasses"

    bad = tmp_path / "not-directions.json"
    bad.write_text("{\"hello\": 1}")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert window.banner.isVisible() and str(bad) in window.banner.message and "not a directions file" in \
        window.banner.message
    assert len(panel.directions) == 1  # nothing lost

    wrong = tmp_path / "wrong-size.json"
    wrong.write_text(json.dumps({"name": "x", "vector": [1.0, 2.0]}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(wrong), ""))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert "2 dimensions, this model's latent space 6" in window.banner.message


def test_creating_without_both_groups_says_what_to_do(qtbot, window):
    panel = window.directions
    qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
    assert "group A and one into group B" in window.banner.message and not panel.directions
