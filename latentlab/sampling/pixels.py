"""Pixel-by-pixel sampling of the autoregressive models (PixelCNN, Gated PixelCNN, Row LSTM).

Sub-pixels are drawn in raster order, R -> G -> B within a pixel:

    for r < H, c < W, k < C:   x[r, c, k] ~ Categorical(softmax(logits(x)[:, :, k, r, c]))

`sample_steps` yields one `PixelStep` per sub-pixel; the animation and the plain sampler (`sample`)
use this same generator.

Modes (all give the same logits up to float round-off):
  "fast":   (default) per-layer activation caching (Ramachandran et al. 2017, "Fast Generation for
            Convolutional Autoregressive Models"; `fast_pixels.py`): every layer keeps a cache of its
            activations, and each sub-pixel computes every layer at the one position (r, c) only,
            from the cached masked windows of the layer below -- positions before (r, c) are final.
            One step costs about 1 / (H * W) of a forward pass (plus per-row work for the Gated
            PixelCNN's vertical stack and the Row LSTM's state-to-state term).
  "cached": one forward pass per sub-pixel of the *top r + 1 rows only* (the input cropped to rows
            <= r). Every model here is causal in rows (outputs at row r depend on rows <= r only, and
            the masked weights on lower rows are exactly zero), so the logits at row r are the same.
            About half the work of "naive".
  "naive":  one full forward pass of the whole image per sub-pixel (H * W * C passes of H rows): the
            reference the others are tested against.

Every mode draws the value by inverse-CDF from one uniform per sub-pixel, all taken from `generator`
in one call before the first draw, in the same order, so the same seed gives the same sample in every
mode (up to float round-off in the logits landing exactly on a CDF boundary).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from latentlab.models.pixelcnn import LEVELS

MODES = ("fast", "cached", "naive")


class PixelStep:
    """position: (row, col, channel) just drawn; image: uint8 [N, C, H, W] so far (a copy; not yet
    drawn sub-pixels are 0); probs: float32 [N, 256] the distribution the value was drawn from."""

    __slots__ = ("position", "image", "_cdf", "_probs")

    def __init__(self, position: tuple[int, int, int], image: torch.Tensor, cdf: torch.Tensor) -> None:
        self.position, self.image = position, image
        self._cdf, self._probs = cdf, None  # float64 [N, 256], as drawn from

    @property
    def probs(self) -> torch.Tensor:
        # made on first read from the CDF the value was drawn with: the plain sampler (`sample`) never
        # reads it, and at 28x28 each operation is a noticeable share of a fast step
        if self._probs is None:
            self._probs = self._cdf.diff(dim=1, prepend=self._cdf.new_zeros(len(self._cdf), 1)).float()
        return self._probs

    def __repr__(self) -> str:
        return f"PixelStep(position={self.position}, image={list(self.image.shape)})"


class FullForwardPass:
    """Logits at (r, c) from a forward pass of the whole image ("naive") or of its rows <= r
    ("cached"); the same `start_row` / `logits_at` protocol as the fast evaluators."""

    def __init__(self, model, cond: torch.Tensor | None, crop_rows: bool) -> None:
        self.model, self.cond, self.crop_rows = model, cond, crop_rows

    def start_row(self, image: torch.Tensor, r: int) -> None:
        pass

    def logits_at(self, image: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """[N, 256, C]"""
        visible = image[:, :, : r + 1, :] if self.crop_rows else image
        return self.model.logits(visible, self.cond)[:, :, :, r, c]

    def colour_logits(self, image: torch.Tensor, r: int, c: int, k: int) -> torch.Tensor:
        """[N, 256]: `logits_at`'s colour k (what the sampler draws from)."""
        return self.logits_at(image, r, c)[:, :, k]


def _cdf(logits: torch.Tensor) -> torch.Tensor:
    """float64 [N, 256]: the cumulative softmax of logits [N, 256] (cast first, then softmax)."""
    return torch.softmax(logits, dim=1, dtype=torch.float64).cumsum_(dim=1)


def _draw(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw of one level per row of cdf [N, 256] from uniforms u [N, 1] in [0, 1): the
    first index whose CDF entry is >= u, found by binary search (a CDF never decreases). Its last entry
    is 1 up to round-off; a u above it (a chance of about 1e-16) gives 256, clamped to level 255.
    Returns [N, 1]."""
    return torch.searchsorted(cdf, u).clamp_(max=LEVELS - 1)


def _uniforms(count: int, n: int, generator: torch.Generator | None, device: torch.device) -> tuple[torch.Tensor, ...]:
    """`count` [n, 1] float64 uniforms, one per sub-pixel to draw, from one call (a call per sub-pixel
    costs more than its draw at 28x28); every mode takes them in the same order."""
    return torch.rand(count, n, 1, generator=generator, device=device, dtype=torch.float64).unbind(0)


def _sub_pixel_views(image: torch.Tensor) -> list[torch.Tensor]:
    """[index (r * W + c) * C + k] -> the [N, 1] view image[:, k, r, c, None], made once per run: writing
    a drawn value through it is a copy, where indexing the image would parse the index each time."""
    cells = image.permute(2, 3, 1, 0).unsqueeze(-1)  # [H, W, C, N, 1]
    return [cell for row in cells.unbind(0) for pixel in row.unbind(0) for cell in pixel.unbind(0)]


def evaluating() -> torch.inference_mode:
    """The context every logit source is built and run in, in every mode. Inference mode spares its
    tensors autograd's version counters and view tracking, about a tenth of a fast step at 28x28
    (each step is a few dozen operations of microseconds). Only the sources' own tensors are
    inference tensors: the image and what a step yields are made outside it, so callers may still
    edit them in place."""
    return torch.inference_mode()


def _logit_source(model, mode: str, n: int, cond: torch.Tensor | None):
    if mode == "fast":
        from latentlab.sampling.fast_pixels import incremental_evaluator

        return incremental_evaluator(model, n, cond)
    return FullForwardPass(model, cond, crop_rows=(mode == "cached"))


@torch.no_grad()
def sample_steps(
    model,
    n: int,
    cond: torch.Tensor | None = None,
    mode: str = "fast",
    generator: torch.Generator | None = None,
    known: torch.Tensor | None = None,
    start: int = 0,
) -> Iterator[PixelStep]:
    """Yield a PixelStep per sub-pixel while drawing n images from `model` (see module docstring).

    cond: [n, cond_dim] conditioning vectors for conditional models, else None. The generator, if
    given, must live on the model's device.
    known, start: completion of a partial image. The first `start` sub-pixels in raster order
    (index (r * W + c) * C + k) are copied from `known` (uint8 levels [n, C, H, W], or [C, H, W]
    shared by the n images), not drawn, and yield no step; drawing begins at sub-pixel `start`
    (keeping the top `rows` rows: start = rows * W * C). See `_start_image`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        channels, height, width = model.image_shape
        image = _start_image(n, model.image_shape, device, known, start)
        if cond is not None:
            cond = cond.to(device)
        with evaluating():
            source = _logit_source(model, mode, n, cond)
        cells = _sub_pixel_views(image)
        uniforms = _uniforms(len(cells) - start, n, generator, device)
        for r in range(height):
            with evaluating():
                source.start_row(image, r)
            for c in range(width):
                for k in range(channels):
                    index = (r * width + c) * channels + k
                    if index < start:  # completion: copied, not drawn
                        with evaluating():
                            _pass_known(source, image, r, c, k == channels - 1)
                        continue
                    with evaluating():
                        logits = source.colour_logits(image, r, c, k)
                    cdf = _cdf(logits)  # [N, 256]
                    cells[index].copy_(_draw(cdf, uniforms[index - start]))  # cast to uint8 by the copy
                    yield PixelStep((r, c, k), image.clone(), cdf)
    finally:
        model.train(was_training)


def sample(
    model,
    n: int,
    cond: torch.Tensor | None = None,
    mode: str = "fast",
    generator: torch.Generator | None = None,
    known: torch.Tensor | None = None,
    start: int = 0,
) -> torch.Tensor:
    """n finished images, uint8 [n, C, H, W] (known / start: completion, as in `sample_steps`)."""
    step = None
    for step in sample_steps(model, n, cond=cond, mode=mode, generator=generator, known=known, start=start):
        pass
    if step is None:  # nothing left to draw
        return _start_image(n, model.image_shape, next(model.parameters()).device, known, start)
    return step.image


def sample_images(
    model, n: int, generator: torch.Generator | None = None, cond: torch.Tensor | None = None
) -> torch.Tensor:
    """n samples as floats in [0, 1], [n, C, H, W]: `sample` in its default mode, levels / 255
    (one full autoregressive pass; slow for big images). The counterpart of the latent-variable
    models' `sample_images` method (decoder means of prior draws)."""
    return sample(model, n, cond=cond, generator=generator).float() / 255.0


# ------------------------------------------------------------------ completion (known / start)
def _start_image(
    n: int, shape: tuple[int, int, int], device: torch.device, known: torch.Tensor | None, start: int
) -> torch.Tensor:
    """uint8 [n, C, H, W]: the first `start` sub-pixels in raster order copied from `known`, zeros
    (not yet drawn) elsewhere."""
    channels, height, width = shape
    if not 0 <= start <= channels * height * width:
        raise ValueError(f"start must be in 0..{channels * height * width}, got {start}")
    image = torch.zeros(n, channels, height, width, dtype=torch.uint8, device=device)
    if start == 0:
        return image
    if known is None:
        raise ValueError("start > 0 needs the known image to copy the first sub-pixels from")
    known = torch.as_tensor(known).to(device=device, dtype=torch.uint8)
    if known.shape not in ((channels, height, width), (n, channels, height, width)):
        raise ValueError(f"known must have shape [{n}, {channels}, {height}, {width}] or "
                         f"[{channels}, {height}, {width}], got {list(known.shape)}")
    order = torch.arange(channels * height * width, device=device).view(height, width, channels).permute(2, 0, 1)
    copied = order < start  # [C, H, W]
    image[:, copied] = known.expand(n, channels, height, width)[:, copied]
    return image


def _pass_known(source, image: torch.Tensor, r: int, c: int, pixel_complete: bool) -> None:
    """A copied sub-pixel. Full forward passes recompute everything from the image, so they skip it;
    incremental evaluators ("fast") must see every position in order to fill their caches, so they
    evaluate each copied pixel once, when all its colours are in place."""
    if pixel_complete and not isinstance(source, FullForwardPass):
        source.logits_at(image, r, c)
