"""The Fréchet distance and the project's feature network."""

import numpy as np
import pytest
import torch

from latentlab.analysis.frechet import (
    DEFAULT_FEATURE_NETWORK,
    FeatureNetwork,
    fid_against,
    frechet_distance,
    gaussian_stats,
)
from latentlab.errors import LatentLabError


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_identical_gaussians_are_at_distance_zero():
    rng = np.random.default_rng(0)
    mu, cov = rng.standard_normal(6), _random_cov(rng, 6)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_match_the_closed_form():
    # For diagonal covariances: ||mu1 - mu2||^2 + sum_i (s1_i - s2_i)^2 with s = standard deviations.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 1.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)


def test_symmetric_and_grows_with_a_mean_shift():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    cov1, cov2 = _random_cov(rng, 5), _random_cov(rng, 5)
    assert frechet_distance(mu1, cov1, mu2, cov2) == pytest.approx(frechet_distance(mu2, cov2, mu1, cov1), rel=1e-9)
    direction = rng.standard_normal(5)
    values = [frechet_distance(mu1, cov1, mu1 + s * direction, cov1) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] == pytest.approx(0.0, abs=1e-8)
    assert values[-1] == pytest.approx(4.0 * direction @ direction, rel=1e-8)  # equal covariances: the mean term


def test_singular_covariances_give_a_finite_value():
    # Fewer samples than dimensions: singular sample covariances.
    rng = np.random.default_rng(2)
    value = fid_against(rng.standard_normal((4, 10)), rng.standard_normal((4, 10)) + 1.0)
    assert np.isfinite(value) and value > 0


def test_fid_against_uses_sample_statistics():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((500, 3)), 2.0 * rng.standard_normal((400, 3)) + 1.0
    mu_a, cov_a = gaussian_stats(a)
    mu_b, cov_b = gaussian_stats(b)
    assert fid_against(a, b) == pytest.approx(frechet_distance(mu_a, cov_a, mu_b, cov_b))
    assert fid_against(a, b) == pytest.approx(3 * 1.0 + 3 * 1.0, rel=0.25)  # population value 6
    with pytest.raises(ValueError, match="N >= 2"):
        fid_against(a[:1], b)
    with pytest.raises(ValueError, match="different sizes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_feature_network_from_any_checkpoint(tmp_path):
    from latentlab.checkpoints import save_model
    from latentlab.models import build_model

    torch.manual_seed(0)
    ae = build_model("ae", {"image_shape": [3, 16, 16], "latent_dim": 7, "base_channels": 4})
    path = save_model(tmp_path / "f.ckpt", ae)
    net = FeatureNetwork.load(path)
    x = torch.rand(5, 3, 16, 16)
    f = net.features(x.numpy())
    assert f.shape == (5, 7) and f.dtype == np.float64
    ae.eval()
    assert np.allclose(f, ae.encode(x).mean.detach().numpy(), atol=1e-5)
    assert np.allclose(net.features(x[:2]), f[:2], atol=1e-5)  # eval mode: independent of the batch
    assert "f.ckpt" in net.name and net.describe()["dim"] == 7
    with pytest.raises(LatentLabError, match=r"3x16x16"):
        net.features(np.zeros((2, 3, 32, 32), np.float32))
    with pytest.raises(LatentLabError, match=r"\[0, 1\]"):
        net.features(np.full((2, 3, 16, 16), 255.0, np.float32))


def test_missing_feature_network_is_a_clear_error(tmp_path):
    with pytest.raises(LatentLabError, match="feature network not found"):
        FeatureNetwork.load(tmp_path / "absent.ckpt")


def test_the_shipped_feature_network():
    if not DEFAULT_FEATURE_NETWORK.is_file():
        pytest.skip(f"{DEFAULT_FEATURE_NETWORK} is not present")
    net = FeatureNetwork.load()
    assert "celeba-ae128" in net.name and net.image_shape == (3, 64, 64) and net.dim == 128
    rng = np.random.default_rng(0)
    x = rng.random((8, 3, 64, 64)).astype(np.float32)
    f = net.features(x)
    assert f.shape == (8, 128) and np.all(np.isfinite(f))
    # Noise images sit far from smooth constant images in feature space.
    flat = np.full((8, 3, 64, 64), 0.5, np.float32) + 0.01 * rng.random((8, 3, 64, 64)).astype(np.float32)
    assert fid_against(f, net.features(flat)) > 0
    with pytest.raises(LatentLabError, match="3x64x64"):
        net.features(np.zeros((2, 1, 64, 64), np.float32))
