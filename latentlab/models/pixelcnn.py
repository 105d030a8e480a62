"""PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016) and the shared autoregressive base.

The image density factorises over sub-pixels in raster order, and R -> G -> B within a pixel:

    p(x) = prod_{r, c} prod_{k < C} p(x_{r,c,k} | x_{<(r,c)}, x_{r,c,<k}),

each factor a 256-way categorical over the integer level x_{r,c,k} in {0..255}. So

    log p(x) = sum_{r,c,k} log softmax(logits_{r,c,k})[x_{r,c,k}]     (nats per image)
    bits/dim = -log p(x) / (C * H * W * ln 2).

Causality comes from masked convolutions. A k x k kernel centred on (r, c) keeps the rows above,
the columns left of the centre on the centre row, and at the centre itself only some channel pairs:
channels are split into C colour groups (contiguous blocks; for C = 3 the first third of the
channels is "R", then "G", then "B"; the image input has one channel per group), and

    mask "A" (first layer):   centre weight (out group g_o, in group g_i) kept iff g_i <  g_o
    mask "B" (later layers):  centre weight (out group g_o, in group g_i) kept iff g_i <= g_o.

Mask A removes the current sub-pixel from its own prediction; mask B lets features that already
describe "R at (r, c)" (which only depend on strictly earlier sub-pixels) feed the G and B features.

Logits layout: every autoregressive model here returns `logits(x)` of shape [B, 256, C, H, W]
(the class axis second, as `F.cross_entropy` expects).

Stacked masked convolutions have a *blind spot*: a region above-right of the pixel that no path of
3 x 3 mask-B kernels reaches (the centre row only ever grows leftwards). See `gated_pixelcnn.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.registry import register

LEVELS = 256
MASK_TYPES = ("A", "B")


# ----------------------------------------------------------------------------------------- masks
def colour_groups(n_channels: int, colours: int) -> torch.Tensor:
    """Colour group of each of `n_channels` channels: contiguous blocks of n_channels / colours.

    For the image itself (n_channels == colours) channel k is group k."""
    if n_channels % colours:
        raise ValueError(f"{n_channels} channels cannot be split into {colours} colour groups")
    return torch.arange(n_channels) // (n_channels // colours)


def causal_mask(
    in_groups: torch.Tensor,
    out_groups: torch.Tensor,
    kernel_size: tuple[int, int],
    mask_type: str,
) -> torch.Tensor:
    """The [out, in, kh, kw] 0/1 mask of a raster-order masked convolution with colour groups.

    The centre is (kh // 2, kw // 2). Kept: every row above the centre; on the centre row, every
    column left of the centre; at the centre, (out o, in i) iff group(i) < group(o) for mask "A",
    group(i) <= group(o) for mask "B". Everything right of / below the centre is zero."""
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"masked kernels must have odd sizes, got {kh}x{kw}")
    ch, cw = kh // 2, kw // 2
    mask = torch.zeros(len(out_groups), len(in_groups), kh, kw)
    mask[:, :, :ch, :] = 1.0
    mask[:, :, ch, :cw] = 1.0
    o, i = out_groups[:, None], in_groups[None, :]
    centre = (i < o) if mask_type == "A" else (i <= o)
    mask[:, :, ch, cw] = centre.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A "same"-padded convolution whose weight is multiplied by `causal_mask` on every call.

    colours: number of image channels C (1 or 3). By default the in / out channels are split into C
    contiguous colour groups; `in_groups` / `out_groups` override that (e.g. the gate halves of a
    gated layer each use the same grouping)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        mask_type: str,
        colours: int,
        in_groups: torch.Tensor | None = None,
        out_groups: torch.Tensor | None = None,
        bias: bool = True,
    ) -> None:
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2), bias=bias)
        in_groups = colour_groups(in_channels, colours) if in_groups is None else in_groups
        out_groups = colour_groups(out_channels, colours) if out_groups is None else out_groups
        self.mask_type = mask_type
        self.register_buffer("mask", causal_mask(in_groups, out_groups, (kh, kw), mask_type), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)


# ----------------------------------------------------------------------------------- base class
def to_levels(x: torch.Tensor) -> torch.Tensor:
    """Integer levels 0..255 (int64): uint8 / integer tensors as they are, floats in [0, 1] as
    round(x * 255)."""
    if x.dtype.is_floating_point:
        return (x * (LEVELS - 1)).round().clamp(0, LEVELS - 1).long()
    return x.long()


def levels_to_input(levels: torch.Tensor) -> torch.Tensor:
    """What the networks see: levels scaled to [-1, 1]."""
    return levels.float() / (LEVELS - 1) * 2.0 - 1.0


def validate_pixel_config(config, min_layers: int, kernels: tuple[str, ...]) -> None:
    """The checks every pixel model's config shares: a 1- or 3-channel image of at least 2x2, a hidden
    width that splits into the R/G/B groups, at least `min_layers` layers, odd kernel sizes."""
    channels, height, width = config.image_shape
    if channels not in (1, 3):
        raise ValueError(f"image_shape channels must be 1 or 3, got {channels}")
    if height < 2 or width < 2:
        raise ValueError(f"image_shape must be at least 2x2, got {height}x{width}")
    if config.hidden_channels < 1 or config.hidden_channels % channels:
        raise ValueError(f"hidden_channels must be a positive multiple of {channels}")
    if config.num_layers < min_layers:
        raise ValueError(f"num_layers must be >= {min_layers}, got {config.num_layers}")
    for key in kernels:
        size = getattr(config, key)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"{key} must be an odd positive integer, got {size}")


class AutoregressiveModel(nn.Module):
    """Shared protocol of the pixel models (see docs/architecture.md).

    Subclasses implement `network(inp, cond=None) -> [B, 256, C, H, W]` on the scaled input
    (`levels_to_input`); the logits at sub-pixel (r, c, k) only depend on sub-pixels before it.
    `logits(x, cond)` converts images (uint8 / floats in [0, 1]) and calls it.

        log_prob(x) -> [B] nats per image;  bits_per_dim(x) -> [B]
        losses(x)   -> {"loss": mean NLL in nats per sub-pixel (dim), "nll": nats per image,
                        "bits_per_dim": ...};  forward(x) == losses(x)

    Sampling is not a method: `latentlab.sampling.pixels` draws images pixel by pixel
    (`sample_steps`, `sample`, `sample_images`), one layer above the models.
    """

    has_encoder: bool = False
    is_autoregressive: bool = True
    corruption = None

    def __init__(self, config) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.image_shape = tuple(config.image_shape)
        self.cond_dim = int(getattr(config, "cond_dim", 0))

    @property
    def num_dims(self) -> int:
        channels, height, width = self.image_shape
        return channels * height * width

    def logits(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """[B, 256, C, H, W] logits for images x (uint8 levels or floats in [0, 1])."""
        cond = self._check_cond(cond, x.shape[0])
        return self.network(levels_to_input(to_levels(x)), cond)

    def network(self, inp: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The differentiable part: network input in [-1, 1] [B, C, H, W] -> [B, 256, C, H, W].
        (The causality tests differentiate through this.)"""
        raise NotImplementedError

    def _check_cond(self, cond: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if self.cond_dim == 0:
            if cond is not None:
                raise ValueError(f"{type(self).__name__} is unconditional; got a conditioning vector")
            return None
        if cond is None:
            raise ValueError(f"{type(self).__name__} needs a conditioning vector of size {self.cond_dim}")
        if cond.shape != (batch, self.cond_dim):
            raise ValueError(f"cond must have shape [{batch}, {self.cond_dim}], got {list(cond.shape)}")
        return cond.float()

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x) per image in nats; x uint8 levels or floats in [0, 1] of shape [B, C, H, W]."""
        levels = to_levels(x)
        nll = F.cross_entropy(self.logits(levels, cond), levels, reduction="none")  # [B, C, H, W]
        return -nll.flatten(1).sum(1)

    def bits_per_dim(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return -self.log_prob(x, cond) / (self.num_dims * math.log(2.0))

    def losses(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """ "loss" is the mean negative log-likelihood in nats per sub-pixel (per dim), so its scale
        does not depend on the image size; "nll" is nats per image."""
        nll = -self.log_prob(x, cond)
        loss = nll.mean() / self.num_dims
        return {"loss": loss, "nll": nll.mean().detach(), "bits_per_dim": loss.detach() / math.log(2.0)}

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.losses(x, cond)


def output_head(hidden: int, colours: int) -> nn.Sequential:
    """ELU -> 1x1 mask-B -> ELU -> 1x1 mask-B to C * 256 logits (channel k * 256 + v: colour k).

    ELU rather than the paper's ReLU: its derivative is never exactly zero, so a zero gradient
    between an input and an output always means "no path" (masking, blind spot), never a dead unit."""
    return nn.Sequential(
        nn.ELU(),
        MaskedConv2d(hidden, hidden, 1, "B", colours),
        nn.ELU(),
        MaskedConv2d(hidden, colours * LEVELS, 1, "B", colours),
    )


def head_to_logits(out: torch.Tensor, colours: int) -> torch.Tensor:
    """[B, C*256, H, W] -> [B, 256, C, H, W]."""
    b, _, h, w = out.shape
    return out.view(b, colours, LEVELS, h, w).transpose(1, 2)


# -------------------------------------------------------------------------------------- PixelCNN
@dataclass
class PixelCNNConfig:
    """image_shape: (C, H, W), C in {1, 3}.  hidden_channels: width (divisible by C).
    num_layers: residual mask-B blocks after the mask-A first layer.  first_kernel: size of the
    mask-A first convolution (7 in the paper).  kernel_size: size of the mask-B convolutions."""

    image_shape: tuple[int, int, int] = (3, 32, 32)
    hidden_channels: int = 60
    num_layers: int = 7
    first_kernel: int = 7
    kernel_size: int = 3

    def validate(self) -> None:
        validate_pixel_config(self, min_layers=0, kernels=("first_kernel", "kernel_size"))


class ResidualMaskedBlock(nn.Module):
    """x + 1x1_B(ELU(k x k_B(ELU(x)))) (ELU: see `output_head`)."""

    def __init__(self, channels: int, kernel_size: int, colours: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel_size, "B", colours)
        self.mix = MaskedConv2d(channels, channels, 1, "B", colours)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.elu(self.conv(F.elu(x))))


@register("pixelcnn", PixelCNNConfig, "PixelCNN: masked convolutions (mask A then B), 256-way softmax per sub-pixel")
class PixelCNN(AutoregressiveModel):
    def __init__(self, config: PixelCNNConfig) -> None:
        super().__init__(config)
        colours, hidden = config.image_shape[0], config.hidden_channels
        self.input_conv = MaskedConv2d(colours, hidden, config.first_kernel, "A", colours)
        self.blocks = nn.Sequential(
            *[ResidualMaskedBlock(hidden, config.kernel_size, colours) for _ in range(config.num_layers)]
        )
        self.head = output_head(hidden, colours)

    def network(self, inp: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.input_conv(inp))
        return head_to_logits(self.head(h), self.image_shape[0])
