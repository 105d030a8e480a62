"""The latent Markov chain: it converges to P̂(Z) (not the prior), modes, reproducibility, eval mode,
corruption, shapes, and refusal for models without an encoder."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.models import build_model
from latentlab.sampling import ChainStep, interpolation_path, latent_chain, prior_start, run_chain

# ---------------------------------------------------------------- a toy model with P̂(Z) in closed form
#
# Data x ~ N(0, Σx) in 3-D, encoder Q(z|x) = N(Wx, S) in 2-D (S diagonal). The joint
# q(x, z) = P(x) Q(z|x) is Gaussian, so its conditional is P(x|z) = N(Kz, Σ_{x|z}) with
#   C = W Σx W^T + S,   K = Σx W^T C^-1,   Σ_{x|z} = Σx - K W Σx,
# and the aggregate posterior is P̂(Z) = N(0, C). With the decoder set to that exact conditional the
# chain z -> x ~ P(x|z) -> z' ~ Q(z'|x) is a Gibbs sampler of q(x, z): z' = WK z + noise, stationary
# law N(0, C). Its covariance error decays like the squared eigenvalues of WK = I - S C^-1; with an
# isotropic S = s²I the long axis (variance 4) would mix at 1 - s²/4 ≈ 0.95 per step (s² < 0.25 is
# forced by the short axis), too slow for 30 steps, so S is diagonal with a large first entry.

TARGET_COV = np.array([[4.0, 0.4], [0.4, 0.25]])   # P̂(Z): variances 4 and 0.25, correlation 0.4
ENC_NOISE = np.array([2.0, 0.1])                    # S = diag(2, 0.1)
DATA_COV = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.2], [0.0, 0.2, 0.5]])  # Σx


def toy_parameters() -> dict[str, np.ndarray]:
    m = TARGET_COV - np.diag(ENC_NOISE)             # W Σx W^T must equal C - S (positive definite)
    l_m = np.linalg.cholesky(m)
    r = np.linalg.cholesky(DATA_COV)
    w = np.hstack([l_m, np.zeros((2, 1))]) @ np.linalg.inv(r)   # W Σx W^T = L_M L_M^T = M
    c = w @ DATA_COV @ w.T + np.diag(ENC_NOISE)
    k = DATA_COV @ w.T @ np.linalg.inv(c)
    cond_cov = DATA_COV - k @ w @ DATA_COV
    return {"W": w, "C": c, "K": k, "cond_cov": (cond_cov + cond_cov.T) / 2}


@dataclass
class Gaussian:
    mean: torch.Tensor
    chol: torch.Tensor   # [d, d] lower Cholesky factor of the covariance

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype)
        return self.mean + eps @ self.chol.T


class ToyPrior:
    def __init__(self, dim: int) -> None:
        self.dim = dim

    def sample(self, n: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        return torch.randn(n, self.dim, generator=generator, device=device)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z.pow(2).sum(-1) + self.dim * np.log(2 * np.pi))


class LinearGaussianToy(nn.Module):
    """The protocol on the toy: x is shaped [N, 3, 1, 1] (3 'channels' of a 1x1 image)."""

    has_encoder = True
    corruption = None
    latent_dim = 2
    image_shape = (3, 1, 1)

    def __init__(self) -> None:
        super().__init__()
        p = toy_parameters()
        f = lambda a: torch.tensor(a, dtype=torch.float32)
        self.w, self.k = f(p["W"]), f(p["K"])
        self.enc_chol = f(np.diag(np.sqrt(ENC_NOISE)))
        self.dec_chol = f(np.linalg.cholesky(p["cond_cov"]))
        self.prior = ToyPrior(2)
        self.modes_seen: list[bool] = []

    def encode(self, x: torch.Tensor) -> Gaussian:
        self.modes_seen.append(self.training)
        return Gaussian(x.flatten(1) @ self.w.T, self.enc_chol)

    def decode(self, z: torch.Tensor):
        self.modes_seen.append(self.training)
        lik = Gaussian(z @ self.k.T, self.dec_chol)
        return _Reshaped(lik)


@dataclass
class _Reshaped:
    inner: Gaussian

    @property
    def mean(self) -> torch.Tensor:
        return self.inner.mean[:, :, None, None]

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.inner.sample(generator)[:, :, None, None]


def gaussian_kl(mean: np.ndarray, cov: np.ndarray, target_cov: np.ndarray) -> float:
    """KL(N(mean, cov) || N(0, target_cov))."""
    inv = np.linalg.inv(target_cov)
    d = len(mean)
    return 0.5 * float(np.trace(inv @ cov) + mean @ inv @ mean - d
                       + np.linalg.slogdet(target_cov)[1] - np.linalg.slogdet(cov)[1])


def test_stochastic_chain_converges_to_aggregate_posterior_not_prior():
    model = LinearGaussianToy()
    target = toy_parameters()["C"]
    np.testing.assert_allclose(target, TARGET_COV, atol=1e-9)
    gen = torch.Generator().manual_seed(0)
    z0 = prior_start(model, 4000, gen)
    steps = run_chain(model, z0, 30, mode="stochastic", generator=gen, batch_size=1000)
    covs = [np.cov(s.z, rowvar=False) for s in steps]
    kls = [gaussian_kl(s.z.mean(axis=0), c, target) for s, c in zip(steps, covs)]

    # Step 0 is the prior: covariance ≈ I, far from P̂.
    np.testing.assert_allclose(covs[0], np.eye(2), atol=0.1)
    assert kls[0] > 0.5
    # After 30 steps: P̂'s covariance (4, 0.25, correlation 0.4), not the prior's.
    end = np.mean(covs[-5:], axis=0)  # average the last steps: less sampling noise, same law
    np.testing.assert_allclose(np.diag(end), np.diag(target), rtol=0.08)
    assert abs(end[0, 1] - target[0, 1]) < 0.06
    assert abs(covs[-1][0, 0] - 1.0) > 2.0          # clearly not the identity
    np.testing.assert_allclose(steps[-1].z.mean(axis=0), 0.0, atol=0.1)
    assert kls[-1] < 0.02 and kls[-1] < kls[0] / 20
    assert np.mean(kls[-5:]) < np.mean(kls[1:3])    # distance to P̂ decreases along the chain

    # The deterministic "mean" variant is a contraction z' = WK z, not a sampler of P̂: it collapses.
    mean_end = run_chain(model, z0, 30, mode="mean", batch_size=1000)[-1].z
    assert np.cov(mean_end, rowvar=False)[0, 0] < 0.1


def test_mean_mode_is_deterministic_and_batching_does_not_change_it():
    model = LinearGaussianToy()
    z0 = prior_start(model, 7, torch.Generator().manual_seed(1))
    a = run_chain(model, z0, 3, mode="mean", batch_size=256)
    b = run_chain(model, z0, 3, mode="mean", batch_size=3)
    for sa, sb in zip(a, b):
        np.testing.assert_allclose(sa.z, sb.z, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(sa.x, sb.x, rtol=1e-6, atol=1e-6)
    # The mean chain is z' = WK z exactly.
    wk = (model.w @ model.k).numpy()
    np.testing.assert_allclose(a[1].z, z0 @ wk.T, rtol=1e-5, atol=1e-6)


def test_stochastic_mode_reproducible_with_seeded_generator():
    model = LinearGaussianToy()
    z0 = np.zeros((5, 2), np.float32)
    runs = [run_chain(model, z0, 4, mode="stochastic", generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    other = run_chain(model, z0, 4, mode="stochastic", generator=torch.Generator().manual_seed(8))
    for sa, sb in zip(*runs):
        np.testing.assert_array_equal(sa.z, sb.z)
    assert not np.allclose(runs[0][-1].z, other[-1].z)
    assert not np.allclose(runs[0][-1].z[0], runs[0][-1].z[1])  # repeated starts diverge


def tiny(name: str, **extra):
    return build_model(name, {"image_shape": [1, 8, 8], "latent_dim": 3, "base_channels": 4, **extra})


def test_shapes_steps_and_change():
    model = tiny("vae")
    z0 = np.repeat(np.array([[0.5, -1.0, 2.0]], np.float32), 4, axis=0)   # N chains from one point
    steps = run_chain(model, z0, 2, mode="stochastic", generator=torch.Generator().manual_seed(0))
    assert [s.step for s in steps] == [0, 1, 2]
    for s in steps:
        assert isinstance(s, ChainStep) and s.mode == "stochastic"
        assert s.z.shape == (4, 3) and s.z.dtype == np.float32
        assert s.x.shape == (4, 1, 8, 8) and s.x.dtype == np.float32
        assert s.change.shape == (4,) and s.change.dtype == np.float32
        assert np.all((s.x >= 0) & (s.x <= 1))
    np.testing.assert_array_equal(steps[0].z, z0)
    np.testing.assert_array_equal(steps[0].change, 0.0)
    expected = np.sqrt(((steps[2].x - steps[1].x) ** 2).reshape(4, -1).mean(axis=1))
    np.testing.assert_allclose(steps[2].change, expected, rtol=1e-5)
    assert np.all(steps[1].change > 0)
    # An owned copy: changing the input afterwards does not touch the yielded state.
    z0[:] = 0
    assert steps[0].z[0, 0] == 0.5


def test_eval_mode_during_chain_and_mode_restored():
    model = LinearGaussianToy()
    model.train()
    chain = latent_chain(model, np.zeros((2, 2), np.float32), steps=None, mode="mean")
    taken = list(itertools.islice(chain, 5))     # steps=None runs until closed
    assert [s.step for s in taken] == [0, 1, 2, 3, 4]
    assert model.training is False               # eval while the chain is open
    chain.close()
    assert model.training is True
    assert model.modes_seen and not any(model.modes_seen)

    # A real model with batch-norm, in mixed modes: every submodule's mode comes back as it was.
    vae = tiny("vae")
    vae.train()
    vae.decoder.eval()
    before = {name: m.training for name, m in vae.named_modules()}
    run_chain(vae, np.zeros((2, 3), np.float32), 1, mode="stochastic")
    assert {name: m.training for name, m in vae.named_modules()} == before

    # In train mode batch-norm would update its running statistics from chain batches; it must not.
    vae.train()
    bn = next(m for m in vae.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    stats = bn.running_mean.clone()
    run_chain(vae, np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), 2)
    assert torch.equal(bn.running_mean, stats) and vae.training is True

    vae.eval()
    run_chain(vae, np.zeros((2, 3), np.float32), 1)
    assert vae.training is False


def test_eval_mode_restored_when_chain_raises():
    model = LinearGaussianToy()
    model.train()

    def broken(z):
        raise RuntimeError("decoder failed")

    model.decode = broken
    with pytest.raises(RuntimeError, match="decoder failed"):
        run_chain(model, np.zeros((2, 2), np.float32), 1)
    assert model.training is True


class CountingCorruption:
    def __init__(self, inner) -> None:
        self.inner, self.calls, self.generators = inner, 0, []

    def __call__(self, x, generator=None):
        self.calls += 1
        self.generators.append(generator)
        return self.inner(x, generator=generator)


def test_corruption_applied_before_reencoding_for_denoising_models():
    model = tiny("dvae")
    counter = CountingCorruption(model.corruption)
    model.corruption = counter
    z0 = np.zeros((5, 3), np.float32)
    gen = torch.Generator().manual_seed(3)
    with_noise = run_chain(model, z0, 3, mode="mean", generator=gen, batch_size=2)
    assert counter.calls == 3 * 3                 # once per batch (5 codes / 2 = 3) per transition
    assert all(g is gen for g in counter.generators)

    counter.calls = 0
    clean = run_chain(model, z0, 3, mode="mean", corrupt=False)
    assert counter.calls == 0
    assert not np.allclose(with_noise[-1].z, clean[-1].z)
    # Without corruption the mean chain is deterministic; with it, the seed decides.
    np.testing.assert_array_equal(clean[-1].z, run_chain(model, z0, 3, mode="mean", corrupt=False)[-1].z)
    again = run_chain(model, z0, 3, mode="mean", generator=torch.Generator().manual_seed(3), batch_size=2)
    np.testing.assert_array_equal(with_noise[-1].z, again[-1].z)


class NoEncoder(nn.Module):
    has_encoder = False
    latent_dim = 2


def test_models_without_encoder_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="has no encoder"):
        latent_chain(NoEncoder(), np.zeros((1, 2), np.float32))
    model = LinearGaussianToy()
    with pytest.raises(ValueError, match="mode"):
        latent_chain(model, np.zeros((1, 2), np.float32), mode="gibbs")
    with pytest.raises(ValueError, match="dimensions"):
        latent_chain(model, np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError):
        latent_chain(model, np.zeros(2, np.float32))


def test_chain_along_an_interpolation_path():
    model = tiny("vae")
    a, b = np.array([1.0, 0.5, -1.0]), np.array([-1.0, 1.0, 0.5])
    path = interpolation_path(a, b, 6, "slerp")    # one chain per point of the path
    steps = run_chain(model, path, 1)
    assert steps[0].z.shape == (6, 3) and steps[1].x.shape == (6, 1, 8, 8)
    np.testing.assert_allclose(steps[0].z, path, rtol=1e-6)


def test_bias_gives_the_debiased_chain():
    """latent_chain(..., bias=b): z_(t+1) = T(z_t) - b; a zero bias is the plain chain."""
    model = tiny("vae")
    z0 = prior_start(model, 5, torch.Generator().manual_seed(0))
    plain = run_chain(model, z0, 2, mode="mean")
    zero = run_chain(model, z0, 2, mode="mean", bias=np.zeros(model.latent_dim, np.float32))
    assert all(np.array_equal(a.z, b.z) for a, b in zip(plain, zero))
    b = np.linspace(-0.5, 0.5, model.latent_dim).astype(np.float32)
    debiased = run_chain(model, z0, 1, mode="mean", bias=b)
    np.testing.assert_allclose(debiased[1].z, plain[1].z - b, atol=1e-6)
    with pytest.raises(ValueError, match="bias has"):
        latent_chain(model, z0, 1, bias=np.zeros(model.latent_dim + 1))
