"""DCGAN-style convolutional encoder and decoder builders (Radford et al. 2016).

Encoder: 4x4 stride-2 convolutions halve the side until it is at most 4 (64 -> 32 -> 16 -> 8 -> 4,
32 -> ... -> 4, 28 -> 14 -> 7 -> 3), channels doubling from `base_channels`, batch-norm on every
layer but the first, LeakyReLU(0.2); then a linear head. Decoder: the mirror image with transposed
convolutions (output padding chosen so odd sides such as 7 -> 14 -> 28 come back exactly), ReLU, and
a final layer producing logits; the likelihood maps them to means in [0, 1] with a sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

MIN_SIDE = 8
MAX_CHANNEL_MULTIPLIER = 8


def downsampled_sides(side: int) -> list[int]:
    """Spatial sides after each stride-2 layer, input side first: 64 -> [64, 32, 16, 8, 4]."""
    if side < MIN_SIDE:
        raise ValueError(f"image side {side} is too small; the convolutional models need at least {MIN_SIDE}")
    sides = [side]
    while sides[-1] > 4:
        sides.append(sides[-1] // 2)
    return sides


def _channels(base: int, n_layers: int) -> list[int]:
    return [base * min(2**i, MAX_CHANNEL_MULTIPLIER) for i in range(n_layers)]


class ConvEncoder(nn.Module):
    """x [B, C, H, H] -> features [B, out_features] through the DCGAN discriminator trunk; `dropout` > 0
    drops the inputs of every layer after the first (a discriminator's regulariser, as in ALI's code)."""

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, base_channels: int = 32,
                 dropout: float = 0.0) -> None:
        super().__init__()
        channels, side, width = image_shape
        if side != width:
            raise ValueError(f"images must be square, got {side}x{width}")
        sides = downsampled_sides(side)
        widths = _channels(base_channels, len(sides) - 1)
        layers: list[nn.Module] = []
        in_ch = channels
        for i, out_ch in enumerate(widths):
            if dropout > 0 and i > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        self.trunk = nn.Sequential(*layers)
        head = nn.Linear(in_ch * sides[-1] ** 2, out_features)
        self.head = nn.Sequential(nn.Dropout(dropout), head) if dropout > 0 else head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).flatten(1))


class ConvDecoder(nn.Module):
    """z [B, D] -> logits [B, C, H, H] through the DCGAN generator (the encoder's mirror image)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, base_channels: int = 32) -> None:
        super().__init__()
        channels, side, _ = image_shape
        sides = downsampled_sides(side)
        widths = _channels(base_channels, len(sides) - 1)
        self.start_channels, self.start_side = widths[-1], sides[-1]
        self.project = nn.Sequential(
            nn.Linear(latent_dim, widths[-1] * sides[-1] ** 2, bias=False),
            nn.BatchNorm1d(widths[-1] * sides[-1] ** 2),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        # Walk back up: widths[-1] at sides[-1] ... to `channels` at sides[0].
        targets = list(zip(reversed(widths[:-1]), reversed(sides[1:-1]))) + [(channels, sides[0])]
        in_ch, in_side = widths[-1], sides[-1]
        for j, (out_ch, out_side) in enumerate(targets):
            last = j == len(targets) - 1
            output_padding = out_side - 2 * in_side  # 0, or 1 for odd sides (3 -> 7)
            layers.append(
                nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, output_padding=output_padding, bias=last)
            )
            if not last:
                layers += [nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
            in_ch, in_side = out_ch, out_side
        self.trunk = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.start_channels, self.start_side, self.start_side)
        return self.trunk(h)
