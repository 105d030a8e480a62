"""Telling pixel (autoregressive) checkpoints from latent ones by their metadata alone."""

import pytest

from latentlab import resources
from latentlab.checkpoints import save_model
from latentlab.checkpoints.format import read_meta
from latentlab.checkpoints.model_io import holds_autoregressive_model
from latentlab.errors import CheckpointError
from latentlab.models import build_model


@pytest.fixture
def folder(tmp_path):
    save_model(tmp_path / "pixels.ckpt", build_model("gated_pixelcnn", {"image_shape": [1, 4, 4], "hidden_channels": 4,
                                                                         "num_layers": 1, "first_kernel": 3}))
    save_model(tmp_path / "vae.ckpt", build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 2,
                                                          "base_channels": 8}))
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    return tmp_path


def test_the_metadata_says_which_checkpoints_hold_pixel_models(folder):
    assert read_meta(folder / "pixels.ckpt")["model"] == "gated_pixelcnn"
    assert holds_autoregressive_model(folder / "pixels.ckpt")
    assert not holds_autoregressive_model(folder / "vae.ckpt")
    assert not holds_autoregressive_model(folder / "broken.ckpt")
    assert not holds_autoregressive_model(folder / "missing.ckpt")
    with pytest.raises(CheckpointError, match="broken.ckpt"):
        read_meta(folder / "broken.ckpt")


def test_bundled_pixel_models_lists_only_the_pixel_checkpoints(folder, monkeypatch):
    monkeypatch.setattr(resources, "MODELS", folder)
    assert resources.bundled_pixel_models() == [folder / "pixels.ckpt"]
