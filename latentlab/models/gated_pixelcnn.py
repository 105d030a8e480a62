"""Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016).

Two stacks remove the PixelCNN blind spot:

* the vertical stack v sees a (k//2 + 1) x k window of rows *up to and including* the current row
  (a plain convolution over the input padded by k//2 rows on top, none below), so v[r] depends on
  rows <= r only;
* the horizontal stack h sees a 1 x k window of the current row, masked (mask A in the first layer,
  mask B later, colour groups R -> G -> B as in `pixelcnn.py`), so h[r, c] depends on columns < c of
  row r plus the earlier colours of (r, c);
* the link v -> h goes through a 1x1 convolution of v *shifted down by one row*: h[r] receives
  v[r - 1], which depends on rows <= r - 1 only, so h never sees the current row's future, yet it
  sees every column of all rows above (no blind spot).

Each layer uses the gated activation

    y = tanh(W_f * x + V_f h) ⊙ sigmoid(W_g * x + V_g h),

with h an optional conditioning vector (a class one-hot or a latent code, `cond_dim > 0`) added to
both gates of both stacks. The horizontal stack is residual after the first layer:
h_out = h_in + 1x1_B(y_h). The gate halves (f, g) use the same colour grouping, so the product keeps
the colour ordering. Output: [B, 256, C, H, W] logits like `PixelCNN`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.pixelcnn import (
    AutoregressiveModel,
    MaskedConv2d,
    colour_groups,
    head_to_logits,
    output_head,
    validate_pixel_config,
)
from latentlab.models.registry import register


@dataclass
class GatedPixelCNNConfig:
    """image_shape: (C, H, W), C in {1, 3}.  hidden_channels: width p of each stack (multiple of C).
    num_layers: gated layers (the first one is the mask-A layer).  first_kernel / kernel_size: k of
    the first / later layers (odd).  cond_dim: size of the conditioning vector (0: unconditional)."""

    image_shape: tuple[int, int, int] = (3, 32, 32)
    hidden_channels: int = 60
    num_layers: int = 8
    first_kernel: int = 7
    kernel_size: int = 3
    cond_dim: int = 0

    def validate(self) -> None:
        validate_pixel_config(self, min_layers=1, kernels=("first_kernel", "kernel_size"))
        if self.cond_dim < 0:
            raise ValueError(f"cond_dim must be >= 0, got {self.cond_dim}")


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """out[:, :, r] = x[:, :, r - 1], zeros in row 0."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def gate(x: torch.Tensor) -> torch.Tensor:
    f, g = x.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedLayer(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, colours: int, first: bool, cond_dim: int) -> None:
        super().__init__()
        self.first, self.kernel = first, kernel
        self.vertical = nn.Conv2d(in_channels, 2 * hidden, (kernel // 2 + 1, kernel))
        self.link = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        gate_groups = colour_groups(hidden, colours).repeat(2)  # f and g halves grouped alike
        self.horizontal = MaskedConv2d(
            in_channels, 2 * hidden, (1, kernel), "A" if first else "B", colours, out_groups=gate_groups
        )
        self.out = MaskedConv2d(hidden, hidden, 1, "B", colours)
        self.cond_v = nn.Linear(cond_dim, 2 * hidden, bias=False) if cond_dim else None
        self.cond_h = nn.Linear(cond_dim, 2 * hidden, bias=False) if cond_dim else None

    def forward(self, v: torch.Tensor, h: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.kernel
        v_pre = self.vertical(F.pad(v, (k // 2, k // 2, k // 2, 0)))  # rows r - k//2 .. r
        h_pre = self.horizontal(h) + self.link(shift_down(v_pre))
        if cond is not None:
            v_pre = v_pre + self.cond_v(cond)[:, :, None, None]
            h_pre = h_pre + self.cond_h(cond)[:, :, None, None]
        h_out = self.out(gate(h_pre))
        return gate(v_pre), (h_out if self.first else h + h_out)


@register(
    "gated_pixelcnn",
    GatedPixelCNNConfig,
    "Gated PixelCNN: vertical + horizontal gated stacks, no blind spot, optional conditioning",
)
class GatedPixelCNN(AutoregressiveModel):
    def __init__(self, config: GatedPixelCNNConfig) -> None:
        super().__init__(config)
        colours, hidden = config.image_shape[0], config.hidden_channels
        self.layers = nn.ModuleList(
            GatedLayer(
                colours if i == 0 else hidden,
                hidden,
                config.first_kernel if i == 0 else config.kernel_size,
                colours,
                first=(i == 0),
                cond_dim=config.cond_dim,
            )
            for i in range(config.num_layers)
        )
        self.head = output_head(hidden, colours)

    def network(self, inp: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        v = h = inp
        for layer in self.layers:
            v, h = layer(v, h, cond)
        return head_to_logits(self.head(h), self.image_shape[0])
