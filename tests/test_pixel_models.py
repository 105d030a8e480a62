"""Autoregressive pixel models: exact causality (every output position), the PixelCNN blind spot and
its absence in the Gated PixelCNN, masks, log-likelihoods, a short fit, registry, sampling."""

import json
import math

import pytest
import torch

from latentlab.analysis.receptive_field import receptive_field
from latentlab.errors import ConfigError
from latentlab.models import build_model, config_from_dict, config_to_dict
from latentlab.models.pixelcnn import causal_mask, colour_groups, to_levels
from latentlab.sampling.pixels import sample, sample_steps

TINY = {
    "pixelcnn": {"hidden_channels": 12, "num_layers": 2, "first_kernel": 5},
    "gated_pixelcnn": {"hidden_channels": 12, "num_layers": 3, "first_kernel": 3},
    "row_lstm": {"hidden_channels": 12, "num_layers": 2, "first_kernel": 3},
}
NAMES = list(TINY)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name, shape=(3, 6, 6), **extra):
    torch.manual_seed(0)
    return build_model(name, {**TINY[name], "image_shape": list(shape), **extra})


def jacobian_per_position(model, shape, cond=None):
    """grads[p] = d(random projection of the 256 logits at sub-pixel p) / d input, for every
    sub-pixel p in raster order (index p = (r * W + c) * C + k); one batched backward pass."""
    channels, height, width = shape
    n = channels * height * width
    torch.manual_seed(1)
    inp = (torch.rand(1, *shape) * 2 - 1).repeat(n, 1, 1, 1).requires_grad_(True)
    weights = torch.randn(n, 256)
    logits = model.network(inp, None if cond is None else cond.expand(n, -1))  # [n, 256, C, H, W]
    assert logits.shape == (n, 256, channels, height, width)
    idx = torch.arange(n)
    r, c, k = idx // (width * channels), (idx // channels) % width, idx % channels
    picked = logits[idx, :, k, r, c]  # [n, 256]: sample p looks at its own position p
    (picked * weights).sum().backward()
    return inp.grad  # [n, C, H, W]


def raster_index(shape):
    """order[k, r, c] = position of sub-pixel (r, c, k) in raster order with R -> G -> B."""
    channels, height, width = shape
    r, c, k = torch.meshgrid(torch.arange(height), torch.arange(width), torch.arange(channels), indexing="ij")
    return ((r * width + c) * channels + k).permute(2, 0, 1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3, 6, 6), (1, 5, 5)])
def test_causality_every_position(name, shape):
    model = tiny(name, shape)
    grads = jacobian_per_position(model, shape)
    order = raster_index(shape)
    channels, _, width = shape
    n = order.numel()
    for p in range(n):
        future = order >= p  # not yet generated when sub-pixel p is drawn (p itself included)
        assert torch.count_nonzero(grads[p][future]) == 0, f"{name}: sub-pixel {p} sees the future"
        if p % (width * channels):  # and it sees the sub-pixel just before it on the same row
            assert grads[p][order == p - 1].abs().item() > 0, f"{name}: sub-pixel {p} ignores sub-pixel {p - 1}"


def test_causality_with_conditioning():
    shape = (3, 5, 5)
    model = tiny("gated_pixelcnn", shape, cond_dim=4)
    grads = jacobian_per_position(model, shape, cond=torch.randn(1, 4))
    order = raster_index(shape)
    for p in range(order.numel()):
        assert torch.count_nonzero(grads[p][order >= p]) == 0
    x = torch.randint(0, 256, (2, *shape), dtype=torch.uint8)
    a, b = model.logits(x, torch.zeros(2, 4)), model.logits(x, torch.ones(2, 4))
    assert not torch.allclose(a, b)  # h reaches the gates
    with pytest.raises(ValueError):
        model.logits(x)


def _earlier_pixels_seen(name, shape, out_rc):
    """For output (r, c) channel 0: a [H, W] bool map of which strictly earlier pixels have a
    nonzero gradient, and the map of earlier pixels."""
    _, height, width = shape
    torch.manual_seed(0)
    model = build_model(name, {"image_shape": list(shape), "hidden_channels": 8, "num_layers": 4, "first_kernel": 3})
    r, c = out_rc
    seen = torch.from_numpy(receptive_field(model, r, c).sum(0) > 0)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    earlier = (rows < r) | ((rows == r) & (cols < c))
    return seen, earlier


def test_pixelcnn_has_a_blind_spot_and_gated_does_not():
    shape, centre = (1, 9, 9), (4, 4)
    seen, earlier = _earlier_pixels_seen("pixelcnn", shape, centre)
    blind = earlier & ~seen
    assert blind.any(), "expected a PixelCNN blind spot"
    rows, cols = blind.nonzero(as_tuple=True)
    assert (rows < centre[0]).all() and (cols > centre[1]).all()  # it lies above-right
    # 3x3 mask-A first layer + 4 mask-B layers: the receptive field covers rows 0..3 in width, yet
    # (3, 6) -- one row up, two to the right -- is missed.
    assert blind[3, 6]
    seen, earlier = _earlier_pixels_seen("gated_pixelcnn", shape, centre)
    assert seen[earlier].all(), "Gated PixelCNN should see every earlier pixel"
    assert not seen[~earlier].any()


def test_mask_helper():
    a = causal_mask(colour_groups(3, 3), colour_groups(3, 3), (3, 3), "A")
    b = causal_mask(colour_groups(3, 3), colour_groups(3, 3), (3, 3), "B")
    assert torch.equal(a[:, :, 1, 1], torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]))
    assert torch.equal(b[:, :, 1, 1], torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 1, 1]]))
    for m in (a, b):
        assert (m[:, :, 0, :] == 1).all() and (m[:, :, 1, 0] == 1).all()
        assert (m[:, :, 1, 2] == 0).all() and (m[:, :, 2, :] == 0).all()
    # hidden layers: 6 -> 6 channels, groups [0,0,1,1,2,2]
    h = causal_mask(colour_groups(6, 3), colour_groups(6, 3), (1, 1), "B")[:, :, 0, 0]
    assert torch.equal(h, torch.tensor([[1.0, 1, 0, 0, 0, 0]] * 2 + [[1.0, 1, 1, 1, 0, 0]] * 2 + [[1.0] * 6] * 2))
    grey = causal_mask(colour_groups(1, 1), colour_groups(4, 1), (3, 3), "A")
    assert (grey[:, :, 1, 1] == 0).all()
    with pytest.raises(ValueError):
        causal_mask(colour_groups(3, 3), colour_groups(3, 3), (2, 2), "A")
    with pytest.raises(ValueError):
        causal_mask(colour_groups(3, 3), colour_groups(3, 3), (3, 3), "C")


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_shapes_and_bits(name):
    model = tiny(name, (3, 6, 6))
    x = torch.rand(4, 3, 6, 6)
    lp = model.log_prob(x)
    assert lp.shape == (4,) and (lp < 0).all()
    assert torch.allclose(lp, model.log_prob(to_levels(x).to(torch.uint8)))  # float == uint8 input
    bpd = model.bits_per_dim(x)
    assert bpd.shape == (4,) and torch.isfinite(bpd).all()
    assert torch.allclose(bpd, -lp / (3 * 36 * math.log(2)))
    losses = model(x)
    assert losses["loss"].dim() == 0 and losses["loss"].requires_grad
    assert torch.allclose(losses["loss"], -lp.mean() / (3 * 36))
    assert torch.allclose(losses["bits_per_dim"], bpd.mean())


@pytest.mark.parametrize("name", NAMES)
def test_loss_decreases_on_a_tiny_batch(name):
    model = tiny(name, (1, 6, 6))
    torch.manual_seed(2)
    x = (torch.rand(4, 1, 6, 6) > 0.5).float()  # binary images: easy to fit
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = model(x)["loss"]
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model(x)["loss"].item() < 0.5 * first


@pytest.mark.parametrize("name", NAMES)
def test_registry_json_round_trip(name):
    config = config_from_dict(name, {**TINY[name], "image_shape": [3, 8, 8]})
    again = config_from_dict(name, json.loads(json.dumps(config_to_dict(config))))
    assert again == config and again.image_shape == (3, 8, 8)
    model = build_model(name, again)
    assert model.image_shape == (3, 8, 8)
    with pytest.raises(ConfigError):
        config_from_dict(name, {"image_shape": [3, 8, 8], "hidden_channels": 4})  # not a multiple of 3


@pytest.mark.parametrize("name", NAMES)
def test_naive_and_cached_sampling_agree(name):
    shape = (3, 4, 4)
    model = tiny(name, shape)
    steps = list(sample_steps(model, 2, mode="naive", generator=torch.Generator().manual_seed(5)))
    cached = sample(model, 2, mode="cached", generator=torch.Generator().manual_seed(5))
    assert len(steps) == 3 * 4 * 4
    assert [s.position for s in steps[:4]] == [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0)]
    assert steps[-1].image.dtype == torch.uint8 and steps[-1].image.shape == (2, *shape)
    assert torch.equal(steps[-1].image, cached)
    assert steps[0].probs.shape == (2, 256) and torch.allclose(steps[0].probs.sum(1), torch.ones(2))
    other = sample(model, 2, mode="cached", generator=torch.Generator().manual_seed(6))
    assert not torch.equal(other, cached)


def test_conditional_sampling_and_bad_mode():
    model = tiny("gated_pixelcnn", (1, 3, 3), cond_dim=2)
    cond = torch.eye(2)
    a = sample(model, 2, cond=cond, mode="naive", generator=torch.Generator().manual_seed(0))
    b = sample(model, 2, cond=cond, mode="cached", generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        next(sample_steps(model, 1, cond=cond[:1], mode="turbo"))


def test_a_pixel_model_trains_through_the_trainer_and_reports_bits_per_dim(tmp_path, isolated_cache):
    import latentlab
    from trainers.config import TrainConfig
    from trainers.events import EpochEnd, Preview
    from trainers.loop import Trainer

    run = TrainConfig(model="pixelcnn", data="synthetic-faces?size=8", out=str(tmp_path / "pix"), batch_size=8,
                      model_config={"hidden_channels": 6, "num_layers": 1, "first_kernel": 3}, limit=16,
                      epochs=1, preview_every=1, eval_limit=8)
    events = list(Trainer(run).run())
    assert not any(isinstance(e, Preview) for e in events)
    held = [e.held_out for e in events if isinstance(e, EpochEnd)][-1]
    assert 0 < held["bits_per_dim"] < 9
    model = latentlab.load(tmp_path / "pix" / "last.ckpt")
    assert model.image_shape == (3, 8, 8)

    # evaluate's grid draws its samples pixel by pixel through sampling.pixels (the models layer has
    # no sampler of its own): sample_images is `sample` as floats in [0, 1]
    from latentlab.evaluate import main as evaluate
    from latentlab.sampling.pixels import sample_images

    drawn = sample_images(model, 2, generator=torch.Generator().manual_seed(3))
    assert drawn.dtype == torch.float32 and drawn.shape == (2, 3, 8, 8)
    assert torch.equal(drawn, sample(model, 2, generator=torch.Generator().manual_seed(3)).float() / 255)
    assert evaluate([str(tmp_path / "pix" / "last.ckpt"), "--limit", "4", "--columns", "2",
                     "--grid", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").is_file()


def test_pixel_models_bench_trains_every_family_on_one_budget_and_scores_the_test_split(tmp_path, isolated_cache,
                                                                                       capsys):
    import json

    from latentlab.bench.pixel_models import main

    args = ["--data", "synthetic-faces?size=8&n=40&channels=1", "--epochs", "1", "--batch", "8", "--eval-limit", "8",
            "--set", "hidden_channels=8", "--set", "num_layers=1", "--out", str(tmp_path / "runs"), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in report["rows"]}
    assert set(rows) == {"pixelcnn", "gated_pixelcnn", "row_lstm"}
    steps = {row["steps"] for row in rows.values()}
    assert len(steps) == 1 and steps.pop() >= 1                      # the same budget for every model
    for row in rows.values():
        assert 0 < row["test_bits_per_dim"] < 9 and row["parameters"] > 0
        assert (tmp_path / "runs" / row["model"] / "last.ckpt").is_file()
    with pytest.raises(SystemExit):
        main(["--models", "vae"])   # a latent-variable model has no bits/dim to compare here
