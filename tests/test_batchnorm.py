"""Precise batch-norm statistics (trainers/batchnorm.py)."""

from __future__ import annotations

import torch

from latentlab.models import build_model
from trainers.batchnorm import batchnorm_layers, recalibrate_batchnorm


def _images(n: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 16, 16), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _model(name: str = "ae"):
    torch.manual_seed(0)
    return build_model(name, {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8})


def test_statistics_are_the_equal_weight_mean_over_the_calibration_batches():
    model = _model()
    first = batchnorm_layers(model)[0]
    seen = []
    hook = first.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    images = _images(32)
    assert recalibrate_batchnorm(model, images, batch_size=16, device=torch.device("cpu"))
    hook.remove()
    batch_means = [x.mean(dim=(0, 2, 3)) for x in seen]
    batch_vars = [x.var(dim=(0, 2, 3), unbiased=True) for x in seen]
    assert len(seen) == 2
    torch.testing.assert_close(first.running_mean, torch.stack(batch_means).mean(0))
    torch.testing.assert_close(first.running_var, torch.stack(batch_vars).mean(0))
    assert first.momentum == 0.1 and model.training  # settings and mode restored


def test_stale_statistics_are_replaced_so_eval_mode_matches_train_mode():
    model = _model()
    for layer in batchnorm_layers(model):  # statistics of some other network: what a lagging average looks like
        layer.running_mean.fill_(3.0)
        layer.running_var.fill_(0.01)
    x = _images(64)
    inputs = x.float() / 255
    with torch.no_grad():
        model.train()
        trained = model.decode(model.encode(inputs).mean).mean
        model.eval()
        stale = model.decode(model.encode(inputs).mean).mean
        recalibrate_batchnorm(model, x, batch_size=64, device=torch.device("cpu"))
        model.eval()
        calibrated = model.decode(model.encode(inputs).mean).mean
    assert (stale - trained).abs().mean() > 10 * (calibrated - trained).abs().mean()


def test_the_global_random_stream_is_untouched_and_the_result_is_deterministic():
    a, b = _model("vae"), _model("vae")  # the VAE draws z ~ Q(z|x) in its forward pass
    torch.manual_seed(5)
    recalibrate_batchnorm(a, _images(), 16, torch.device("cpu"), seed=1)
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))
    recalibrate_batchnorm(b, _images(), 16, torch.device("cpu"), seed=1)
    for la, lb in zip(batchnorm_layers(a), batchnorm_layers(b)):
        assert torch.equal(la.running_mean, lb.running_mean) and torch.equal(la.running_var, lb.running_var)


def test_adversarial_models_run_both_phases_and_models_without_batchnorm_are_left_alone():
    gan = _model("aae")
    assert recalibrate_batchnorm(gan, _images(), 16, torch.device("cpu"))
    pixel = build_model("pixelcnn", {"image_shape": [1, 8, 8], "hidden_channels": 8, "num_layers": 1})
    assert not recalibrate_batchnorm(pixel, _images()[:, :1, :8, :8], 16, torch.device("cpu"))
