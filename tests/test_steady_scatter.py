"""SteadyScatter: the latent map's scatter items remember their bounding rectangle, and never a stale one."""

import numpy as np
import pyqtgraph as pg
import pytest

pytest.importorskip("pytestqt")

from latentlab.ui.widgets.steady_scatter import SteadyScatter  # noqa: E402


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_its_bounding_rectangle_is_pyqtgraphs_through_every_change(plot, qtbot):
    rng = np.random.default_rng(0)
    steady, plain = SteadyScatter(size=8), pg.ScatterPlotItem(size=8)
    for item in (steady, plain):
        plot.addItem(item)

    def same() -> None:
        assert steady.boundingRect() == plain.boundingRect()
        assert steady.boundingRect() == plain.boundingRect()  # the remembered one too

    points = rng.normal(size=(50, 2))
    changes = [
        lambda item: item.setData(points[:, 0], points[:, 1]),                 # data
        lambda item: item.setData(3 * points[:, 0], points[:, 1] - 5),          # new data
        lambda item: item.setSize(20),                                         # spot size (pixel padding)
        lambda item: item.addPoints([10.0], [10.0]),                           # one more point
        lambda item: item.setData([], []),                                     # empty
        lambda item: item.setData(points[:, 0], points[:, 1]),
    ]
    for change in changes:
        for item in (steady, plain):
            change(item)
        same()
    plot.setXRange(-1, 1, padding=0)  # a zoom: the pixel padding in data units changes
    qtbot.wait(10)
    same()
    plot.resize(700, 200)             # a resize: the same
    qtbot.wait(10)
    same()


def test_it_answers_from_memory_while_nothing_changes(plot, monkeypatch):
    steady = SteadyScatter(size=8)
    plot.addItem(steady)
    steady.setData([0.0, 1.0], [0.0, 2.0])
    first = steady.boundingRect()
    computed = []
    original = pg.ScatterPlotItem.boundingRect
    monkeypatch.setattr(pg.ScatterPlotItem, "boundingRect", lambda self: computed.append(1) or original(self))
    assert all(steady.boundingRect() == first for _ in range(5)) and not computed
    steady.setData([0.0, 4.0], [0.0, 2.0])
    assert steady.boundingRect().width() > first.width() and computed == [1]
