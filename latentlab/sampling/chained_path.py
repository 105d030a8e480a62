"""An interpolation path after k steps of the latent Markov chain, applied to every point of the path
(the interpolation figure of Creswell, Arulkumaran & Bharath 2016: slerp paths between two faces
before and after MCMC sampling).

Each point z_i of the path [K, D] starts its own chain with the transition of `latent_chain`::

    T(z_{t+1} | z_t) = ∫∫ Q_phi(z_{t+1} | x̃) C(x̃ | x) P_theta(x | z_t) dx dx̃

(decode, corrupt for denoising models only, re-encode). Why it helps: the encoder was trained so
that the aggregate posterior P̂(Z) matches the prior P(Z), but it never matches exactly, and the
points of a linear or even spherical path between two encoded faces cross regions of P(Z) where no
training image was encoded (the "gaps" of P̂(Z)). The decoder never learned those regions, so their
decodes look like two faces overlaid (ghosting) or blur. The chain's stationary distribution is
P̂(Z) (their Theorem 1), so a few transitions move every point toward codes the decoder learned,
and the decodes become more face-like while the path's order is kept.

The two-strip figure (top: decoded directly, bottom: after k steps) is written by
`python -m latentlab.bench chained-path` (`latentlab.bench.chained_path`), which loads a checkpoint
through the explorer's session; this module imports nothing above `latentlab.sampling`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from latentlab.images import to_uint8
from latentlab.sampling.chain import latent_chain, model_device


def chained_path(model: Any, path: np.ndarray, k: int, mode: str = "mean", seed: int = 0,
                 corrupt: bool = True, progress: Callable[[int], None] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The path [K, D] after `k` chain transitions applied to every point of it.

    Returns (z_k float32 [K, D], decoder means of z_k as uint8 images [K, C, H, W]); k = 0 returns
    the path itself and its direct decodes. `mode` is "mean" (decode the mean image, encode the
    posterior mean: deterministic, except for the corruption of denoising models) or "stochastic"
    (sample both: the faithful chain). Every random draw comes from a torch.Generator seeded with
    `seed`, so the same arguments give the same result. Raises ValueError for a model without an
    encoder, a bad mode, k < 0, or a path that is not [K, D] with the model's D. `progress(t)`, when
    given, is called after each transition t = 1..k (e.g. to update a label).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    generator = torch.Generator(device=model_device(model)).manual_seed(int(seed))
    # latent_chain is what run_chain collects into a list; only the last step is kept here, so
    # 64 points x 20 steps of 64x64 decodes never sit in memory at once.
    last = None
    for last in latent_chain(model, path, int(k), mode=mode, generator=generator, corrupt=corrupt):
        if progress is not None and last.step > 0:
            progress(last.step)
    return last.z, to_uint8(last.x)
