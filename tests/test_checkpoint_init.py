"""Loading a checkpoint builds the model without its random initialisation when the checkpoint holds
every weight (`checkpoints.model_io.SkippedInitialisers`), and the loaded model is the saved one."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from latentlab.checkpoints import Checkpoint, read_checkpoint, save_model, write_checkpoint
from latentlab.checkpoints.model_io import SkippedInitialisers, model_from_checkpoint
from latentlab.models import available_models, build_model


@pytest.mark.parametrize("name", sorted(available_models()))
def test_every_family_loads_as_saved_buffers_included(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(name, {}).eval()
    loaded = model_from_checkpoint(read_checkpoint(save_model(tmp_path / "m.ckpt", model)))
    saved = dict(model.named_parameters()) | dict(model.named_buffers())  # non-persistent buffers too (masks)
    got = dict(loaded.named_parameters()) | dict(loaded.named_buffers())
    assert saved.keys() == got.keys()
    for key, value in saved.items():
        assert torch.equal(got[key], value), key


def test_within_it_a_new_layer_draws_no_random_numbers():
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    with SkippedInitialisers():
        nn.Conv2d(3, 8, 3)
        nn.Linear(10, 10)
        nn.init.trunc_normal_(torch.empty(5))
    assert torch.equal(torch.rand(4), expected)


def test_it_applies_to_the_calling_thread_only():
    built = {}

    def build_elsewhere() -> None:
        torch.manual_seed(5)
        built["layer"] = nn.Linear(6, 6)

    torch.manual_seed(5)
    reference = nn.Linear(6, 6)
    with SkippedInitialisers():
        thread = threading.Thread(target=build_elsewhere)
        thread.start()
        thread.join()
    assert torch.equal(built["layer"].weight, reference.weight)


def test_modules_a_bundle_left_out_are_initialised_as_usual(tmp_path):
    torch.manual_seed(0)
    config = {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8, "disc_hidden": 16}
    model = build_model("ali", config)
    stored = {k: v for k, v in model.state_dict().items() if not k.startswith("discriminator.")}
    meta = {"model": "ali", "config": config, "omitted_modules": ["discriminator"]}
    write_checkpoint(tmp_path / "small.ckpt", Checkpoint(meta=meta, state_dict=stored))
    torch.manual_seed(9)
    loaded = model_from_checkpoint(read_checkpoint(tmp_path / "small.ckpt"))
    torch.manual_seed(9)
    fresh = build_model("ali", config)  # the same draws: the left-out discriminator got its usual init
    for (key, value), (_, expected) in zip(loaded.discriminator.state_dict().items(),
                                           fresh.discriminator.state_dict().items()):
        assert torch.equal(value, expected), key
    z = torch.randn(2, 4)
    assert torch.equal(loaded.eval().decode(z).mean, model.eval().decode(z).mean)
