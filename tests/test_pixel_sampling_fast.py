"""The fast pixel sampler (per-layer activation caching, Ramachandran et al. 2017) against the full
forward pass: its logits at every sub-pixel, and whole samples in every mode; and the pixels bench."""

import inspect

import pytest
import torch

from latentlab.models import build_model
from latentlab.sampling.fast_pixels import incremental_evaluator
from latentlab.sampling.pixels import sample, sample_steps

# name -> (family, image shape, config): small widths, every family, grey and colour, with and
# without conditioning; kernels of several sizes so the window arithmetic is exercised.
CASES = {
    "pixelcnn-grey": ("pixelcnn", (1, 8, 8), {"hidden_channels": 8, "num_layers": 2, "first_kernel": 5}),
    "pixelcnn-rgb": ("pixelcnn", (3, 8, 8), {"hidden_channels": 12, "num_layers": 2, "first_kernel": 7,
                                             "kernel_size": 5}),
    "gated-grey": ("gated_pixelcnn", (1, 8, 8), {"hidden_channels": 8, "num_layers": 3, "first_kernel": 5}),
    "gated-rgb": ("gated_pixelcnn", (3, 8, 8), {"hidden_channels": 12, "num_layers": 3, "first_kernel": 3,
                                                "kernel_size": 5}),
    "gated-rgb-cond": ("gated_pixelcnn", (3, 8, 8), {"hidden_channels": 12, "num_layers": 3, "first_kernel": 5,
                                                     "cond_dim": 4}),
    "row-lstm-grey": ("row_lstm", (1, 8, 8), {"hidden_channels": 8, "num_layers": 2, "first_kernel": 5}),
    "row-lstm-rgb": ("row_lstm", (3, 8, 8), {"hidden_channels": 12, "num_layers": 2, "first_kernel": 3}),
}
BATCH = 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def case_model(case: str):
    family, shape, config = CASES[case]
    torch.manual_seed(0)
    model = build_model(family, {**config, "image_shape": list(shape)}).eval()
    cond = torch.randn(BATCH, config["cond_dim"]) if config.get("cond_dim") else None
    return model, cond


@torch.no_grad()
def fast_logits_in_raster_order(model, image: torch.Tensor, cond) -> torch.Tensor:
    """[N, 256, C, H, W] logits from the fast evaluator, driven as the sampler drives it; at each pass
    the sub-pixels not drawn yet hold random levels, which must not change anything."""
    channels, height, width = model.image_shape
    evaluator = incremental_evaluator(model, image.shape[0], cond)
    logits = torch.empty(image.shape[0], 256, channels, height, width)
    noise = torch.randint(0, 256, image.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(9))
    flat_order = torch.arange(channels * height * width).view(height, width, channels).permute(2, 0, 1)
    for r in range(height):
        evaluator.start_row(torch.where(flat_order < r * width * channels, image, noise), r)
        for c in range(width):
            for k in range(channels):
                drawn = flat_order < (r * width + c) * channels + k
                logits[:, :, k, r, c] = evaluator.logits_at(torch.where(drawn, image, noise), r, c)[:, :, k]
    return logits


@pytest.mark.parametrize("case", list(CASES))
def test_fast_logits_equal_the_full_forward_pass_at_every_sub_pixel(case):
    model, cond = case_model(case)
    image = torch.randint(0, 256, (BATCH, *model.image_shape), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model.logits(image, cond)
    fast = fast_logits_in_raster_order(model, image, cond)
    assert full.abs().max() > 0.1  # random weights give logits that differ between levels
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_cached_and_naive_draw_the_same_samples(case):
    model, cond = case_model(case)
    runs = {mode: list(sample_steps(model, BATCH, cond=cond, mode=mode, generator=torch.Generator().manual_seed(4)))
            for mode in ("fast", "cached", "naive")}
    naive = runs.pop("naive")
    assert len(naive) == model.num_dims
    assert naive[-1].image.float().std() > 10  # a real sample, not a constant image
    for mode, steps in runs.items():
        assert [s.position for s in steps] == [s.position for s in naive]
        assert torch.equal(steps[-1].image, naive[-1].image), f"{mode} drew a different image"
        for step, reference in zip(steps, naive):
            torch.testing.assert_close(step.probs, reference.probs, atol=1e-6, rtol=1e-4)


def test_fast_is_the_default_mode_and_checks_the_conditioning():
    assert inspect.signature(sample_steps).parameters["mode"].default == "fast"
    model, cond = case_model("gated-rgb-cond")
    with pytest.raises(ValueError, match="conditioning"):
        next(sample_steps(model, BATCH))
    with pytest.raises(ValueError, match="shape"):
        next(sample_steps(model, BATCH, cond=cond[:1]))
    different = sample(model, BATCH, cond=torch.zeros_like(cond), generator=torch.Generator().manual_seed(4))
    assert not torch.equal(different, sample(model, BATCH, cond=cond, generator=torch.Generator().manual_seed(4)))


def test_the_model_state_is_restored_and_the_weights_untouched():
    model, _ = case_model("pixelcnn-rgb")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sample(model, BATCH, generator=torch.Generator().manual_seed(0))
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("mode", ["fast", "naive"])
def test_what_the_sampler_hands_out_is_an_ordinary_tensor_that_callers_may_edit(mode):
    """The logit sources run in inference mode (`sampling.pixels.evaluating`); the image a step yields,
    its distribution and a finished sample must not be inference tensors, which refuse in-place edits."""
    model, _ = case_model("pixelcnn-grey")
    step = next(sample_steps(model, BATCH, mode=mode, generator=torch.Generator().manual_seed(1)))
    finished = sample(model, BATCH, mode=mode, generator=torch.Generator().manual_seed(1))
    for tensor in (step.image, step.probs, finished):
        assert not tensor.is_inference()
        tensor.add_(1)  # raises for an inference tensor outside inference mode


def test_pixels_bench_prints_the_speedup_table(capsys):
    from latentlab.bench.pixels import main

    assert main(["--size", "6", "--batch", "2", "--models", "pixelcnn,row_lstm"]) == 0
    out = capsys.readouterr().out
    assert "pixelcnn" in out and "row_lstm" in out and "gated_pixelcnn" not in out
    assert "single-image speedup (naive / fast) at 6x6:" in out
    assert out.count("same sample: yes") == 4  # 2 models x (1 image, a batch)


def test_pixels_bench_with_batch_one_times_the_single_image_once(capsys):
    from latentlab.bench.pixels import main

    assert main(["--size", "4", "--batch", "1", "--models", "pixelcnn"]) == 0
    out = capsys.readouterr().out
    assert out.count("same sample: yes") == 1


def test_the_pixels_bench_times_with_the_collector_off_and_restores_it():
    import gc

    from latentlab.bench.pixels import collector_off

    with collector_off():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pixels_bench_on_a_checkpoint(tmp_path, capsys):
    from latentlab.bench.pixels import main
    from latentlab.checkpoints import save_model

    model, _ = case_model("gated-grey")
    path = save_model(tmp_path / "gated.ckpt", model)
    assert main(["--checkpoint", str(path), "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert str(path) in out and "1x8x8 images" in out and out.count("same sample: yes") == 2
    vae = save_model(tmp_path / "vae.ckpt", build_model("vae", {"image_shape": [1, 8, 8], "latent_dim": 2}))
    assert main(["--checkpoint", str(vae)]) == 2
    assert "not an autoregressive pixel model" in capsys.readouterr().err


def test_the_first_kernel_on_raw_levels_equals_the_convolution_of_the_network_input():
    """levels_kernel folds v / 127.5 - 1 into the weights; padding holds LEVEL_PADDING (input 0),
    so the product matches the padded convolution at the border too."""
    import torch.nn.functional as F

    from latentlab.models.pixelcnn import levels_to_input
    from latentlab.sampling.fast_pixels import LEVEL_PADDING, levels_kernel

    model, _ = case_model("pixelcnn-rgb")
    conv = model.input_conv
    matrix, bias = levels_kernel(conv)
    levels = torch.randint(0, 256, (1, 3, 8, 8), generator=torch.Generator().manual_seed(1))
    side = conv.kernel_size[0] // 2
    expected = F.conv2d(levels_to_input(levels), conv.weight * conv.mask, conv.bias, padding=side)
    padded = F.pad(levels.float(), (side, side, side, 0), value=LEVEL_PADDING)  # rows above, columns each side
    for r, c in ((0, 0), (0, 7), (3, 4), (7, 7)):
        window = padded[0, :, r : r + side + 1, c : c + 2 * side + 1]  # the rows the mask keeps
        flat = window.permute(2, 1, 0).reshape(1, -1)  # (column, row, channel), like RowWindowCache
        torch.testing.assert_close(flat @ matrix + bias, expected[:, :, r, c], atol=1e-5, rtol=1e-5)


def test_the_inverse_cdf_draw_follows_the_distribution_and_never_leaves_the_levels():
    from latentlab.sampling.pixels import _cdf, _draw

    logits = torch.full((1, 256), -1e9)
    logits[0, [3, 200]] = 0.0  # half the mass on level 3, half on 200
    cdf = _cdf(logits.expand(20000, 256))
    levels = _draw(cdf, torch.rand(20000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    assert set(levels.view(-1).tolist()) == {3, 200}
    assert abs((levels == 3).double().mean().item() - 0.5) < 0.02
    top = _draw(_cdf(torch.zeros(1, 256)), torch.tensor([[1.0 - 1e-17]], dtype=torch.float64))
    assert top.item() == 255  # u above the CDF's last entry (round-off) stays a level


def test_a_steps_probs_are_the_distribution_drawn_from():
    model, _ = case_model("pixelcnn-grey")
    step = next(sample_steps(model, 2, generator=torch.Generator().manual_seed(0)))
    assert step.probs.dtype == torch.float32 and step.probs.shape == (2, 256)
    assert torch.allclose(step.probs.sum(1), torch.ones(2)) and (step.probs >= 0).all()
