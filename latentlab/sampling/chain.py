"""The latent Markov chain of a generative autoencoder (Creswell, Arulkumaran & Bharath 2016,
"Improving Sampling from Generative Autoencoders with Markov Chains").

Transition operator (in the denoising form of the paper; C = identity for other models)::

    T(z_{t+1} | z_t) = ∫∫ Q_phi(z_{t+1} | x̃) C(x̃ | x) P_theta(x | z_t) dx dx̃

one step = decode z_t to x ~ P_theta(X | z_t), corrupt x̃ ~ C(X̃ | x) (denoising models only;
otherwise x̃ = x), re-encode z_{t+1} ~ Q_phi(Z | x̃). Their Lemma 1-2 and Theorem 1: the chain is
ergodic and its stationary distribution is the aggregate posterior
P̂(Z) = ∫ Q_phi(Z | X) P(X) dX, not the prior P(Z). So a start in a "gap" of P̂(Z) (a prior sample
no training code was encoded near, a point on an interpolation path) drifts toward codes the
decoder has learned, and its decodes become realistic.

Modes (`TRANSITIONS`: whether each half of a transition samples or takes the mean):

- ``"stochastic"``: x ~ P(x|z_t), z_{t+1} ~ Q(z|x̃): the faithful chain above, whose stationary
  distribution is P̂(Z) (tested on a linear-Gaussian toy where P̂(Z) is known in closed form).
- ``"mean"``: x = E[x|z_t] (decoder mean), z_{t+1} = E[z|x̃] (encoder mean): the deterministic
  variant the reference implementations use. It is a map, not a sampler of P̂(Z); it is
  deterministic except for the corruption of denoising models (seed the generator for repeats).
- ``"mean-decode"`` (`MEAN_DECODE`): x = E[x|z_t], z_{t+1} ~ Q(z|x̃): the reference
  implementations' re-encoding of the decoder's mean image, with the code sampled. A diagnostic
  hybrid of the chain study (docs/chain-study.md: it differs from "stochastic" only in leaving out
  the pixel sampling); the window offers `CHAIN_MODES`, the first two.

Practical choices, following the reference implementations: batch-norm (and dropout) run in eval
mode for the whole chain (`eval_mode`: every submodule's own train/eval flag is restored after),
and the corruption stays on for denoising models (``corrupt=True``).

Starting points z0 [N, D]:

- from the prior: ``prior_start(model, n, generator)``;
- from a single point (the drag handle) z [D], N chains: ``np.repeat(z[None], n, 0)``
  (in "stochastic" mode the copies diverge; in "mean" mode they stay equal);
- from an interpolation path: the path array itself ([K, D], e.g. ``interpolation_path(...)``),
  one chain per point of the path, so step t is the whole path after t transitions.

Device: z0 is moved to the model's device; a ``torch.Generator`` must live on that device too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

CHAIN_MODES = ("mean", "stochastic")   # the window's modes
MEAN_DECODE = "mean-decode"              # the chain study's diagnostic hybrid


@dataclass(frozen=True)
class Transition:
    """One transition z_t -> z_{t+1} of a mode: sample_image: x ~ P(x | z_t) rather than the decoder
    mean E[x | z_t]; sample_code: z_{t+1} ~ Q(z | x̃) rather than the encoder mean E[z | x̃]."""

    sample_image: bool
    sample_code: bool


TRANSITIONS: dict[str, Transition] = {
    "mean": Transition(sample_image=False, sample_code=False),
    "stochastic": Transition(sample_image=True, sample_code=True),
    MEAN_DECODE: Transition(sample_image=False, sample_code=True),
}
TRANSITION_MODES = tuple(TRANSITIONS)    # every mode `latent_chain` runs: CHAIN_MODES + MEAN_DECODE


@dataclass
class ChainStep:
    """The state of N parallel chains after `step` transitions (step 0 = the start).

    z: [N, D] float32, an owned copy.
    x: [N, C, H, W] float32, the decoder mean E[x | z_t] (what is displayed; in "stochastic" mode
       the chain itself moves through a sample of P(x | z_t), not this mean).
    change: [N] float32 RMS pixel change ||x_t - x_{t-1}|| / sqrt(#pixel values); 0 at step 0.
    mode: one of TRANSITION_MODES ("mean", "stochastic", "mean-decode").
    """

    step: int
    z: np.ndarray
    x: np.ndarray
    change: np.ndarray
    mode: str


def model_device(model: Any) -> torch.device:
    """Where the model's parameters live (CPU for a model without parameters, e.g. a toy)."""
    params = getattr(model, "parameters", None)
    if params is not None:
        for p in params():
            return p.device
    return torch.device("cpu")


def _check_mode(mode: str) -> Transition:
    if mode not in TRANSITIONS:
        raise ValueError(f"unknown chain mode {mode!r}; choose one of {', '.join(TRANSITION_MODES)}")
    return TRANSITIONS[mode]


def _check_model(model: Any) -> None:
    if not getattr(model, "has_encoder", True) or not callable(getattr(model, "encode", None)):
        name = type(model).__name__
        raise ValueError(f"{name} has no encoder, so the latent Markov chain (decode, then re-encode) does not apply")


def prior_start(model: Any, n: int, generator: torch.Generator | None = None) -> np.ndarray:
    """n starting points drawn from the model's prior P(Z), as float32 [n, D]."""
    z = model.prior.sample(n, generator=generator)
    return z.detach().to("cpu", torch.float32).numpy().copy()


def _as_latents(z0: np.ndarray | torch.Tensor, model: Any) -> torch.Tensor:
    if isinstance(z0, torch.Tensor):
        z0 = z0.detach().cpu().numpy()
    z = torch.from_numpy(np.array(z0, dtype=np.float32))  # a copy: the caller's array is never touched
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"z0 must be a non-empty [N, D] array, got shape {tuple(z.shape)}")
    latent_dim = getattr(model, "latent_dim", None)
    if latent_dim is not None and z.shape[1] != latent_dim:
        raise ValueError(f"z0 has {z.shape[1]} dimensions but the model's latent space has {latent_dim}")
    return z


def latent_chain(
    model: Any,
    z0: np.ndarray | torch.Tensor,
    steps: int | None = None,
    mode: str = "mean",
    generator: torch.Generator | None = None,
    corrupt: bool = True,
    batch_size: int = 256,
    bias: np.ndarray | None = None,
) -> Iterator[ChainStep]:
    """Run N chains from z0 [N, D]: yields step 0 (z0 and its decode), then one ChainStep per
    transition, `steps` transitions (forever when None).

    Arguments are checked at once (ValueError for a model without an encoder, a bad mode or shape);
    the work happens as the iterator is consumed. While it is open the model is in eval mode; the
    previous train/eval mode of every submodule is restored when the iterator finishes or is
    closed (``close()``, or garbage collection). Every random draw (decoder sample, corruption,
    encoder sample) uses `generator`, so a seeded generator reproduces a stochastic chain for the
    same `batch_size`.

    bias [D]: the debiased chain z_{t+1} = T(z_t) - bias, with bias the mean one-step move of the
    training codes (`transition_bias`; docs/chain-study.md): it removes the systematic drift one
    transition adds, which would be 0 if P̂(Z) were stationary.
    """
    _check_model(model)
    _check_mode(mode)
    if steps is not None and steps < 0:
        raise ValueError(f"steps must be >= 0 or None, got {steps}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    z = _as_latents(z0, model)
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float32).reshape(-1)
        if bias.shape[0] != z.shape[1]:
            raise ValueError(f"bias has {bias.shape[0]} dimensions but the codes have {z.shape[1]}")
    return _run(model, z, steps, mode, generator, corrupt, batch_size, bias)


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Run the body with `model` in eval mode (batch-norm uses its running statistics and does not
    update them, dropout is off), then give every submodule back its own previous train/eval flag,
    also when the body raises or a generator holding this context is closed. Restoring the flag
    per module (not ``model.train(flag)``) keeps mixed modes as they were. Works for any object
    with ``training`` and ``eval()`` (a toy model that is not an nn.Module)."""
    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else [model]
    saved = [(m, bool(getattr(m, "training", False))) for m in modules]
    if callable(getattr(model, "eval", None)):
        model.eval()
    try:
        yield
    finally:
        for module, training in saved:
            if hasattr(module, "training"):
                module.training = training


def transition(model: Any, likelihoods: list[Any], mode: str, generator: torch.Generator | None,
               corruption: Any = None) -> list[torch.Tensor]:
    """One transition of every chunk, from the decoder likelihoods P(x | z_t) of its codes: x from
    P(x | z_t) (a sample, or its mean, as `TRANSITIONS[mode]` says), corrupted x̃ ~ C(x̃ | x) when a
    `corruption` is given (denoising models), then z_{t+1} from Q(z | x̃) (a sample, or its mean), as
    float32. The random draws of each chunk come from `generator` in that order: image sample,
    corruption, code sample. The caller holds `eval_mode` and `torch.no_grad`."""
    how = _check_mode(mode)
    codes = []
    for likelihood in likelihoods:
        x = likelihood.sample(generator=generator) if how.sample_image else likelihood.mean
        if corruption is not None:
            x = corruption(x, generator=generator)
        posterior = model.encode(x)
        z = posterior.sample(generator=generator) if how.sample_code else posterior.mean
        codes.append(z.to(torch.float32))
    return codes


def _run(model: Any, z: torch.Tensor, steps: int | None, mode: str,
         generator: torch.Generator | None, corrupt: bool, batch_size: int,
         bias: np.ndarray | None = None) -> Iterator[ChainStep]:
    device = model_device(model)
    shift = None if bias is None else torch.from_numpy(bias).to(device)
    corruption = getattr(model, "corruption", None) if corrupt else None
    with eval_mode(model):
        with torch.no_grad():
            chunks = [c.to(device) for c in torch.split(z, batch_size)]
            # The likelihood P(x | z_t) of each chunk: its mean is displayed, and the next
            # transition draws from it, so each step costs one decode and one encode.
            likelihoods = [model.decode(c) for c in chunks]
            x = _to_numpy(torch.cat([lik.mean for lik in likelihoods]))
        yield ChainStep(0, _to_numpy(torch.cat(chunks)), x, np.zeros(len(x), np.float32), mode)
        t = 0
        while steps is None or t < steps:
            with torch.no_grad():
                chunks = transition(model, likelihoods, mode, generator, corruption)
                if shift is not None:
                    chunks = [c - shift for c in chunks]
                likelihoods = [model.decode(c) for c in chunks]
                new_x = _to_numpy(torch.cat([lik.mean for lik in likelihoods]))
            t += 1
            yield ChainStep(t, _to_numpy(torch.cat(chunks)), new_x, _rms_change(new_x, x), mode)
            x = new_x


def transition_bias(model: Any, codes: np.ndarray, mode: str, generator: torch.Generator | None = None,
                    batch_size: int = 250, corrupt: bool = True) -> np.ndarray:
    """b = mean over codes z of (T(z) - z), one `transition` in `mode`, float32 [D].

    With codes of training images (samples of P̂(Z)) this measures how far one transition moves
    the mean of P̂(Z); for a chain whose stationary distribution is P̂(Z) it is 0 up to sampling
    noise. The debiased chain z_{t+1} = T(z_t) - b (`latent_chain(..., bias=b)`) keeps that mean in
    place (docs/chain-study.md measures what it does to the samples). The transition is the
    chain's own, under the same `eval_mode`, so b is exactly the mean first move of `latent_chain`
    from these codes with the same generator and `batch_size`.
    """
    _check_model(model)
    _check_mode(mode)
    z = torch.from_numpy(np.array(codes, dtype=np.float32)).to(model_device(model))
    if z.ndim != 2 or len(z) == 0:
        raise ValueError(f"codes must be a non-empty [N, D] array, got shape {tuple(z.shape)}")
    corruption = getattr(model, "corruption", None) if corrupt else None
    with eval_mode(model), torch.no_grad():
        chunks = list(torch.split(z, batch_size))
        moved = transition(model, [model.decode(c) for c in chunks], mode, generator, corruption)
        shift = torch.cat(moved) - z
    return shift.mean(dim=0).to("cpu", torch.float32).numpy()


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    # .copy(): an owned array, safe to hand to another thread while the chain moves on.
    return t.detach().to("cpu", torch.float32).numpy().copy()


def _rms_change(x: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """||x_t - x_{t-1}|| / sqrt(#pixel values), per chain."""
    diff = (x - previous).reshape(len(x), -1)  # float32: a float64 copy cost ~7% of a 64-chain step
    return np.sqrt(np.einsum("ij,ij->i", diff, diff) / diff.shape[1]).astype(np.float32)


def run_chain(model: Any, z0: np.ndarray | torch.Tensor, steps: int, **kwargs: Any) -> list[ChainStep]:
    """All steps 0..`steps` of `latent_chain` in a list (for metrics at every step)."""
    if steps is None:
        raise ValueError("run_chain needs a finite number of steps")
    return list(latent_chain(model, z0, steps, **kwargs))


__all__ = [
    "CHAIN_MODES",
    "MEAN_DECODE",
    "TRANSITIONS",
    "TRANSITION_MODES",
    "ChainStep",
    "Transition",
    "eval_mode",
    "latent_chain",
    "model_device",
    "prior_start",
    "run_chain",
    "transition",
    "transition_bias",
]
