"""Every bundled model opens for exploring: the latent models decode (and encode, with their atlas,
where they have an encoder), every CelebA latent model can join one comparison, and each fits the
size budget of a shipped file."""

import numpy as np
import pytest

from latentlab.checkpoints.model_io import holds_autoregressive_model
from latentlab.explorer.session import ExplorerSession
from latentlab.resources import bundled_models

LATENT = [p for p in bundled_models() if not holds_autoregressive_model(p)]
MAX_BYTES = 16 * 1024 * 1024  # the default VAE is twice as wide since its decoder measured sharper (README)


@pytest.mark.parametrize("path", LATENT, ids=lambda p: p.stem)
def test_every_bundled_latent_model_opens_decodes_and_encodes(path):
    session = ExplorerSession.from_checkpoint(path)
    z = np.random.default_rng(0).standard_normal((3, session.latent_dim)).astype(np.float32)
    faces = session.decode(z)
    assert faces.shape[0] == 3 and faces.dtype == np.uint8 and faces.max() > faces.min()  # images, not blank
    if session.has_encoder:
        assert session.atlas_codes is not None and len(session.atlas_codes) >= 1000
        assert session.encode_images(faces).shape == (3, session.latent_dim)
    else:
        assert session.atlas_codes is None  # a GAN: prior samples only
    assert path.stat().st_size <= MAX_BYTES


def test_the_celeba_latent_models_share_one_latent_space_for_compare():
    celeba = [ExplorerSession.from_checkpoint(p) for p in LATENT if p.stem.endswith("-celeba")]
    families = {s.model.registry_name for s in celeba}
    assert {"vae", "dvae", "wae", "wae-gan", "aae", "gan", "ali"} <= families
    assert len({(s.latent_dim, tuple(s.model.image_shape)) for s in celeba}) == 1
