"""What a latent map shows for one model, computed without Qt: the projection, the projected atlas
and prior samples, the axis labels and the gap heat map. Shared by the main window and the Compare
window, and safe to run on a worker thread (numpy only; the session's own locking covers the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentlab.analysis.density import fit_projected_density, gap_map
from latentlab.analysis.projection import LinearProjection, default_projection
from latentlab.explorer import ExplorerSession

PRIOR_POINTS = 500        # prior samples drawn on a map (seed 0)
GAP_RESOLUTION = 128      # grid side of the gap heat map

GapGrid = tuple[np.ndarray, np.ndarray, np.ndarray]  # grid_x [R], grid_y [R], values [R, R]


@dataclass(frozen=True)
class MapLayers:
    """Everything `LatentMap` needs for one model on its default axes (PCA of its encoded faces)."""

    projection: LinearProjection
    atlas_xy: np.ndarray | None   # [N, 2], None when the model carries no atlas (e.g. a GAN)
    prior_xy: np.ndarray          # [PRIOR_POINTS, 2]
    labels: tuple[str, str]       # x and y axis labels
    gaps: GapGrid | None          # None without an atlas


def axis_labels(projection: LinearProjection) -> tuple[str, str]:
    """The axis labels of a projection, with the share of variance per axis for PCA."""
    x_label, y_label = projection.labels
    if projection.explained is not None:
        x_label += f" ({projection.explained[0]:.0%} of variance)"
        y_label += f" ({projection.explained[1]:.0%})"
    return x_label, y_label


def gap_layer(session: ExplorerSession, projection: LinearProjection, atlas_xy: np.ndarray,
              prior_xy: np.ndarray, resolution: int = GAP_RESOLUTION) -> GapGrid:
    """log P − log P̂ on a grid covering the points (10% margin), with P̂ a Gaussian mixture fitted by
    EM to the session's P̂(Z) draws projected on the map's plane (`analysis.density.gap_map`); the
    draws are of a seeded subsample of at most `P_HAT_MAX_FACES` faces (`ExplorerSession.p_hat_samples`),
    so the fit costs the same for any atlas size."""
    points = np.concatenate([atlas_xy, prior_xy])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * (high - low)
    extent = (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])
    density = fit_projected_density(session.p_hat_samples(), projection, "gmm")
    return gap_map(projection, density, None, extent, resolution=resolution)


def default_layers(session: ExplorerSession, prior_codes: np.ndarray | None = None) -> MapLayers:
    """The map of `session` on its default axes, with the gap map when the model has an atlas."""
    if prior_codes is None:
        prior_codes = session.prior_samples(PRIOR_POINTS, seed=0)
    reference = session.atlas_codes if session.atlas_codes is not None else prior_codes
    projection = default_projection(reference, session.latent_dim)
    prior_xy = projection.project(prior_codes)
    atlas_xy = None if session.atlas_codes is None else projection.project(session.atlas_codes)
    gaps = None if atlas_xy is None else gap_layer(session, projection, atlas_xy, prior_xy)
    return MapLayers(projection, atlas_xy, prior_xy, axis_labels(projection), gaps)
