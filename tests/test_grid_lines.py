"""The latent map's grid: lines at the axes' tick values across the view (ui/widgets/grid_lines.py)."""

import numpy as np

from latentlab.ui.widgets.latent_map import LatentMap


def _shown_map(qtbot) -> LatentMap:
    widget = LatentMap()
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_lines_sit_on_the_axes_ticks_and_follow_a_zoom(qtbot):
    widget = _shown_map(qtbot)
    view = widget.plot.getPlotItem().getViewBox()
    for x_range in ((-4.0, 4.0), (0.5, 0.9)):  # the full view, then zoomed in ten times and more
        view.setRange(xRange=x_range, yRange=(-3.0, 3.0), padding=0)
        qtbot.wait(20)
        rect = view.viewRect()
        assert widget.grid.boundingRect() == rect
        vertical = sorted(line.x1() for level, line in widget.grid.lines() if level == 0 and line.x1() == line.x2())
        ticks = widget.plot.getPlotItem().getAxis("bottom").tickValues(rect.left(), rect.right(), view.size().width())
        assert np.allclose(vertical, sorted(ticks[0][1]))
        assert len(vertical) >= 2
        assert all(rect.left() <= x <= rect.right() for x in vertical)
        spans = {(line.y1(), line.y2()) for level, line in widget.grid.lines() if line.x1() == line.x2()}
        assert spans == {(rect.top(), rect.bottom())}  # each vertical line crosses the whole view


def test_lines_are_recomputed_only_when_the_view_changes(qtbot):
    widget = _shown_map(qtbot)
    view = widget.plot.getPlotItem().getViewBox()
    view.setRange(xRange=(-4.0, 4.0), yRange=(-3.0, 3.0), padding=0)
    qtbot.wait(20)
    first = widget.grid.lines()
    assert widget.grid.lines() is first  # a repaint with the view still (a handle move) reuses them
    view.setRange(xRange=(-2.0, 2.0), yRange=(-3.0, 3.0), padding=0)
    qtbot.wait(20)
    assert widget.grid.lines() is not first and widget.grid.lines() != first
