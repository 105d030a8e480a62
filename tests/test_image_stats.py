"""Image statistics: intensity, Laplacian-variance sharpness, the unbiased MMD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.analysis.image_stats import mean_intensity, mmd_unbiased, sharpness
from latentlab.models.mmd import imq_kernel, median_sigma2, rbf_kernel


def checkerboard(side: int = 16, cell: int = 2) -> np.ndarray:
    idx = np.arange(side) // cell
    return ((idx[:, None] + idx[None, :]) % 2).astype(np.float64)


def box_blur(img: np.ndarray) -> np.ndarray:
    padded = np.pad(img, 1, mode="edge")
    return sum(padded[i:i + img.shape[0], j:j + img.shape[1]] for i in range(3) for j in range(3)) / 9.0


def test_mean_intensity_numpy_and_torch():
    x = np.stack([np.zeros((3, 4, 4)), np.full((3, 4, 4), 0.5)])
    np.testing.assert_allclose(mean_intensity(x), [0.0, 0.5])
    np.testing.assert_allclose(mean_intensity(torch.tensor(x, dtype=torch.float32)), [0.0, 0.5])


def test_sharpness_prefers_a_sharp_checkerboard_to_its_blur():
    sharp = checkerboard()
    blurred = box_blur(sharp)
    x = np.stack([sharp, blurred])[:, None]
    s = sharpness(x)
    assert s.shape == (2,) and s[0] > 5 * s[1]
    assert sharpness(np.full((1, 1, 8, 8), 0.3))[0] == pytest.approx(0.0)
    # RGB uses the luminance: a gray image repeated in 3 channels scores as the gray image.
    np.testing.assert_allclose(sharpness(np.repeat(x, 3, axis=1)), s, rtol=1e-12)


def test_laplacian_variance_matches_direct_convolution():
    img = np.random.default_rng(0).random((6, 7))
    kernel = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    direct = np.array([[np.sum(img[i:i + 3, j:j + 3] * kernel) for j in range(5)] for i in range(4)])
    assert sharpness(img[None, None])[0] == pytest.approx(direct.var())


def test_kernels_and_mmd_match_a_direct_computation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)) + 0.5
    pooled = np.concatenate([a, b])
    sq = [np.sum((u - v) ** 2) for i, u in enumerate(pooled) for v in pooled[i + 1:]]
    sigma2 = np.median(sq)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    assert float(median_sigma2(ta, tb)) == pytest.approx(sigma2)

    def rbf(u, v):
        return np.exp(-np.sum((u - v) ** 2) / (2 * sigma2))

    def imq(u, v):
        return sum(2 * 3 * s / (2 * 3 * s + np.sum((u - v) ** 2)) for s in (0.1, 0.2, 0.5, 1, 2, 5, 10))

    assert float(rbf_kernel(ta, tb, sigma2)[1, 2]) == pytest.approx(rbf(a[1], b[2]))
    assert float(imq_kernel(ta, tb)[3, 0]) == pytest.approx(imq(a[3], b[0]))
    for name, k in (("rbf", rbf), ("imq", imq)):
        n, m = len(a), len(b)
        aa = sum(k(a[i], a[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        bb = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        ab = sum(k(u, v) for u in a for v in b) * 2 / (n * m)
        assert mmd_unbiased(a, b, name) == pytest.approx(aa + bb - ab, rel=1e-10)


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_mmd_is_unbiased_near_zero_for_equal_and_positive_for_shifted(kernel):
    rng = np.random.default_rng(2)
    same, shifted = [], []
    for _ in range(50):
        a, b, c = rng.normal(size=(40, 4)), rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 1.0
        same.append(mmd_unbiased(a, b, kernel))
        shifted.append(mmd_unbiased(a, c, kernel))
    same, shifted = np.array(same), np.array(shifted)
    assert (same < 0).any()                                # unbiased: it goes below 0 too
    assert abs(same.mean()) < 3 * same.std() / np.sqrt(50)  # mean 0 within 3 standard errors
    assert shifted.mean() > 10 * same.std() / np.sqrt(50) and np.mean(shifted > 0) == 1.0


def test_mmd_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        mmd_unbiased(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="kernel"):
        mmd_unbiased(np.zeros((3, 2)), np.ones((3, 2)), "linear")
