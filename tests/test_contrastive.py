"""The contrastive feature network (SimCLR with blurred negatives): views, blur, NT-Xent, training,
and that the explorer refuses to open it."""

import json
import math

import pytest
import torch
from pathlib import Path

from latentlab.errors import CheckpointError, ConfigError
from latentlab.models import build_model
from latentlab.models.contrastive import gaussian_blur, nt_xent, random_views
from trainers.config import TrainConfig
from trainers.events import Finished, Preview
from trainers.loop import Trainer

SMALL = {"image_shape": (3, 16, 16), "latent_dim": 8, "projection_dim": 4, "base_channels": 8}


def test_views_stay_in_range_differ_and_are_the_image_itself_without_augmentation():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16)
    a, b = random_views(x, 0.6, 0.3), random_views(x, 0.6, 0.3)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert (a - b).abs().mean() > 0.02
    plain = random_views(x, 1.0, 0.0)  # no crop, no jitter: the image, or its mirror image
    for i in range(len(x)):
        assert torch.allclose(plain[i], x[i], atol=1e-5) or torch.allclose(plain[i], x[i].flip(-1), atol=1e-5)


def test_blur_keeps_constants_and_mass_and_removes_fine_detail():
    flat = torch.full((2, 3, 16, 16), 0.4)
    assert torch.allclose(gaussian_blur(flat, 1.5), flat, atol=1e-6)
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2] = 1.0
    blurred = gaussian_blur(stripes, 1.5)
    assert blurred.std() < 0.1 * stripes.std()
    assert math.isclose(float(blurred.mean()), float(stripes.mean()), rel_tol=0.02)


def test_nt_xent_rewards_agreeing_views_and_pays_for_negatives_that_look_alike():
    torch.manual_seed(0)
    n, d = 8, 16
    base = torch.nn.functional.normalize(torch.randn(n, d), dim=1)
    agreeing = torch.cat([base, base])
    shuffled = torch.cat([base, base[torch.randperm(n)]])
    none = torch.zeros(0, d)
    assert nt_xent(agreeing, none, 0.2) < nt_xent(shuffled, none, 0.2)
    # each anchor's own copy as an extra negative makes the task impossible: the loss rises to ~log 2
    assert nt_xent(agreeing, base, 0.2) > nt_xent(agreeing, none, 0.2) + 0.5


def test_settings_are_checked():
    for bad in ({"temperature": 0.0}, {"crop_scale": 0.05}, {"jitter": 1.0}, {"blur_sigma": (2.0, 1.0)}):
        with pytest.raises(ConfigError):
            build_model("contrastive", {**SMALL, **bad})


def test_it_trains_with_a_falling_loss_without_previews_and_is_refused_by_the_explorer(tmp_path):
    from latentlab.bundle import main as bundle
    from latentlab.explorer.session import ExplorerSession

    config = TrainConfig.from_dict({
        "model": "contrastive", "data": "synthetic-faces?size=16", "out": str(tmp_path / "run"),
        "model_config": {**{k: v for k, v in SMALL.items() if k != "image_shape"}, "blur_sigma": [1.0, 2.0]}, "epochs": 6, "batch_size": 32,
        "limit": 64, "eval_limit": 0, "preview_every": 1, "checkpoint_every": 1000, "lr": 3e-3, "seed": 0})
    events = list(Trainer(config).run())
    assert not any(isinstance(e, Preview) for e in events)
    assert isinstance(events[-1], Finished)
    records = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    epoch_losses = [r["train"]["loss"] for r in records if r["kind"] == "epoch"]
    assert len(epoch_losses) == 6
    assert epoch_losses[-1] < epoch_losses[0]
    assert bundle([str(tmp_path / "run" / "last.ckpt"), "--out", str(tmp_path / "f.ckpt"), "--atlas", "0"]) in (0, None)
    with pytest.raises(CheckpointError, match="feature network"):
        ExplorerSession.from_checkpoint(tmp_path / "f.ckpt")


CELEBA = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba_10k"


@pytest.mark.skipif(not CELEBA.is_dir(), reason="needs ../shared/data/celeba_10k (the CelebA sample)")
def test_the_shipped_contrastive_space_sees_blur_that_the_autoencoder_space_misses():
    """FD / floor of blurred held-out faces and of the default VAE's reconstructions: the contrastive
    space rates them far above the floor, the autoencoder's space barely (resources/features/README.md)."""
    from latentlab.analysis.codes import reconstructions
    from latentlab.analysis.frechet import FeatureNetwork, fid_against
    from latentlab.checkpoints import load_model
    from latentlab.data import load_dataset
    from latentlab.resources import FEATURES, default_model

    spec = f"celeba:{CELEBA}?size=64"
    held = load_dataset(spec, split="test", limit=500).as_tensor().float().div(255)
    train = load_dataset(spec, split="train", limit=500).as_tensor().float().div(255)
    recon = torch.as_tensor(reconstructions(load_model(default_model()), held.numpy()))
    ratios = {}
    for name in ("celeba-ae128", "celeba-simclr128"):
        features = FeatureNetwork.load(FEATURES / f"{name}.ckpt")
        ref = features(held)
        floor = fid_against(features(train), ref)
        ratios[name] = {"blur2": fid_against(features(gaussian_blur(held, 2.0)), ref) / floor,
                        "recon": fid_against(features(recon), ref) / floor}
    assert ratios["celeba-simclr128"]["recon"] > 10 > 2 > ratios["celeba-ae128"]["recon"]
    assert ratios["celeba-simclr128"]["blur2"] > 3 * ratios["celeba-ae128"]["blur2"]
