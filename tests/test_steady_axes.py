"""Live plots move their ranges in jumps with slack (ui/widgets/steady_axes.py)."""

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from latentlab.ui.widgets.steady_axes import slack_range


def test_a_range_that_still_holds_the_values_is_kept():
    assert slack_range(np.array([1.0, 2.0, 3.0]), (0.0, 4.0)) is None


def test_a_value_outside_the_view_widens_it_with_a_quarter_span_of_slack():
    assert slack_range(np.array([1.0, 5.0]), (0.0, 4.0)) == (0.0, 6.0)


def test_a_view_four_times_wider_than_the_values_shrinks_to_them():
    assert slack_range(np.array([10.0, 11.0]), (0.0, 20.0)) == (9.75, 11.25)


def test_non_finite_values_are_ignored_and_none_at_all_keeps_the_view():
    assert slack_range(np.array([np.nan, np.inf]), (0.0, 1.0)) is None
    assert slack_range(np.array([np.nan, 1.0, 5.0]), (0.0, 4.0)) == (0.0, 6.0)


def test_a_constant_series_gets_a_small_range_around_it():
    low, high = slack_range(np.array([2.0, 2.0]), (10.0, 20.0))
    assert low < 2.0 < high and high - low < 0.01
