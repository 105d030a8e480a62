"""PixelRNN with Row LSTM layers (van den Oord, Kalchbrenner & Kavukcuoglu 2016), small version.

Layout: a mask-A k x k convolution of the image (as in PixelCNN, so no layer after it ever sees the
current sub-pixel), `num_layers` residual Row LSTM layers, and the PixelCNN 1x1 mask-B output head
to [B, 256, C, H, W] logits.

A Row LSTM layer processes the image one row at a time, computing a whole row in parallel:

    [i, f, o, g]_r = K_is ⊛ x_r  +  K_ss ⊛ h_{r-1}
    c_r = sigmoid(f) ⊙ c_{r-1} + sigmoid(i) ⊙ tanh(g)
    h_r = sigmoid(o) ⊙ tanh(c_r)

K_is (input-to-state) is a 1 x 3 convolution along the row with mask B (left neighbour and the
centre's already-allowed colour groups; colour groups R -> G -> B as in `pixelcnn.py`, the four gate
blocks grouped alike so the elementwise products keep the ordering). K_ss (state-to-state) is an
unmasked 1-D convolution of width 3 over the previous row's state h_{r-1}, which only depends on
rows < r. Output: x + h (residual). The context is triangular (it widens by one column per row
upwards), as in the paper's Row LSTM.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
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
class RowLSTMConfig:
    """image_shape: (C, H, W), C in {1, 3}.  hidden_channels: LSTM state size (multiple of C).
    num_layers: Row LSTM layers.  first_kernel: odd size of the mask-A input convolution."""

    image_shape: tuple[int, int, int] = (3, 32, 32)
    hidden_channels: int = 30
    num_layers: int = 2
    first_kernel: int = 7

    def validate(self) -> None:
        validate_pixel_config(self, min_layers=1, kernels=("first_kernel",))


class RowLSTMLayer(nn.Module):
    def __init__(self, hidden: int, colours: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(
            hidden, 4 * hidden, (1, 3), "B", colours, out_groups=colour_groups(hidden, colours).repeat(4)
        )
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        pre = self.input_to_state(x)  # [B, 4h, H, W], all rows at once
        h = x.new_zeros(batch, self.hidden, width)
        c = x.new_zeros(batch, self.hidden, width)
        rows = []
        for r in range(height):
            i, f, o, g = (pre[:, :, r, :] + self.state_to_state(h)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            rows.append(h)
        return x + torch.stack(rows, dim=2)


@register("row_lstm", RowLSTMConfig, "PixelRNN (Row LSTM): row-by-row LSTM over masked convolution features")
class RowLSTMPixelRNN(AutoregressiveModel):
    def __init__(self, config: RowLSTMConfig) -> None:
        super().__init__(config)
        colours, hidden = config.image_shape[0], config.hidden_channels
        self.input_conv = MaskedConv2d(colours, hidden, config.first_kernel, "A", colours)
        self.layers = nn.Sequential(*[RowLSTMLayer(hidden, colours) for _ in range(config.num_layers)])
        self.head = output_head(hidden, colours)

    def network(self, inp: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return head_to_logits(self.head(self.layers(self.input_conv(inp))), self.image_shape[0])
