"""A training preview made ready to show, on the training worker's thread.

The Preview event carries uint8 arrays (prior-sample decodes, held-out images and their
reconstructions) and posterior means. Tiling them, converting them to images, scaling them to the
panel's width and the PCA of the codes cost tens of milliseconds, more on a busy machine: done on
the GUI thread they froze the window for 110-160 ms at step 0 (`bench heartbeat`). QImage, unlike
QPixmap, may be made on any thread, so all of it happens here, and the GUI thread only turns the
two finished images into pixmaps and sets the scatter's points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from latentlab.analysis.projection import LinearProjection, default_projection
from latentlab.images import GRID_PAD, grid_array
from latentlab.ui.widgets.imaging import to_qimage
from trainers.events import Preview

PREVIEW_WIDTH = 256  # pixels of the sample / reconstruction grids
SAMPLE_COLUMNS = 8


@dataclass
class ReadyPreview:
    """`preview` with its grids as images PREVIEW_WIDTH wide and the PCA of its codes (None without codes)."""

    preview: Preview
    samples: QImage
    reconstructions: QImage | None  # top row held-out images, bottom row their reconstructions
    projection: LinearProjection | None


def reserved_height(rows: int, columns: int, smallest_side: int = 8) -> int:
    """The tallest a grid of rows x columns square tiles, scaled to PREVIEW_WIDTH wide, can be for tiles
    of at least `smallest_side` pixels (smaller tiles make the padding a larger share: taller grids).
    The panel reserves it from the start, so the first preview does not re-lay out the panel."""
    cell = smallest_side + GRID_PAD
    return math.ceil(PREVIEW_WIDTH * (rows * cell + GRID_PAD) / (columns * cell + GRID_PAD))


def grid_image(rows: list[np.ndarray], columns: int) -> QImage:
    """Rows of uint8 [N, C, H, W] tiled (images.grid_array) and scaled to PREVIEW_WIDTH: smoothly when
    shrinking, nearest-neighbour when enlarging (small images stay crisp)."""
    image = to_qimage(grid_array(rows, columns=columns).transpose(2, 0, 1))  # HxWx3 -> [3, H, W]
    mode = (Qt.TransformationMode.SmoothTransformation if image.width() > PREVIEW_WIDTH
            else Qt.TransformationMode.FastTransformation)
    return image.scaledToWidth(PREVIEW_WIDTH, mode)


def ready_preview(preview: Preview) -> ReadyPreview:
    """Any thread: everything the panel shows of `preview`, ready but for the pixmaps."""
    projection = None
    if preview.codes is not None and len(preview.codes):
        projection = default_projection(preview.codes, preview.codes.shape[1])
    half = len(preview.reconstructions) // 2
    reconstructions = None
    if half:
        reconstructions = grid_image([preview.reconstructions[:half], preview.reconstructions[half:]], columns=half)
    return ReadyPreview(preview, grid_image([preview.samples], columns=SAMPLE_COLUMNS), reconstructions, projection)
