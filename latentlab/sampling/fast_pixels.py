"""Fast sampling of the autoregressive pixel models by per-layer activation caching (Ramachandran,
Le Paine, Khorrami, Babaeizadeh, Chang, Zhang, Hasegawa-Johnson, Campbell & Huang 2017, "Fast
Generation for Convolutional Autoregressive Models").

Naive sampling recomputes every activation of the whole image for each of the H * W * C sub-pixels.
With masks A/B (`models/pixelcnn.py`) the activation of any layer at position q = (r, c) depends only
on the input at positions strictly before q in raster order, plus, at q itself, the earlier colour
groups. So once a position p < q has been drawn completely, every layer's activation at p is final:
drawing later sub-pixels can never change it. An evaluator keeps, for every layer l, a full-size
cache a^l [N, C_l, H, W] of the activations computed so far (stored with the zero padding of the
convolution that reads it) and, for the next position q, computes only

    a^{l+1}_q = f_l( b_l + sum_{(i, j) in M_l} (W_l ⊙ mask_l)[:, :, i, j] a^l_{q + (i, j)} ),

where M_l holds the kernel offsets the mask keeps (rows above q, columns left of q on its row, q
itself for the allowed colour groups): all point at positions <= q, whose cached values are final
(or, at q, were written just before). One step costs one kernel application per layer at one
position instead of a forward pass over all H * W positions.

Colour images (R -> G -> B): the logits of G at q depend on the value of R at q, so the column of
activations at q is recomputed after each sub-pixel is drawn, three single-position passes per
pixel. At the pass for colour k the features of colour groups > k at q read not-yet-drawn values;
they are provisional and get overwritten by the later passes, and nothing before them reads them.

Two pieces are row-wise rather than position-wise, at the same cost per position:
* the Gated PixelCNN's vertical stack: v at row r sees k//2 columns right of c on row r, so it is
  only final once row r is complete; the horizontal stack reads it shifted down a row, so row r - 1
  of every layer's vertical stack is computed (one row-strip convolution per layer) when row r starts;
* the Row LSTM's state-to-state term: it convolves the whole previous row of hidden states, final
  once that row is complete, so it is computed once at the start of each row.

The per-position products use each module's own weights (masked on the fly when the evaluator is
built, one per sampling run), so they match the full forward pass up to float round-off.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.gated_pixelcnn import GatedPixelCNN, gate
from latentlab.models.pixelcnn import LEVELS, AutoregressiveModel, MaskedConv2d, PixelCNN, levels_to_input
from latentlab.models.pixelrnn import RowLSTMPixelRNN


class ActivationCache:
    """One layer's activations [N, C, H, W], stored with `top` rows of zeros above and `side` columns
    of zeros left and right: the zero padding of the convolution that reads them, so windows at the
    border need no special case. Positions not yet computed hold zeros; masks give them zero weight."""

    def __init__(self, like: torch.Tensor, n: int, channels: int, shape: tuple[int, int], top: int, side: int) -> None:
        height, width = shape
        self.top, self.side, self.width = top, side, width
        self.values = like.new_zeros(n, channels, top + height, width + 2 * side)

    def write(self, r: int, c: int, value: torch.Tensor) -> None:
        """Store value [N, C] at position (r, c)."""
        self.values[:, :, self.top + r, self.side + c] = value

    def write_row(self, r: int, row: torch.Tensor) -> None:
        """Store row [N, C, W'] as the first W' <= W positions of row r."""
        self.values[:, :, self.top + r, self.side : self.side + row.shape[2]] = row

    def at(self, r: int, c: int) -> torch.Tensor:
        """[N, C] at (r, c); r may be -1 .. -top (the zero padding above the image)."""
        return self.values[:, :, self.top + r, self.side + c]

    def window(self, r: int, c: int, rows: int, before: int, after: int) -> torch.Tensor:
        """[N, C, rows, before + 1 + after]: rows r - rows + 1 .. r, columns c - before .. c + after."""
        row, col = self.top + r, self.side + c
        return self.values[:, :, row - rows + 1 : row + 1, col - before : col + after + 1]

    def strip(self, r: int, rows: int) -> torch.Tensor:
        """[N, C, rows, W + 2 * side]: rows r - rows + 1 .. r with their side padding."""
        row = self.top + r
        return self.values[:, :, row - rows + 1 : row + 1, :]


class MaskedKernelAtPosition:
    """A `MaskedConv2d` evaluated at one position, as one matrix product over its kept offsets.

    The mask zeroes every row below the centre, so only the top kh//2 + 1 rows enter; for a one-row
    kernel (1 x k) it also zeroes every column right of the centre, so those are dropped too. The
    remaining zeros of the mask (right of the centre on its row, the centre's later colour groups)
    stay in the matrix as zeros: the cached values they meet are provisional or zero."""

    def __init__(self, conv: MaskedConv2d) -> None:
        kh, kw = conv.kernel_size
        self.rows, self.before = kh // 2 + 1, kw // 2
        self.after = kw // 2 if kh > 1 else 0
        with torch.no_grad():
            kept = (conv.weight * conv.mask)[:, :, : self.rows, : self.before + 1 + self.after]
            self.matrix = kept.flatten(1).t().contiguous()  # [C_in * rows * cols, C_out]
        self.bias = conv.bias

    def __call__(self, cache: ActivationCache, r: int, c: int) -> torch.Tensor:
        """[N, C_out]: the convolution's output at (r, c) from the cached input."""
        window = cache.window(r, c, self.rows, self.before, self.after)
        return self.apply(window.reshape(window.shape[0], -1))

    def apply(self, flat_window: torch.Tensor) -> torch.Tensor:
        """[N, C_in * rows * cols] (for a 1x1 kernel: the input vector [N, C_in]) -> [N, C_out]."""
        if self.bias is None:
            return flat_window @ self.matrix
        return torch.addmm(self.bias, flat_window, self.matrix)


def pointwise_at_position(head: nn.Sequential) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """The 1x1 output head as functions of one position's vector [N, C]: its 1x1 convolutions become
    matrix products and its elementwise activations apply unchanged."""
    steps: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for module in head:
        if isinstance(module, MaskedConv2d) and module.kernel_size == (1, 1):
            steps.append(MaskedKernelAtPosition(module).apply)
        elif isinstance(module, nn.ELU):
            steps.append(module)
        else:
            raise TypeError(f"no per-position form for {type(module).__name__} in the output head")
    return steps


class IncrementalEvaluator:
    """Logits at one position from per-layer activation caches (see the module docstring).

    Protocol, driven by the sampler in raster order over the uint8 image it is drawing:
    `start_row(image, r)` before the first position of row r (rows < r are complete), then
    `logits_at(image, r, c) -> [N, 256, C]` once per sub-pixel of (r, c), after each draw, so that
    the pass for colour k sees the colours < k already drawn at (r, c).

    Subclasses hold the hidden layers: `position_logits(r, c)` computes every layer at (r, c) from
    `self.inputs` (the network input, already up to date) and their caches; `row_started(r)` does
    their row-wise work."""

    def __init__(self, model: AutoregressiveModel, n: int) -> None:
        self.colours, height, width = model.image_shape
        self.shape = (height, width)
        self.n = n
        self.like = next(model.parameters())  # device and dtype of the caches
        self.inputs = self.cache(self.colours, model.config.first_kernel // 2, model.config.first_kernel // 2)
        self.head = pointwise_at_position(model.head)

    def cache(self, channels: int, top: int, side: int) -> ActivationCache:
        return ActivationCache(self.like, self.n, channels, self.shape, top, side)

    def network_input(self, levels: torch.Tensor) -> torch.Tensor:
        return levels_to_input(levels).to(self.like.dtype)

    def start_row(self, image: torch.Tensor, r: int) -> None:
        # A pixel's last colour is drawn after its last pass, so the input cache learns it here (the
        # last pixel of row r - 1) or at the next pass on the same row (see `logits_at`).
        if r > 0:
            self.inputs.write_row(r - 1, self.network_input(image[:, :, r - 1, :]))
        self.row_started(r)

    def logits_at(self, image: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """[N, 256, C] logits at (r, c); those of colour k are exact once colours < k are drawn."""
        # Row r up to c: the pixels left of c are complete; at c the undrawn colours are masked out.
        self.inputs.write_row(r, self.network_input(image[:, :, r, : c + 1]))
        return self.position_logits(r, c)

    def row_started(self, r: int) -> None:
        """Row-wise work that needs rows < r complete (none by default)."""

    def position_logits(self, r: int, c: int) -> torch.Tensor:
        raise NotImplementedError

    def head_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Last hidden layer at one position [N, hidden] -> logits [N, 256, C]."""
        for step in self.head:
            features = step(features)
        return features.view(self.n, self.colours, LEVELS).transpose(1, 2)


class PixelCNNEvaluator(IncrementalEvaluator):
    """PixelCNN: mask-A k x k input convolution, residual blocks x + 1x1_B(ELU(k x k_B(ELU(x)))), the
    1x1 head. Cached per block: ELU(x), the input of its k x k convolution."""

    def __init__(self, model: PixelCNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden = model.config.hidden_channels
        self.first = MaskedKernelAtPosition(model.input_conv)
        self.blocks = [(MaskedKernelAtPosition(b.conv), MaskedKernelAtPosition(b.mix)) for b in model.blocks]
        side = model.config.kernel_size // 2
        self.block_inputs = [self.cache(hidden, side, side) for _ in self.blocks]

    def position_logits(self, r: int, c: int) -> torch.Tensor:
        x = self.first(self.inputs, r, c)
        for (conv, mix), cache in zip(self.blocks, self.block_inputs):
            # Written before the k x k conv reads its window: mask B lets it see q's own earlier
            # colour groups; every other offset it keeps lies before q, final since its last pass.
            cache.write(r, c, F.elu(x))
            x = x + mix.apply(F.elu(conv(cache, r, c)))
        return self.head_logits(x)


class GatedPixelCNNEvaluator(IncrementalEvaluator):
    """Gated PixelCNN. Per layer: the vertical stack's input (cached, padded like the forward's
    F.pad: k//2 rows on top, k//2 columns each side), the horizontal stack's input (cached, k//2
    columns each side; the first layer's is the image input for both stacks), and the link term
    link(v_pre) of the previous row, which the horizontal stack adds at every position of row r."""

    def __init__(self, model: GatedPixelCNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden = model.config.hidden_channels
        self.layers = list(model.layers)
        later = model.config.kernel_size // 2
        # index i: the input of layer i (layer 0 reads the network input for both stacks)
        self.vertical_inputs = [self.inputs] + [self.cache(hidden, later, later) for _ in self.layers[1:]]
        self.horizontal_inputs = [self.inputs] + [self.cache(hidden, 0, later) for _ in self.layers[1:]]
        self.horizontal = [MaskedKernelAtPosition(layer.horizontal) for layer in self.layers]
        self.out = [MaskedKernelAtPosition(layer.out) for layer in self.layers]
        self.cond_v = [None if cond is None else layer.cond_v(cond) for layer in self.layers]
        self.cond_h = [None if cond is None else layer.cond_h(cond) for layer in self.layers]
        self.links: list[torch.Tensor] = []  # [N, 2 * hidden, W] per layer: link(v_pre) of row r - 1

    def row_started(self, r: int) -> None:
        """Row r - 1 of the vertical stack, now final: every image row <= r - 1 is drawn. Row 0 gets
        link(0), as the forward's shift_down puts zeros above the first row."""
        self.links = []
        for i, layer in enumerate(self.layers):
            rows = layer.kernel // 2 + 1
            if r == 0:
                v_pre = self.like.new_zeros(self.n, layer.vertical.out_channels, 1, self.shape[1])
            else:
                v_pre = layer.vertical(self.vertical_inputs[i].strip(r - 1, rows))  # [N, 2h, 1, W]
            self.links.append(layer.link(v_pre)[:, :, 0])
            if r > 0 and i + 1 < len(self.layers):  # the last layer's vertical output is unused
                if self.cond_v[i] is not None:
                    v_pre = v_pre + self.cond_v[i][:, :, None, None]
                self.vertical_inputs[i + 1].write_row(r - 1, gate(v_pre)[:, :, 0])

    def position_logits(self, r: int, c: int) -> torch.Tensor:
        h = None
        for i, layer in enumerate(self.layers):
            if i > 0:  # the 1 x k kernel reads q (mask B) and the final positions left of it
                self.horizontal_inputs[i].write(r, c, h)
            pre = self.horizontal[i](self.horizontal_inputs[i], r, c) + self.links[i][:, :, c]
            if self.cond_h[i] is not None:
                pre = pre + self.cond_h[i]
            h_out = self.out[i].apply(gate(pre))
            h = h_out if layer.first else h + h_out
        return self.head_logits(h)


class RowLSTMEvaluator(IncrementalEvaluator):
    """Row LSTM. Per layer: its input x (cached for the 1 x 3 mask-B input-to-state kernel), the hidden
    and cell states (cached with a zero row on top: the states "above" row 0), and the previous
    row's state-to-state term, computed once per row since that row is complete."""

    def __init__(self, model: RowLSTMPixelRNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden = model.config.hidden_channels
        self.layers = list(model.layers)
        self.first = MaskedKernelAtPosition(model.input_conv)
        self.input_to_state = [MaskedKernelAtPosition(layer.input_to_state) for layer in self.layers]
        self.layer_inputs = [self.cache(hidden, 0, 1) for _ in self.layers]
        self.hidden_states = [self.cache(hidden, 1, 0) for _ in self.layers]
        self.cell_states = [self.cache(hidden, 1, 0) for _ in self.layers]
        self.state_terms: list[torch.Tensor] = []  # [N, 4 * hidden, W] per layer

    def row_started(self, r: int) -> None:
        """K_ss ⊛ h_{r-1} for every layer (h_{-1} = 0, the zero row on top of the cache)."""
        self.state_terms = [
            layer.state_to_state(states.strip(r - 1, 1)[:, :, 0, :])
            for layer, states in zip(self.layers, self.hidden_states)
        ]

    def position_logits(self, r: int, c: int) -> torch.Tensor:
        x = self.first(self.inputs, r, c)
        for i in range(len(self.layers)):
            self.layer_inputs[i].write(r, c, x)  # the 1 x 3 mask-B kernel reads q and its final left neighbour
            pre = self.input_to_state[i](self.layer_inputs[i], r, c) + self.state_terms[i][:, :, c]
            in_gate, forget, out_gate, candidate = pre.chunk(4, dim=1)
            previous_cell = self.cell_states[i].at(r - 1, c)  # row r - 1 is complete, so final
            cell = torch.sigmoid(forget) * previous_cell + torch.sigmoid(in_gate) * torch.tanh(candidate)
            state = torch.sigmoid(out_gate) * torch.tanh(cell)
            self.cell_states[i].write(r, c, cell)
            self.hidden_states[i].write(r, c, state)
            x = x + state
        return self.head_logits(x)


EVALUATORS: dict[type, type[IncrementalEvaluator]] = {
    PixelCNN: PixelCNNEvaluator,
    GatedPixelCNN: GatedPixelCNNEvaluator,
    RowLSTMPixelRNN: RowLSTMEvaluator,
}


def incremental_evaluator(model: AutoregressiveModel, n: int, cond: torch.Tensor | None) -> IncrementalEvaluator:
    """The evaluator of `model`'s family for n images; cond: [n, cond_dim] or None (checked)."""
    cond = model._check_cond(cond, n)
    for family, evaluator in EVALUATORS.items():
        if isinstance(model, family):
            return evaluator(model, n, None if cond is None else cond.to(next(model.parameters()).device))
    raise ValueError(f"no fast sampler for {type(model).__name__}; use mode 'cached' or 'naive'")
