"""Fast sampling of the autoregressive pixel models by per-layer activation caching (Ramachandran,
Le Paine, Khorrami, Babaeizadeh, Chang, Zhang, Hasegawa-Johnson, Campbell & Huang 2017, "Fast
Generation for Convolutional Autoregressive Models").

Naive sampling recomputes every activation of the whole image for each of the H * W * C sub-pixels.
With masks A/B (`models/pixelcnn.py`) the activation of any layer at position q = (r, c) depends only
on the input at positions strictly before q in raster order, plus, at q itself, the earlier colour
groups. So once a position p < q has been drawn completely, every layer's activation at p is final:
drawing later sub-pixels can never change it. An evaluator keeps, for every layer l, a full-size
cache a^l [N, H, W, C_l] (channels last) of the activations computed so far (stored with the zero padding of the
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

At 28x28 a step's cost is the fixed cost of its PyTorch calls (a few microseconds each, views
included), not its arithmetic, so the per-position loop makes as few as it can:
* `RowWindowCache` (PixelCNN, the mask-A input layers, the Row LSTM) keeps only the k//2 + 1 rows a
  k x k kernel reads, interleaved by column, so its whole window at (r, c) is one contiguous view
  made once per run, and the kernel (bias included) is one matrix product; its slots shift up when
  a row is complete. The Row LSTM stacks K_ss (over h_{r-1}) and K_is (over x_r) into one window
  and one product the same way;
* the Gated PixelCNN's 1 x k horizontal kernels (`CentreRowKernel`) read a channels-last cache of the
  whole image through prebuilt window views; their per-row term (bias, link of the vertical stack,
  conditioning) is computed once per row;
* PixelCNN and the Row LSTM cache the input as raw levels 0..255, the scaling v / 127.5 - 1 folded
  into the first kernel (`levels_kernel`), so a drawn value enters the cache with one copy;
* results go straight into the caches and reused buffers with `out=` (a residual sum in place);
  1x1 convolutions fold their bias into the matrix (a product with [x, 1]), the others' biases are
  expanded to the batch once per run; the head computes only the drawn colour's block.
Each is the convolution's own sum in another order, so the logits match the full forward pass up
to float round-off, and the sampler draws the same values.

Two more pieces are row-wise rather than position-wise, at the same cost per position:
* the Gated PixelCNN's vertical stack: v at row r sees k//2 columns right of c on row r, so it is
  only final once row r is complete; the horizontal stack reads it shifted down a row, so row r - 1
  of every layer's vertical stack is computed (one row-strip convolution per layer) when row r starts;
* the Row LSTM's h_{r-1}: final once row r - 1 is complete, so it is copied into the state-to-state
  slot once at the start of each row.

The per-position products use each module's own weights (masked on the fly when the evaluator is
built, one per sampling run), so they match the full forward pass up to float round-off.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from latentlab.models.gated_pixelcnn import GatedPixelCNN, gate
from latentlab.models.pixelcnn import LEVELS, AutoregressiveModel, MaskedConv2d, PixelCNN
from latentlab.models.pixelrnn import RowLSTMPixelRNN

# ELU writing into a given tensor (`out=`): one call where F.elu plus a copy would be two.
_elu_into = torch._C._nn.elu


class ActivationCache:
    """One layer's activations, channels last: values [N, top + H, side + W + side, C], with `top`
    rows of zeros above the image and `side` columns of zeros left and right (the zero padding of the
    convolution that reads them, so windows at the border need no special case). Positions not yet
    computed hold zeros; masks give them zero weight.

    Channels last puts one row's consecutive positions side by side in memory, so the centre-row
    window of a kernel (columns c - before .. c of row r) is a plain 2-D view [N, (before + 1) * C]
    that a matrix product reads in place. Every such view, and every position's [N, C] view, is
    made once per sampling run (a few `unbind` calls per row), so the per-position loop indexes
    Python lists instead of slicing tensors."""

    def __init__(self, like: torch.Tensor, n: int, channels: int, shape: tuple[int, int], top: int, side: int) -> None:
        height, width = shape
        self.top, self.side, self.height, self.width, self.channels = top, side, height, width, channels
        self.values = like.new_zeros(n, top + height, width + 2 * side, channels)
        self._windows: dict[int, list[tuple[torch.Tensor, ...]]] = {}

    @functools.cached_property
    def cells(self) -> list[tuple[torch.Tensor, ...]]:
        """cells[top + r][c]: [N, C] view at (r, c); rows -top .. -1 are the zero padding. Made on
        first use: a view costs about as much as a small operation, so caches that are written a
        row at a time (`write_row`) never make them."""
        return [row.unbind(1) for row in self.values[:, :, self.side : self.side + self.width].unbind(1)]

    def at(self, r: int, c: int) -> torch.Tensor:
        """[N, C] view at (r, c); r may be -1 .. -top (the zero padding above the image)."""
        return self.cells[self.top + r][c]

    @functools.cached_property
    def pairs(self) -> list[tuple[torch.Tensor, ...]]:
        """pairs[r][c - 1]: [N, C, 2] view of (r, c - 1), (r, c), laid out like image[:, :, r, c-1:c+1]."""
        pairs = self.values[:, self.top :, self.side : self.side + self.width].unfold(2, 2, 1)  # [N, H, W - 1, C, 2]
        return [row.unbind(1) for row in pairs.unbind(1)]

    def windows(self, before: int) -> list[tuple[torch.Tensor, ...]]:
        """windows[r][c]: [N, (before + 1) * C] view of columns c - before .. c of row r (column-major
        over (column, channel), as `CentreRowKernel.matrix` expects); needs before <= side."""
        if before not in self._windows:
            n, rows, cols, channels = self.values.shape
            flat = self.values.view(n, rows, cols * channels)
            first = self.side - before  # the window of column 0 starts there
            self._windows[before] = [
                flat[:, self.top + r]
                .unfold(1, (before + 1) * channels, channels)[:, first : first + self.width]
                .unbind(1)
                for r in range(self.height)
            ]
        return self._windows[before]

    def strip(self, r: int, rows: int) -> torch.Tensor:
        """Channels first [N, C, rows, W + 2 * side]: rows r - rows + 1 .. r with their side padding."""
        row = self.top + r
        return self.values[:, row - rows + 1 : row + 1].permute(0, 3, 1, 2)

    def write_row(self, r: int, row: torch.Tensor) -> None:
        """Store row [N, C, W] as row r."""
        self.values[:, self.top + r, self.side : self.side + self.width] = row.transpose(1, 2)



class RowWindowCache:
    """The last k//2 + 1 rows of one layer's activations, for a masked k x k kernel that reads them:
    values [N, side + W + side, k//2 + 1, C], the rows interleaved by column (slot k//2: row r, being
    computed; slots above it: rows r - k//2 .. r - 1, final), zero padding around.

    Interleaving puts the kernel's whole window at (r, c), columns c - side .. c + side of every
    slot, in one contiguous run of memory: `windows[c]` is a 2-D view [N, k * (k//2 + 1) * C] made once
    per run, and one matrix product with `window_matrix` applies the kernel, bias included. Its
    offsets on row r right of c, and q's later colour groups, hold stale or provisional values (the
    previous row's, or this pass's); the mask gives them zero weight. `next_row` shifts the slots
    when a row is complete."""

    def __init__(self, like: torch.Tensor, n: int, channels: int, width: int, rows: int, side: int,
                 padding: float = 0.0) -> None:
        self.rows, self.side, self.width = rows, side, width
        self.values = like.new_full((n, width + 2 * side, rows, channels), padding)
        per_column = rows * channels
        flat = self.values.view(n, -1)
        self.windows = flat.unfold(1, (2 * side + 1) * per_column, per_column).unbind(1)  # W views
        self.cells = self.values[:, side : side + width, rows - 1].unbind(1)  # [N, C] at (r, c)
        # [N, C, 2] at (r, c - 1), (r, c), laid out like image[:, :, r, c-1:c+1]
        self._pairs = self.values[:, side : side + width, rows - 1].unfold(1, 2, 1).unbind(1)

    @property
    def pairs(self) -> list[tuple[torch.Tensor, ...]]:
        """pairs[r][c - 1] as `ActivationCache.pairs` (any r: row r is the one in the current slot)."""
        return _AnyRow(self._pairs)

    def at(self, r: int, c: int) -> torch.Tensor:
        return self.cells[c]

    def write_row(self, r: int, row: torch.Tensor) -> None:
        """Store row [N, C, W] in the current slot (row r, now complete)."""
        self.values[:, self.side : self.side + self.width, self.rows - 1] = row.transpose(1, 2)

    def next_row(self) -> None:
        """The current row is complete: every slot moves up one; the current slot keeps its values
        (stale, at zero weight) until the new row overwrites them."""
        if self.rows > 1:
            self.values[:, :, :-1] = self.values[:, :, 1:].clone()

    @staticmethod
    def window_matrix(conv: MaskedConv2d) -> torch.Tensor:
        """The masked kernel's rows 0 .. kh//2 as [kw * (kh//2 + 1) * C_in, C_out], ordered like a
        window (column, row, channel)."""
        kh, _ = conv.kernel_size
        weight = (conv.weight * conv.mask).detach()[:, :, : kh // 2 + 1]
        return weight.permute(3, 2, 1, 0).reshape(-1, weight.shape[0]).contiguous()


def levels_kernel(conv: MaskedConv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(window matrix, bias) of a mask-A input convolution that reads raw levels v in 0..255 instead of
    the network input x = v / 127.5 - 1 (`levels_to_input`): W x + b = (W / 127.5) v + (b - sum W),
    where sum W runs over the kept taps. Every tap reads an image position or the padding; a cache of
    levels holds LEVEL_PADDING (x = 0) in its padding, so the sum is exact there too. The sampler
    then writes a drawn level straight into the cache (one copy) instead of scaling it (two operations
    per sub-pixel). Equal to the forward pass up to float round-off."""
    matrix = RowWindowCache.window_matrix(conv)
    return (matrix / 127.5).contiguous(), (conv.bias.detach() - matrix.sum(dim=0)).contiguous()


LEVEL_PADDING = 127.5  # the level whose network input is 0: the zero padding of a cache of levels


class _AnyRow:
    """[r] -> the same per-column views for every row r."""

    def __init__(self, views) -> None:
        self.views = views

    def __getitem__(self, r: int):
        return self.views


class CentreRowKernel:
    """A `MaskedConv2d` at one position, split by rows of its (masked) kernel.

    The mask keeps the rows above the centre whole and, on the centre row, the columns up to the
    centre (the centre itself only for the allowed colour groups); every row below is zero. The rows
    above read rows < r, which are final once row r starts, so `row_terms` convolves them for the
    whole row at once (bias included); per position only the centre row is left: one matrix product
    of the window of columns c - kw//2 .. c (`ActivationCache.windows`) with `matrix`. The centre's
    masked-out colour groups stay in `matrix` as zeros: the cached values they meet are provisional
    (later colours of the same pixel) and must not count."""

    def __init__(self, conv: MaskedConv2d) -> None:
        kh, kw = conv.kernel_size
        weight = (conv.weight * conv.mask).detach()
        out_channels = weight.shape[0]
        self.above, self.before = kh // 2, kw // 2
        self.above_weight = weight[:, :, : self.above].contiguous() if self.above else None
        # [(kw//2 + 1) * C_in, C_out], row j * C_in + i: column c - kw//2 + j, input channel i
        self.matrix = weight[:, :, self.above, : self.before + 1].permute(2, 1, 0).reshape(-1, out_channels).contiguous()
        self.bias = conv.bias.detach() if conv.bias is not None else weight.new_zeros(out_channels)

    def row_terms(self, cache: ActivationCache, r: int, n: int, extra: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """Per column c of row r: [N, C_out], bias + the rows above (+ extra [N, C_out, W] if given),
        each contiguous (the matrix products read it as their added term)."""
        if self.above:
            terms = F.conv2d(cache.strip(r - 1, self.above), self.above_weight, self.bias)[:, :, 0]  # [N, C_out, W]
        else:
            terms = self.bias[None, :, None].expand(n, -1, cache.width)
        if extra is not None:
            terms = terms + extra
        return terms.permute(2, 0, 1).contiguous().unbind(0)


def with_bias_row(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """1x1 convolution [C_out, C_in, 1, 1] (+ bias) as one matrix [C_in + 1, C_out] whose last row is
    the bias: its product with [x, 1] (see `BiasInput`) is the convolution, in one call."""
    matrix = weight.detach()[:, :, 0, 0].t()
    bias = weight.new_zeros(weight.shape[0]) if bias is None else bias.detach()
    return torch.cat([matrix, bias[None]]).contiguous()


def per_image(bias: torch.Tensor, n: int) -> torch.Tensor:
    """bias [C] as [n, C] (a view): `addmm` then adds it as it is, where a [C] bias is expanded anew at
    every call (a measurable share of a 28x28 step, made of a few dozen such calls)."""
    return bias.expand(n, -1)


class BiasInput:
    """A reused [N, C + 1] buffer whose last column holds ones: `values` (its first C columns) is
    written with `out=`, and `augmented` times a `with_bias_row` matrix applies weight and bias."""

    def __init__(self, like: torch.Tensor, n: int, channels: int) -> None:
        self.augmented = like.new_ones(n, channels + 1)
        self.values = self.augmented[:, :channels]


class Head:
    """The 1x1 output head ELU -> 1x1 -> ELU -> 1x1 at one position: [N, hidden] -> [N, C * 256]."""

    def __init__(self, model: AutoregressiveModel, like: torch.Tensor, n: int) -> None:
        _, first, _, last = model.head
        self.first, self.last = with_bias_row(first.weight * first.mask, first.bias), with_bias_row(
            last.weight * last.mask, last.bias
        )
        self.inputs = BiasInput(like, n, first.in_channels)
        self.hidden = BiasInput(like, n, first.out_channels)
        self.first_out = like.new_zeros(n, first.out_channels)
        self.last_per_colour = [block.contiguous() for block in self.last.split(LEVELS, dim=1)]

    def __call__(self, features: torch.Tensor, colour: int | None = None) -> torch.Tensor:
        """[N, C * 256] logits, or [N, 256] those of one colour (its block of the last 1x1 only)."""
        _elu_into(features, out=self.inputs.values)
        _elu_into(torch.mm(self.inputs.augmented, self.first, out=self.first_out), out=self.hidden.values)
        return torch.mm(self.hidden.augmented, self.last if colour is None else self.last_per_colour[colour])


class IncrementalEvaluator:
    """Logits at one position from per-layer activation caches (see the module docstring).

    Protocol, driven by the sampler in raster order over the uint8 image it is drawing:
    `start_row(image, r)` before the first position of row r (rows < r are complete), then
    `logits_at(image, r, c) -> [N, 256, C]` once per sub-pixel of (r, c), after each draw, so that
    the pass for colour k sees the colours < k already drawn at (r, c).

    Subclasses hold the hidden layers: `position_logits(r, c)` computes every layer at (r, c) from
    `self.inputs` (the network input, already up to date) and their caches, and returns the last
    hidden layer's [N, hidden] there; `row_started(r)` does their row-wise work. Subclasses whose input
    cache holds raw levels (`reads_levels`; their first kernel from `levels_kernel`) are written a copy
    of the image, the others its network input."""

    reads_levels = False

    def __init__(self, model: AutoregressiveModel, n: int) -> None:
        self.colours, height, width = model.image_shape
        self.shape = (height, width)
        self.n = n
        self.like = next(model.parameters())  # device and dtype of the caches
        side = model.config.first_kernel // 2
        self.inputs = self.input_cache(side)
        self.input_pairs = self.inputs.pairs
        self.head = Head(model, self.like, n)
        self._viewed_image, self._viewed_row = None, -1  # the image and row `update_inputs` has views of

    def input_cache(self, side: int) -> ActivationCache | RowWindowCache:
        """The network input's cache (k = 2 * side + 1: the first kernel)."""
        return self.cache(self.colours, side, side)

    def cache(self, channels: int, top: int, side: int) -> ActivationCache:
        return ActivationCache(self.like, self.n, channels, self.shape, top, side)

    def start_row(self, image: torch.Tensor, r: int) -> None:
        # A pixel's last colour is drawn after its last pass, so the input cache learns it here (the
        # last pixel of row r - 1) or at the next pass on the same row (see `logits_at`).
        if r > 0:
            row = image[:, :, r - 1].to(self.like.dtype)
            self.inputs.write_row(r - 1, row if self.reads_levels else row.div_(127.5).sub_(1.0))
        self.row_started(r)

    def logits_at(self, image: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """[N, 256, C] logits at (r, c); those of colour k are exact once colours < k are drawn."""
        self.update_inputs(image, r, c)
        return self.head(self.position_features(r, c)).view(self.n, self.colours, LEVELS).transpose(1, 2)

    def colour_logits(self, image: torch.Tensor, r: int, c: int, k: int) -> torch.Tensor:
        """[N, 256]: `logits_at`'s colour k, computing only that colour's block of the head's last layer."""
        self.update_inputs(image, r, c)
        return self.head(self.position_features(r, c), k)

    def update_inputs(self, image: torch.Tensor, r: int, c: int) -> None:
        """Before a pass at (r, c): the network input of (r, c - 1) (complete: its last colour may be
        new) and (r, c) (its undrawn colours are masked out), as `levels_to_input`: v / 127.5 - 1 is
        v / 255 * 2 - 1 exactly in binary floating point (127.5 and the factor 2 are exact); or the
        levels themselves (`reads_levels`)."""
        if image is not self._viewed_image or r != self._viewed_row:
            # row r's [N, C] view at column 0 and [N, C, 2] views of columns c - 1, c (index c - 1),
            # made once per row: slicing the image at every pass costs more than the copy it feeds
            self._viewed_image, self._viewed_row = image, r
            self.image_first, self.image_pairs = image[:, :, r, 0], image[:, :, r].unfold(2, 2, 1).unbind(2)
        if self.reads_levels:
            if c:
                self.input_pairs[r][c - 1].copy_(self.image_pairs[c - 1])
            else:
                self.inputs.at(r, 0).copy_(self.image_first)
        elif c:
            torch.div(self.image_pairs[c - 1], 127.5, out=self.input_pairs[r][c - 1]).sub_(1.0)
        else:
            torch.div(self.image_first, 127.5, out=self.inputs.at(r, 0)).sub_(1.0)

    def row_started(self, r: int) -> None:
        """Row-wise work that needs rows < r complete (none by default)."""

    def position_features(self, r: int, c: int) -> torch.Tensor:
        raise NotImplementedError


class PixelCNNEvaluator(IncrementalEvaluator):
    """PixelCNN: mask-A k x k input convolution, residual blocks x + 1x1_B(ELU(k x k_B(ELU(x)))), the
    1x1 head. Cached (`RowWindowCache`: the rows its kernel reads): the network input, and per block
    ELU(x), the input of its k x k convolution. Each k x k kernel is one product per position."""

    reads_levels = True

    def __init__(self, model: PixelCNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden, width, side = model.config.hidden_channels, self.shape[1], model.config.kernel_size // 2
        matrix, bias = levels_kernel(model.input_conv)
        self.first = matrix, per_image(bias, n)
        self.blocks = [
            (RowWindowCache.window_matrix(b.conv), per_image(b.conv.bias.detach(), n),
             with_bias_row(b.mix.weight * b.mix.mask, b.mix.bias))
            for b in model.blocks
        ]
        self.block_inputs = [RowWindowCache(self.like, n, hidden, width, side + 1, side) for _ in self.blocks]
        self.mixed = BiasInput(self.like, n, hidden)
        # reused buffers (no allocation per step): the k x k outputs, and x (updated in place)
        self.pre = self.like.new_zeros(n, hidden)
        self.residual = self.like.new_zeros(n, hidden)

    def input_cache(self, side: int) -> RowWindowCache:
        return RowWindowCache(self.like, self.n, self.colours, self.shape[1], side + 1, side, LEVEL_PADDING)

    def row_started(self, r: int) -> None:
        if r > 0:
            for cache in [self.inputs, *self.block_inputs]:
                cache.next_row()

    def position_features(self, r: int, c: int) -> torch.Tensor:
        """The last block's output at (r, c), in a buffer reused at the next call."""
        matrix, bias = self.first
        x = torch.addmm(bias, self.inputs.windows[c], matrix, out=self.residual)
        for (conv, bias, mix), cache in zip(self.blocks, self.block_inputs):
            # Written before the k x k conv reads its window: mask B lets it see q's own earlier
            # colour groups; every other offset it keeps lies before q, final since its last pass.
            _elu_into(x, out=cache.cells[c])
            _elu_into(torch.addmm(bias, cache.windows[c], conv, out=self.pre), out=self.mixed.values)
            x.addmm_(self.mixed.augmented, mix)  # x + 1x1 conv (weight, bias), in place: no copy of x
        return x


class GatedPixelCNNEvaluator(IncrementalEvaluator):
    """Gated PixelCNN. Per layer: the vertical stack's input (cached, padded like the forward's
    F.pad: k//2 rows on top, k//2 columns each side), the horizontal stack's input (cached, k//2
    columns each side; the first layer's is the image input for both stacks), and, per row, the
    horizontal stack's row term: its bias plus link(v_pre) of the previous row (plus cond_h)."""

    def __init__(self, model: GatedPixelCNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden = model.config.hidden_channels
        self.hidden = hidden
        self.layers = list(model.layers)
        later = model.config.kernel_size // 2
        # index i: the input of layer i (layer 0 reads the network input for both stacks)
        self.vertical_inputs = [self.inputs] + [self.cache(hidden, later, later) for _ in self.layers[1:]]
        self.horizontal_inputs = [self.inputs] + [self.cache(hidden, 0, later) for _ in self.layers[1:]]
        self.horizontal = [CentreRowKernel(layer.horizontal) for layer in self.layers]
        self.horizontal_windows = [
            cache.windows(kernel.before) for cache, kernel in zip(self.horizontal_inputs, self.horizontal)
        ]
        self.out = [with_bias_row(layer.out.weight * layer.out.mask, layer.out.bias) for layer in self.layers]
        self.cond_v = [None if cond is None else layer.cond_v(cond) for layer in self.layers]
        self.cond_h = [None if cond is None else layer.cond_h(cond)[:, :, None] for layer in self.layers]
        self.gated = BiasInput(self.like, n, hidden)
        # reused buffer of the horizontal pre-activations, its (f, g) halves as views made once
        self.pre = self.like.new_zeros(n, 2 * hidden)
        self.pre_f, self.pre_g = self.pre.chunk(2, dim=1)
        self.row_terms: list[tuple[torch.Tensor, ...]] = []  # per layer, per column: [N, 2 * hidden]

    def row_started(self, r: int) -> None:
        """Row r - 1 of the vertical stack, now final: every image row <= r - 1 is drawn. Row 0 gets
        link(0), as the forward's shift_down puts zeros above the first row."""
        self.row_terms = []
        for i, layer in enumerate(self.layers):
            rows = layer.kernel // 2 + 1
            if r == 0:
                v_pre = self.like.new_zeros(self.n, layer.vertical.out_channels, 1, self.shape[1])
            else:
                v_pre = layer.vertical(self.vertical_inputs[i].strip(r - 1, rows))  # [N, 2h, 1, W]
            extra = layer.link(v_pre)[:, :, 0]
            if self.cond_h[i] is not None:
                extra = extra + self.cond_h[i]
            self.row_terms.append(self.horizontal[i].row_terms(self.horizontal_inputs[i], r, self.n, extra))
            if r > 0 and i + 1 < len(self.layers):  # the last layer's vertical output is unused
                if self.cond_v[i] is not None:
                    v_pre = v_pre + self.cond_v[i][:, :, None, None]
                self.vertical_inputs[i + 1].write_row(r - 1, gate(v_pre)[:, :, 0])

    def position_features(self, r: int, c: int) -> torch.Tensor:
        h = None
        last = len(self.layers) - 1
        for i, (kernel, windows, terms, out) in enumerate(
            zip(self.horizontal, self.horizontal_windows, self.row_terms, self.out)
        ):
            torch.addmm(terms[c], windows[r][c], kernel.matrix, out=self.pre)
            torch.mul(torch.tanh(self.pre_f), torch.sigmoid(self.pre_g), out=self.gated.values)  # gate()
            # h_out (weight and bias in one product), residual after the first layer, written where
            # the next layer's 1 x k kernel reads it (mask B: q itself and the final positions left of it)
            target = None if i == last else self.horizontal_inputs[i + 1].cells[r][c]
            if h is None:
                h = torch.mm(self.gated.augmented, out, out=target)
            else:
                h = torch.addmm(h, self.gated.augmented, out, out=target)
        return h


class RowLSTMEvaluator(IncrementalEvaluator):
    """Row LSTM. Per layer, one `RowWindowCache` of two slots interleaved by column: slot 0 the
    previous row's hidden states h_{r-1} (final: that row is complete), slot 1 the layer's input x
    along row r. The gate pre-activations K_ss ⊛ h_{r-1} + K_is ⊛ x at (r, c) then read columns
    c - 1 .. c + 1 of both slots: one product with the two kernels stacked (`state_matrix`; the
    mask-B K_is gives x right of c zero weight). Row r's hidden states go to a row buffer copied
    into slot 0 when the next row starts; cell states are Python lists (row r - 1 and row r)."""

    reads_levels = True

    def __init__(self, model: RowLSTMPixelRNN, n: int, cond: torch.Tensor | None = None) -> None:
        super().__init__(model, n)
        hidden, width = model.config.hidden_channels, self.shape[1]
        self.layers = list(model.layers)
        matrix, bias = levels_kernel(model.input_conv)
        self.first = matrix, per_image(bias, n)
        for layer in self.layers:
            if layer.input_to_state.kernel_size != (1, 3) or layer.state_to_state.kernel_size != (3,):
                raise ValueError("the Row LSTM evaluator expects width-3 input-to-state and state-to-state kernels")
        self.windows = [RowWindowCache(self.like, n, hidden, width, 2, 1) for _ in self.layers]
        self.matrices = [self.state_matrix(layer) for layer in self.layers]
        self.biases = [per_image((layer.input_to_state.bias + layer.state_to_state.bias).detach(), n)
                       for layer in self.layers]
        self.hidden_rows = [self.like.new_zeros(n, width, hidden) for _ in self.layers]  # h along row r
        self.hidden_cells = [row.unbind(1) for row in self.hidden_rows]
        # where each layer's output x + h goes: the next layer's input slot (the last one's: a new tensor)
        self.outputs = [cache.cells for cache in self.windows[1:]] + [[None] * width]
        self.zero = self.like.new_zeros(n, hidden)
        self.cell_rows = [[self.zero] * width for _ in self.layers]  # row r - 1 (zeros above row 0), then r
        self.previous_cells: list[list[torch.Tensor]] = []
        # Reused buffers with views made once: the gate pre-activations [i, f, o, g] and sigmoid(i, f, o)
        self.pre = self.like.new_zeros(n, 4 * hidden)
        self.pre_ifo, self.pre_g = self.pre.split([3 * hidden, hidden], dim=1)
        self.sigmoids = self.like.new_zeros(n, 3 * hidden)
        self.in_gate, self.forget, self.out_gate = self.sigmoids.chunk(3, dim=1)

    @staticmethod
    def state_matrix(layer) -> torch.Tensor:
        """K_ss and the masked K_is as one [3 * 2 * h, 4h] matrix, ordered like a window (column, slot,
        channel)."""
        state_to_state = layer.state_to_state.weight.detach()  # [4h, h, 3]
        input_to_state = (layer.input_to_state.weight * layer.input_to_state.mask).detach()[:, :, 0]  # [4h, h, 3]
        stacked = torch.stack([state_to_state, input_to_state])  # [slot, 4h, h, column]
        return stacked.permute(3, 0, 2, 1).reshape(-1, stacked.shape[1]).contiguous()

    def input_cache(self, side: int) -> RowWindowCache:
        return RowWindowCache(self.like, self.n, self.colours, self.shape[1], side + 1, side, LEVEL_PADDING)

    def row_started(self, r: int) -> None:
        """h_{r-1} into slot 0 of every layer (zeros for r = 0), and the cell rows move down one."""
        if r > 0:
            self.inputs.next_row()
        for cache, states in zip(self.windows, self.hidden_rows):
            cache.values[:, 1 : 1 + self.shape[1], 0] = states
        self.previous_cells = self.cell_rows
        self.cell_rows = [[self.zero] * self.shape[1] for _ in self.layers]

    def position_features(self, r: int, c: int) -> torch.Tensor:
        matrix, bias = self.first
        # the mask-A input convolution, written where the first layer's K_is reads it
        x = torch.addmm(bias, self.inputs.windows[c], matrix, out=self.windows[0].cells[c])
        for cache, matrix, bias, previous_cells, cells, states, outputs in zip(
            self.windows, self.matrices, self.biases, self.previous_cells, self.cell_rows, self.hidden_cells,
            self.outputs,
        ):
            torch.addmm(bias, cache.windows[c], matrix, out=self.pre)
            torch.sigmoid(self.pre_ifo, out=self.sigmoids)
            cell = torch.addcmul(self.forget * previous_cells[c], self.in_gate, torch.tanh(self.pre_g))
            cells[c] = cell
            state = torch.mul(self.out_gate, torch.tanh(cell), out=states[c])
            x = torch.add(x, state, out=outputs[c])  # residual, written where the next layer reads it
        return x


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
