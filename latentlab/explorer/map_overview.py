"""What the latent map draws for the encoded faces in a given view: the points themselves, or a
shaded density of them when too many fall in the view to read (or to draw quickly) as dots.

A scatter of 200,000 points is one opaque blob and costs the painter every point on every frame. The
overview draws a 2-D histogram of the points in view instead (Carr et al. 1987, "Scatterplot matrix
techniques for large N": binned densities for scatterplots that overplot), with shading on
log(1 + count) so both the dense core and the sparse rim stay visible, and, when the faces are
coloured by a variable, each bin's mean of that variable. Once the view holds at most `point_cap`
points (zoomed in), those points are drawn as dots again, so every face can be hovered and seen.

Everything here is numpy on [N, 2] coordinates: counting is one boolean mask and one `np.bincount`,
a few milliseconds for 200,000 points, so it runs on every pan or zoom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POINT_CAP = 5000       # at most this many encoded faces in view are drawn as dots; more: the density
BIN_PIXELS = 3         # side of a density bin on screen, in pixels
LOADED_MARGIN = 0.25   # dots are loaded for the view grown by this fraction on each side (pans stay cheap)

Extent = tuple[float, float, float, float]  # x_min, x_max, y_min, y_max


@dataclass(frozen=True)
class DensityTile:
    """A 2-D histogram over `extent`: counts[i, j] points in row i (along y, upwards) and column j
    (along x); `mean_values[i, j]` the mean colour variable of those points (NaN where empty), or
    None when the faces are not coloured by a variable."""

    extent: Extent
    counts: np.ndarray
    mean_values: np.ndarray | None

    @property
    def shading(self) -> np.ndarray:
        """log(1 + count) scaled to [0, 1] by the fullest bin (0: empty), for the bins' opacity."""
        logs = np.log1p(self.counts.astype(np.float64))
        top = logs.max() if logs.size else 0.0
        return logs / top if top > 0 else logs


def in_extent(xy: np.ndarray, extent: Extent) -> np.ndarray:
    """Boolean mask [N] of the points inside `extent` (edges included)."""
    x_min, x_max, y_min, y_max = extent
    x, y = xy[:, 0], xy[:, 1]
    return (x >= x_min) & (x <= x_max) & (y >= y_min) & (y <= y_max)


def grown(extent: Extent, fraction: float) -> Extent:
    """`extent` grown by `fraction` of its width and height on each side."""
    x_min, x_max, y_min, y_max = extent
    dx, dy = (x_max - x_min) * fraction, (y_max - y_min) * fraction
    return x_min - dx, x_max + dx, y_min - dy, y_max + dy


def contains(outer: Extent, inner: Extent) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and outer[2] <= inner[2] and inner[3] <= outer[3]


def density_tile(xy: np.ndarray, extent: Extent, shape: tuple[int, int],
                 values: np.ndarray | None = None) -> DensityTile:
    """Histogram of the points `xy` [N, 2] over `extent` in `shape` = (rows, columns) bins, with the
    per-bin mean of `values` [N] when given (sum of values / count, by `np.bincount`)."""
    rows, columns = max(int(shape[0]), 1), max(int(shape[1]), 1)
    x_min, x_max, y_min, y_max = extent
    if not (x_max > x_min and y_max > y_min):
        raise ValueError(f"extent must be (x_min, x_max, y_min, y_max) with max > min, got {extent}")
    mask = in_extent(xy, extent)
    inside = xy[mask]
    column = np.minimum(((inside[:, 0] - x_min) / (x_max - x_min) * columns).astype(np.intp), columns - 1)
    row = np.minimum(((inside[:, 1] - y_min) / (y_max - y_min) * rows).astype(np.intp), rows - 1)
    flat = row * columns + column
    counts = np.bincount(flat, minlength=rows * columns).reshape(rows, columns)
    mean_values = None
    if values is not None:
        sums = np.bincount(flat, weights=np.asarray(values, dtype=np.float64)[mask], minlength=rows * columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_values = (sums.reshape(rows, columns) / counts)
    return DensityTile(extent, counts, mean_values)


@dataclass(frozen=True)
class OverviewPlan:
    """How to draw one view: `mode` "points" (dots for `indices`, the points in the view grown by
    `LOADED_MARGIN`, valid while the view stays inside `loaded`) or "density" (`tile`)."""

    mode: str
    indices: np.ndarray | None = None
    loaded: Extent | None = None
    tile: DensityTile | None = None
    in_view: int = 0


def plan_view(xy: np.ndarray, extent: Extent, view_pixels: tuple[int, int], values: np.ndarray | None = None,
              point_cap: int = POINT_CAP, bin_pixels: int = BIN_PIXELS) -> OverviewPlan:
    """Dots when at most `point_cap` points lie in `extent`, else a density of `view_pixels` =
    (width, height) / `bin_pixels` bins over the view."""
    in_view = int(np.count_nonzero(in_extent(xy, extent)))
    if in_view <= point_cap:
        loaded = grown(extent, LOADED_MARGIN)
        return OverviewPlan("points", indices=np.flatnonzero(in_extent(xy, loaded)), loaded=loaded, in_view=in_view)
    width, height = view_pixels
    shape = (max(height // bin_pixels, 1), max(width // bin_pixels, 1))
    return OverviewPlan("density", tile=density_tile(xy, extent, shape, values), in_view=in_view)
