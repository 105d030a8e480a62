"""`latentlab.explore(model, data)`: the window on an in-memory model (built-in or a class of one's own)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import latentlab
from latentlab.errors import DataError, LatentLabError
from latentlab.explorer.session import ExplorerSession
from latentlab.models import build_model
from latentlab.models.base import ConvModelConfig, LatentVariableModel
from latentlab.models.distributions import PointMass


@dataclass
class TinyConfig(ConvModelConfig):
    image_shape: tuple[int, int, int] = (1, 8, 8)
    latent_dim: int = 2


class TinyLinear(LatentVariableModel):
    """A model class of one's own, never registered: explore needs only the protocol."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__(config)
        self.enc = nn.Linear(64, config.latent_dim)
        self.dec = nn.Linear(config.latent_dim, 64)

    def encode(self, x):
        return PointMass(self.enc(x.flatten(1)))

    def decode(self, z):
        return self.likelihood(self.dec(z).view(-1, *self.image_shape))


def shown(qtbot, window):
    qtbot.waitUntil(lambda: window.face_panel.last_shown_at > 0, timeout=5000)
    return window.face_panel.current_image


def test_explore_opens_the_window_on_a_model_in_memory_with_an_atlas(qtbot):
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 3, "base_channels": 4}).train()
    images = torch.rand(40, 1, 16, 16)
    window = latentlab.explore(model, data=images, block=False, name="my vae")
    qtbot.addWidget(window)
    try:
        assert model.training, "the caller's model is left as it was"
        assert window.session.model is not model and not window.session.model.training
        assert window.session.path is None and window.windowTitle() == "LatentLab — my vae"
        assert "VAE" in window.model_info.text() and "latent 3" in window.model_info.text()
        assert window.session.atlas_codes.shape == (40, 3) and window.session.atlas_std.shape == (40, 3)
        assert len(window.map.atlas.data) == 40
        assert window.atlas_images.shape == (40, 1, 16, 16)  # hover shows the given images themselves
        face = shown(qtbot, window)
        assert face.shape == (1, 16, 16) and face.dtype == np.uint8
        expected = window.session.decode(window.session.atlas_codes[0])[0]
        assert np.array_equal(face, expected)  # the first atlas code, decoded
    finally:
        window.shutdown()


def test_explore_takes_an_unregistered_model_class_without_data(qtbot):
    model = TinyLinear(TinyConfig())
    window = latentlab.explore(model, block=False)
    qtbot.addWidget(window)
    try:
        assert window.session.atlas_codes is None and window.session.name == "TinyLinear"
        assert "TINYLINEAR" in window.model_info.text()
        assert shown(qtbot, window).shape == (1, 8, 8)
    finally:
        window.shutdown()


def test_from_model_refuses_what_does_not_fit():
    model = TinyLinear(TinyConfig())
    with pytest.raises(LatentLabError, match="not a LatentLab model"):
        ExplorerSession.from_model(nn.Linear(2, 2))
    with pytest.raises(DataError, match=r"shape \(1, 4, 4\)"):
        ExplorerSession.from_model(model, np.zeros((3, 1, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        ExplorerSession.from_model(model, np.full((3, 1, 8, 8), 7.0))
    session = ExplorerSession.from_model(model, np.zeros((5, 1, 8, 8), np.uint8), atlas_size=4)
    assert session.atlas_codes.shape == (4, 2) and session.atlas_std is None
    gan = build_model("gan", {"image_shape": [1, 16, 16], "latent_dim": 3, "base_channels": 4})
    with pytest.raises(LatentLabError, match="no encoder"):
        ExplorerSession.from_model(gan, np.zeros((2, 1, 16, 16), np.uint8))


def test_a_dataset_spec_gives_the_atlas_its_labels_and_preprocessing(isolated_cache):
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 4})
    spec = "synthetic-faces?size=16&n=120"
    session = ExplorerSession.from_model(model, spec, atlas_size=30)
    assert session.atlas_codes.shape == (30, 4) and session.atlas_images.shape == (30, 3, 16, 16)
    assert session.dataset_spec == spec and session.preprocessing and session.atlas_labels
    assert all(len(values) == 30 for values in session.atlas_labels.values())
    assert session.name == "vae" and session.model_name == "vae"


def test_explore_blocks_until_the_window_is_closed(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.main_window import MainWindow

    closed = []

    def close_it():
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible() and widget.windowTitle() == "LatentLab — blocking":
                closed.append(widget.session.name)
                widget.close()  # what the user's click does: closeEvent stops the workers, the window goes
                return
        QTimer.singleShot(100, close_it)  # not shown yet

    QTimer.singleShot(100, close_it)
    assert latentlab.explore(TinyLinear(TinyConfig()), name="blocking") is None
    assert closed == ["blocking"]
