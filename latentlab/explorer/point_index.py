"""The point of a map layer under the pointer, found through a k-d tree instead of a scan.

Hover and click ask, for a pointer at (x, y) in data units, which point lies nearest in *screen*
distance within `radius` pixels. A view can scale its two axes differently: with (s_x, s_y) the data
units per pixel, the screen distance of point i is

    d_i = sqrt(((x_i - x) / s_x)² + ((y_i - y) / s_y)²).

The tree (`scipy.spatial.cKDTree`, Bentley 1975; Maneewongvatana & Mount 1999) is built once on the
points divided by their per-axis spread, a metric roughly isotropic on screen. A query takes the
tree's nearest point p₁ (screen distance D₁); the screen-nearest point p* has d* <= D₁ and
therefore a tree distance of at most min(D₁, radius) / m, where m is the smallest number of pixels per
tree unit on either axis. Every point within that tree ball is checked in screen units, so the
answer equals a brute-force argmin of d_i (ties to the lowest index), in O(log N) for a typical query.
Below `TREE_MIN` points (the 500 prior samples) a scan is as fast and needs no tree; scipy.spatial is
imported only when a tree is built, so a window that never builds one never pays for the import.
"""

from __future__ import annotations

import numpy as np

NO_POINT = -1
TREE_MIN = 2000  # fewer points are scanned


class PointIndex:
    """Nearest point in screen distance among 2-D points [N, 2] (data coordinates)."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        spread = self.xy.std(axis=0) if len(self.xy) else np.ones(2)
        self._unit = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)  # data units per tree unit
        self._tree = None
        if len(self.xy) >= TREE_MIN:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.xy / self._unit)

    def __len__(self) -> int:
        return len(self.xy)

    def nearest(self, x: float, y: float, pixel_size: tuple[float, float], radius: float) -> tuple[int, float]:
        """(index, screen distance in pixels) of the nearest point within `radius` pixels of (x, y),
        with `pixel_size` = (s_x, s_y) data units per pixel; (NO_POINT, inf) when none is that close."""
        scale = np.asarray(pixel_size, dtype=np.float64)
        if not np.all(np.isfinite(scale) & (scale > 0)):
            return NO_POINT, float("inf")
        if self._tree is None:
            return brute_force_nearest(self.xy, x, y, pixel_size, radius)
        query = np.array([x, y], dtype=np.float64) / self._unit
        pixels_per_tree_unit = self._unit / scale
        _, first = self._tree.query(query)
        first_distance = self._screen_distances(np.array([first]), x, y, scale)[0]
        reach = min(first_distance, radius) / pixels_per_tree_unit.min()
        candidates = np.sort(np.asarray(self._tree.query_ball_point(query, reach * (1 + 1e-9) + 1e-12), dtype=np.intp))
        if len(candidates) == 0:
            candidates = np.array([first])
        distances = self._screen_distances(candidates, x, y, scale)
        best = int(np.argmin(distances))
        if distances[best] > radius:
            return NO_POINT, float("inf")
        return int(candidates[best]), float(distances[best])

    def _screen_distances(self, indices: np.ndarray, x: float, y: float, scale: np.ndarray) -> np.ndarray:
        delta = (self.xy[indices] - (x, y)) / scale
        return np.sqrt((delta**2).sum(axis=1))


def brute_force_nearest(xy: np.ndarray, x: float, y: float, pixel_size: tuple[float, float],
                        radius: float) -> tuple[int, float]:
    """The same answer as `PointIndex.nearest` by scanning every point (the reference for tests)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) == 0:
        return NO_POINT, float("inf")
    distances = np.sqrt((((xy - (x, y)) / np.asarray(pixel_size, dtype=np.float64)) ** 2).sum(axis=1))
    best = int(np.argmin(distances))
    return (best, float(distances[best])) if distances[best] <= radius else (NO_POINT, float("inf"))
