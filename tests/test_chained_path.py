"""The interpolation path after k latent-chain steps (Qt-free), and its figure command
(`python -m latentlab.bench chained-path`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.checkpoints import Checkpoint, save_model, write_checkpoint
from latentlab.checkpoints.model_io import model_meta
from latentlab.data import parse_spec, preprocessing_for
from latentlab.images import to_uint8
from latentlab.models import build_model
from latentlab.sampling import interpolation_path
from latentlab.bench.chained_path import main
from latentlab.sampling.chained_path import chained_path

CONFIG = {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8}


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return build_model("vae", CONFIG).eval()


@pytest.fixture(scope="module")
def path(vae):
    z = vae.prior.sample(2, generator=torch.Generator().manual_seed(1)).numpy()
    return interpolation_path(z[0], z[1], 6, "slerp").astype(np.float32)


def test_k0_is_the_direct_decode(vae, path):
    z, images = chained_path(vae, path, 0)
    np.testing.assert_array_equal(z, path)
    with torch.no_grad():
        direct = to_uint8(vae.decode(torch.from_numpy(path)).mean)
    assert images.dtype == np.uint8 and images.shape == (6, 3, 16, 16)
    np.testing.assert_array_equal(images, direct)


def test_k_steps_move_the_codes_deterministically_in_mean_mode(vae, path):
    z3, images3 = chained_path(vae, path, 3, mode="mean")
    assert z3.shape == path.shape and z3.dtype == np.float32
    assert not np.allclose(z3, path, atol=1e-3)
    again = chained_path(vae, path, 3, mode="mean", seed=123)  # no randomness in mean mode (no corruption)
    np.testing.assert_array_equal(again[0], z3)
    np.testing.assert_array_equal(again[1], images3)
    seen = []
    chained_path(vae, path, 3, progress=seen.append)
    assert seen == [1, 2, 3]
    z1, _ = chained_path(vae, path, 1, mode="mean")
    assert not np.allclose(z1, z3)  # each step moves on


def test_stochastic_mode_is_reproducible_from_the_seed(vae, path):
    a = chained_path(vae, path, 2, mode="stochastic", seed=7)
    b = chained_path(vae, path, 2, mode="stochastic", seed=7)
    c = chained_path(vae, path, 2, mode="stochastic", seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    assert not np.allclose(a[0], chained_path(vae, path, 2, mode="mean")[0])


def test_denoising_mean_mode_is_reproducible_from_the_seed(path):
    torch.manual_seed(0)
    dvae = build_model("dvae", CONFIG).eval()  # the corruption stays on in the chain: random even in mean mode
    a = chained_path(dvae, path, 2, seed=1)[0]
    np.testing.assert_array_equal(a, chained_path(dvae, path, 2, seed=1)[0])
    assert not np.allclose(a, chained_path(dvae, path, 2, seed=2)[0])


def test_bad_arguments(vae, path):
    with pytest.raises(ValueError, match="k must be"):
        chained_path(vae, path, -1)
    with pytest.raises(ValueError, match="mode"):
        chained_path(vae, path, 1, mode="gibbs")
    with pytest.raises(ValueError, match="dimensions"):
        chained_path(vae, np.zeros((3, 5), np.float32), 1)


def test_figure_command(vae, tmp_path, capsys):
    prep = preprocessing_for(parse_spec("folder:/x?size=16"))
    atlas = torch.from_numpy(vae.prior.sample(5, generator=torch.Generator().manual_seed(2)).numpy())
    ckpt = write_checkpoint(tmp_path / "atlas.ckpt", Checkpoint(meta=model_meta(vae, preprocessing=prep),
                                                                state_dict=vae.state_dict(),
                                                                extras={"atlas_codes": atlas}))
    out = tmp_path / "fig" / "chain.png"
    assert main(["--checkpoint", str(ckpt), "--a", "1", "--b", "4", "--steps", "5", "--k", "2",
                 "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(out) as img:  # two strips of 5 tiles of 16 px (2-px gaps), a 6-px gap, scaled 2x
        assert img.size == ((5 * 18 + 2) * 2, (2 * (16 + 4) + 6) * 2)
        pixels = np.asarray(img.convert("RGB"))
    top, bottom = pixels[4:36, 4:36], pixels[(20 + 6 + 2) * 2:(20 + 6 + 2 + 16) * 2, 4:36]
    assert not np.array_equal(top, bottom)  # the chain changed the first decode

    # endpoints from image files, with the checkpoint's preprocessing; a checkpoint without an atlas
    face = tmp_path / "face.png"
    Image.fromarray(np.full((20, 24, 3), 200, np.uint8)).save(face)
    plain = save_model(tmp_path / "plain.ckpt", vae, preprocessing=prep)
    assert main(["--checkpoint", str(plain), "--image-a", str(face), "--image-b", str(face),
                 "--k", "1", "--steps", "3", "--out", str(tmp_path / "files.png")]) == 0
    assert main(["--checkpoint", str(plain), "--out", str(tmp_path / "none.png")]) == 2
    assert "atlas" in capsys.readouterr().err
    assert main(["--checkpoint", str(ckpt), "--a", "9", "--out", str(tmp_path / "none.png")]) == 2
    assert not (tmp_path / "none.png").exists()
