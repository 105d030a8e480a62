"""Pixel-by-pixel sampling of the autoregressive models (PixelCNN, Gated PixelCNN, Row LSTM).

Sub-pixels are drawn in raster order, R -> G -> B within a pixel:

    for r < H, c < W, k < C:   x[r, c, k] ~ Categorical(softmax(logits(x)[:, :, k, r, c]))

`sample_steps` yields one `PixelStep` per sub-pixel; the animation and the plain sampler (`sample`)
use this same generator.

Modes:
  "naive":  one full forward pass of the whole image per sub-pixel (H * W * C passes of H rows).
  "cached": one forward pass per sub-pixel of the *top r + 1 rows only* (the input cropped to rows
            <= r). Every model here is causal in rows (outputs at row r depend on rows <= r only, and
            the masked weights on lower rows are exactly zero), so the logits at row r are the same.
            This saves about half the work; it is not yet the activation cache of Ramachandran
            et al. 2017 ("Fast Generation for Convolutional Autoregressive Models"), which would cost
            only the new position per step.

Both modes draw the value by inverse-CDF from one uniform per sub-pixel taken from `generator` in
the same order, so the same seed gives the same sample in both modes (up to float round-off in the
logits landing exactly on a CDF boundary).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

MODES = ("naive", "cached")


@dataclass
class PixelStep:
    """position: (row, col, channel) just drawn; image: uint8 [N, C, H, W] so far (a copy; not yet
    drawn sub-pixels are 0); probs: [N, 256] the distribution the value was drawn from."""

    position: tuple[int, int, int]
    image: torch.Tensor
    probs: torch.Tensor


def _draw(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Inverse-CDF draw of one level per row of probs [N, 256]."""
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device, dtype=probs.dtype)
    cdf = probs.cumsum(dim=1)
    return (cdf < u * cdf[:, -1:]).sum(dim=1).clamp(max=probs.shape[1] - 1)


@torch.no_grad()
def sample_steps(
    model,
    n: int,
    cond: torch.Tensor | None = None,
    mode: str = "cached",
    generator: torch.Generator | None = None,
) -> Iterator[PixelStep]:
    """Yield a PixelStep per sub-pixel while drawing n images from `model` (see module docstring).

    cond: [n, cond_dim] conditioning vectors for conditional models, else None. The generator, if
    given, must live on the model's device."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        channels, height, width = model.image_shape
        image = torch.zeros(n, channels, height, width, dtype=torch.uint8, device=device)
        if cond is not None:
            cond = cond.to(device)
        for r in range(height):
            for c in range(width):
                for k in range(channels):
                    visible = image if mode == "naive" else image[:, :, : r + 1, :]
                    logits = model.logits(visible, cond)[:, :, k, r, c]  # [N, 256]
                    probs = torch.softmax(logits.double(), dim=1)
                    image[:, k, r, c] = _draw(probs, generator).to(torch.uint8)
                    yield PixelStep((r, c, k), image.clone(), probs.float())
    finally:
        model.train(was_training)


def sample(
    model,
    n: int,
    cond: torch.Tensor | None = None,
    mode: str = "cached",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """n finished images, uint8 [n, C, H, W]."""
    step = None
    for step in sample_steps(model, n, cond=cond, mode=mode, generator=generator):
        pass
    return step.image
