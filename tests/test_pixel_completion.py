"""Completing a partial image with the pixel samplers (`known` / `start`): the known sub-pixels are
copied, only the rest are drawn, and every sampling mode gives the same completion for a seed."""

import pytest
import torch

from latentlab.models import build_model
from latentlab.sampling.pixels import MODES, sample, sample_steps

TINY = {
    "pixelcnn": {"hidden_channels": 12, "num_layers": 2, "first_kernel": 5},
    "gated_pixelcnn": {"hidden_channels": 12, "num_layers": 3, "first_kernel": 3},
    "row_lstm": {"hidden_channels": 12, "num_layers": 2, "first_kernel": 3},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name, shape):
    torch.manual_seed(0)
    return build_model(name, {**TINY[name], "image_shape": list(shape)}).eval()


def known_image(shape):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(3), dtype=torch.uint8)


@pytest.mark.parametrize("name", list(TINY))
def test_completion_keeps_the_known_rows_and_draws_only_the_rest(name):
    shape, rows = (3, 5, 4), 2
    model, known = tiny(name, shape), known_image(shape)
    start = rows * 4 * 3
    steps = list(sample_steps(model, 2, mode="naive", generator=torch.Generator().manual_seed(1),
                              known=known, start=start))
    assert len(steps) == 3 * 5 * 4 - start
    assert steps[0].position == (rows, 0, 0)
    for step in (steps[0], steps[-1]):
        assert torch.equal(step.image[:, :, :rows], known[None, :, :rows].expand(2, -1, -1, -1))
    assert (steps[0].image[:, :, rows:].flatten(1)[:, 1:] == 0).all()  # the rest starts undrawn


@pytest.mark.parametrize("name", list(TINY))
def test_every_mode_completes_alike(name):
    shape = (3, 4, 4)
    model, known = tiny(name, shape), known_image((2, *shape))
    start = 1 * 4 * 3 + 2 * 3 + 1  # mid-row, mid-pixel: row 0, two pixels and the R of a third
    results = {mode: sample(model, 2, mode=mode, generator=torch.Generator().manual_seed(4), known=known, start=start)
               for mode in MODES}
    for mode, image in results.items():
        assert torch.equal(image, results["naive"]), f"mode {mode} completes differently from naive"
    flat_known, flat = known.permute(0, 2, 3, 1).flatten(1), results["naive"].permute(0, 2, 3, 1).flatten(1)
    assert torch.equal(flat[:, :start], flat_known[:, :start])


def test_completion_arguments_are_checked():
    model = tiny("pixelcnn", (1, 3, 3))
    assert torch.equal(sample(model, 1, known=known_image((1, 3, 3)), start=9)[0], known_image((1, 3, 3)))
    with pytest.raises(ValueError, match="known image"):
        next(sample_steps(model, 1, start=3))
    with pytest.raises(ValueError, match="start must be"):
        next(sample_steps(model, 1, known=known_image((1, 3, 3)), start=10))
    with pytest.raises(ValueError, match="known must have shape"):
        next(sample_steps(model, 2, known=known_image((3, 3, 3)), start=3))
