"""The receptive-field analysis: input gradients of one sub-pixel's prediction and the regions they
imply (influences, blind spot, out of reach, not yet generated)."""

import numpy as np
import pytest
import torch

from latentlab.analysis.receptive_field import (
    Region,
    analyse,
    classify_pixels,
    classify_subpixels,
    raster_order,
    receptive_field,
)
from latentlab.models import build_model

SMALL = {"hidden_channels": 6, "num_layers": 4, "first_kernel": 3}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def model(name, shape, **extra):
    torch.manual_seed(0)
    return build_model(name, {**SMALL, "image_shape": list(shape), **extra}).eval()


def test_the_pixelcnn_has_a_blind_spot_above_right_of_a_middle_pixel():
    field = analyse(model("pixelcnn", (1, 9, 9)), 4, 4)
    blind = field.pixels == Region.BLIND_SPOT
    assert blind.any()
    rows, cols = blind.nonzero()
    assert (rows < 4).all() and (cols > 4).all()
    assert blind[3, 6]  # one row up, two to the right: within reach, yet never seen
    assert field.pixels[4, 4] == Region.TARGET and field.count(Region.TARGET) == 1


@pytest.mark.parametrize("shape", [(1, 9, 9), (3, 8, 8)])
def test_the_gated_pixelcnn_has_no_blind_spot(shape):
    field = analyse(model("gated_pixelcnn", shape), 4, 4)
    assert field.count(Region.BLIND_SPOT) == 0
    assert field.count(Region.INFLUENCES) == 4 * shape[2] + 4  # every earlier pixel


@pytest.mark.parametrize("name", ["pixelcnn", "gated_pixelcnn", "row_lstm"])
@pytest.mark.parametrize("shape", [(1, 7, 7), (3, 6, 6)])
def test_no_model_sees_what_is_not_generated_yet(name, shape):
    net = model(name, shape)
    image = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(2), dtype=torch.uint8).numpy()
    order = raster_order(shape)
    channels, height, width = shape
    for row, col, channel in [(0, 0, 0), (3, 2, channels - 1), (height - 1, width - 1, 0), (2, width - 1, 0)]:
        for given in (None, image):
            gradient = receptive_field(net, row, col, channel, image=given)
            later = order >= (row * width + col) * channels + channel
            assert np.count_nonzero(gradient[later]) == 0, f"{name} at {(row, col, channel)} sees the future"
            regions = classify_subpixels(gradient, row, col, channel)
            assert (regions[order > order[channel, row, col]] == Region.NOT_YET).all()


def test_far_pixels_are_out_of_reach_not_a_blind_spot():
    # 4 layers with 3x3 kernels reach 5 rows up; in a taller image the rows above that are simply
    # beyond the network's depth: out of reach for both models, while only the PixelCNN has a hole.
    for name, blind in (("gated_pixelcnn", False), ("pixelcnn", True)):
        field = analyse(model(name, (1, 16, 9)), 14, 4)
        assert (field.pixels[:9] == Region.OUT_OF_REACH).all()
        assert (field.pixels[9:14] != Region.OUT_OF_REACH).all()
        assert (field.count(Region.BLIND_SPOT) > 0) == blind


def test_classification_of_a_hand_made_gradient():
    gradient = np.zeros((1, 4, 5), np.float32)
    gradient[0, 0, 1:] = 1.0     # the top row is seen from column 1 on
    gradient[0, 1, 1:3] = 1.0    # the next row only in columns 1 and 2
    gradient[0, 2, 1] = 1.0      # the target's row (target at column 2): column 1 only
    t, i, b, o, n = (int(r) for r in (Region.TARGET, Region.INFLUENCES, Region.BLIND_SPOT, Region.OUT_OF_REACH,
                                      Region.NOT_YET))
    expected = np.array([[o, i, i, i, i],
                         [o, i, i, b, b],   # right of the target, under seen pixels: a hole
                         [o, i, t, n, n],   # column 0: nothing is seen that far left, in any row
                         [n, n, n, n, n]])
    assert np.array_equal(classify_pixels(classify_subpixels(gradient, 2, 2)), expected)


def test_a_position_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="outside"):
        receptive_field(model("pixelcnn", (1, 5, 5)), 5, 0)


def test_it_leaves_the_parameters_without_gradients():
    net = model("gated_pixelcnn", (1, 6, 6))
    receptive_field(net, 3, 3)
    assert all(p.grad is None for p in net.parameters())
