"""Which earlier pixels an autoregressive model's prediction at one sub-pixel actually depends on.

The gradient of one sub-pixel's output with respect to the network input,

    g[k', r', c'] = | d target(r, c, k) / d input[k', r', c'] |,

(target: the sum of the 256 logits, or the log-probability of the image's own value there) is
exactly zero wherever no path of (masked) weights connects the two positions: the models use ELU,
tanh and sigmoid, whose derivatives never vanish, so a zero means "no connection", never "a dead
unit". Positions are then sorted into regions (`Region`):

* TARGET: the pixel being predicted;
* INFLUENCES: earlier in raster order (R -> G -> B within a pixel), gradient != 0;
* NOT_YET: later in raster order (not generated yet when the pixel is drawn); a causal model has a
  zero gradient on all of them;
* BLIND_SPOT: earlier, gradient exactly 0, although positions farther out in the same direction
  (higher up and at least as far to the same side) do influence: a hole *inside* the receptive field.
  Stacked masked convolutions (PixelCNN) leave one above-right of the pixel; the Gated PixelCNN's
  vertical stack has none;
* OUT_OF_REACH: earlier, gradient 0, and nothing beyond it is seen either: simply farther than the
  network's depth reaches (a deeper network would see it). Without this class the edge of a finite
  receptive field would be mistaken for a blind spot in large images.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch

from latentlab.models.pixelcnn import levels_to_input

RANDOM_INPUT_SEED = 0


class Region(IntEnum):
    """Per-position classes; a pixel takes the smallest value over its colour channels."""

    TARGET = 0
    INFLUENCES = 1
    BLIND_SPOT = 2
    OUT_OF_REACH = 3
    NOT_YET = 4


@dataclass
class ReceptiveField:
    """The analysis of one sub-pixel (row, col, channel): `gradient` [C, H, W] (absolute values),
    `subpixels` [C, H, W] and `pixels` [H, W] of `Region` values (int8)."""

    position: tuple[int, int, int]
    gradient: np.ndarray
    subpixels: np.ndarray
    pixels: np.ndarray

    def count(self, region: Region) -> int:
        """How many pixels fall in `region`."""
        return int(np.count_nonzero(self.pixels == region))


def receptive_field(
    model, row: int, col: int, channel: int = 0, image=None, cond: torch.Tensor | None = None
) -> np.ndarray:
    """|d target / d input| as float32 [C, H, W] for the prediction of sub-pixel (row, col, channel).

    image: uint8 levels [C, H, W] (numpy or tensor): the target is log p(image[channel, row, col] |
    earlier sub-pixels of image). None: the target is the sum of the 256 logits at a fixed random
    input. cond: [1, cond_dim] for conditional models (zeros when omitted). Gradients are taken with
    respect to the input only (`torch.autograd.grad`), so the model's parameters are left untouched
    and this may run while another thread samples from the same model."""
    shape = tuple(model.image_shape)
    _check_position(shape, row, col, channel)
    device = next(model.parameters()).device
    if image is None:
        generator = torch.Generator().manual_seed(RANDOM_INPUT_SEED)
        levels = torch.randint(0, 256, (1, *shape), generator=generator)
    else:
        levels = torch.as_tensor(np.asarray(image)).reshape(1, *shape).long()
    if cond is None and getattr(model, "cond_dim", 0):
        cond = torch.zeros(1, model.cond_dim)
    inp = levels_to_input(levels).to(device).requires_grad_(True)
    with torch.enable_grad():
        logits = model.network(inp, None if cond is None else cond.to(device))[0, :, channel, row, col]
        target = logits.sum() if image is None else torch.log_softmax(logits, dim=0)[levels[0, channel, row, col]]
        (gradient,) = torch.autograd.grad(target, inp)
    return gradient[0].abs().float().cpu().numpy()


def raster_order(shape: tuple[int, int, int]) -> np.ndarray:
    """order[k, r, c] = index of sub-pixel (r, c, k) in raster order with R -> G -> B: (r * W + c) * C + k."""
    channels, height, width = shape
    return np.arange(channels * height * width).reshape(height, width, channels).transpose(2, 0, 1)


def classify_subpixels(gradient: np.ndarray, row: int, col: int, channel: int = 0) -> np.ndarray:
    """`Region` of every sub-pixel [C, H, W] (int8) for the prediction at (row, col, channel)."""
    channels, _, width = gradient.shape
    order = raster_order(gradient.shape)
    target = (row * width + col) * channels + channel
    earlier = order < target
    seen = (gradient != 0) & earlier
    hole = _inside_the_reach(seen.any(axis=0), col)[None]
    regions = np.full(gradient.shape, Region.NOT_YET, dtype=np.int8)
    regions[earlier] = Region.OUT_OF_REACH
    regions[earlier & hole] = Region.BLIND_SPOT
    regions[seen] = Region.INFLUENCES
    regions[order == target] = Region.TARGET
    return regions


def classify_pixels(subpixels: np.ndarray) -> np.ndarray:
    """[C, H, W] sub-pixel regions -> [H, W]: the smallest `Region` over each pixel's channels (the
    target pixel is TARGET; an earlier pixel INFLUENCES when any of its channels does)."""
    return subpixels.min(axis=0).astype(np.int8)


def analyse(model, row: int, col: int, channel: int = 0, image=None, cond: torch.Tensor | None = None) -> ReceptiveField:
    """`receptive_field` and both classifications in one result."""
    gradient = receptive_field(model, row, col, channel, image, cond)
    subpixels = classify_subpixels(gradient, row, col, channel)
    return ReceptiveField((row, col, channel), gradient, subpixels, classify_pixels(subpixels))


def _inside_the_reach(seen: np.ndarray, col: int) -> np.ndarray:
    """[H, W] bool: positions p for which some seen pixel q lies at least as high (q.row <= p.row) and at
    least as far out to p's side of column `col` (q.col >= p.col right of it, <= left of it; either in
    the column itself)."""
    above = np.logical_or.accumulate(seen, axis=0)  # seen anywhere in this column, this row or higher
    right = np.logical_or.accumulate(above[:, ::-1], axis=1)[:, ::-1]  # ... and this column or further right
    left = np.logical_or.accumulate(above, axis=1)  # ... and this column or further left
    columns = np.arange(seen.shape[1])[None, :]
    return np.where(columns > col, right, np.where(columns < col, left, right | left))


def _check_position(shape: tuple[int, int, int], row: int, col: int, channel: int) -> None:
    channels, height, width = shape
    if not (0 <= row < height and 0 <= col < width and 0 <= channel < channels):
        raise ValueError(f"position (row {row}, col {col}, channel {channel}) is outside the "
                         f"{height}x{width} image with {channels} channel(s)")
