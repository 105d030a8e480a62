"""A run of N latent Markov chains, the worker side of the chain panel (no Qt).

`chain_frames` is the generator the panel's `GeneratorJob` runs: `sampling.latent_chain` paced by a
`services.gate.Gate` (one transition per turn), each state handed over as a `Frame` of owned numpy
copies, plus the one-off measurements the plots need (step 0's gap score and log P̂, the atlas's
reference intensity) and status lines while the P̂(Z) fit or the debias measurement runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentlab.analysis.image_stats import mean_intensity
from latentlab.explorer.session import ExplorerSession
from latentlab.images import to_uint8
from latentlab.sampling.chain import ChainStep, latent_chain
from latentlab.services.decode import background_thread
from latentlab.services.gate import Gate

REFERENCE_CODES = 256   # atlas codes decoded for the reference mean intensity


@dataclass
class Frame:
    """One state of all chains, owned numpy copies made on the worker."""

    step: int
    z: np.ndarray                  # [N, D] float32
    images: np.ndarray             # [N, C, H, W] uint8 decoder means
    change: np.ndarray             # [N] RMS pixel change from the previous step
    gap: np.ndarray | None         # [N] gap score (None: no atlas, or not computed yet for step 0)
    intensity: np.ndarray          # [N] mean intensity in [0, 1]
    log_p_hat: np.ndarray | None = None  # [N] log P̂(z) (None as for `gap`)
    z_norm: np.ndarray | None = None     # [N] ||z||


def make_frame(session: ExplorerSession, step: ChainStep, gap: bool = True, first_step: int = 0) -> Frame:
    """A ChainStep as the GUI needs it (decodes as uint8; gap scores skipped with gap=False), numbered
    from `first_step` (a chain resumed from a saved session continues its count)."""
    return Frame(first_step + step.step, step.z, to_uint8(step.x), step.change,
                 session.gap_scores(step.z) if gap else None,
                 mean_intensity(step.x).astype(np.float32), session.log_p_hat(step.z) if gap else None,
                 np.linalg.norm(step.z, axis=1).astype(np.float32))


def chain_frames(session: ExplorerSession, z0: np.ndarray | Callable[[], np.ndarray], mode: str, seed: int,
                 gate: Gate, threads: int, want_reference: bool, debias: bool = False,
                 first_step: int = 0) -> Iterator[tuple[str, Any]]:
    """The worker's generator: ("frame", Frame), ("gap0", [N]), ("logp0", ([N] log P̂ at step 0, the
    atlas's 1 % floor of log P̂)), ("reference", float), ("status", text
    or None) messages. `z0` may be a function computing the starting codes here, on the worker (draws
    of P̂(Z), whose first use fits the density). With `debias`, the chain is the debiased one,
    z_{t+1} = T(z_t) - b, b = `session.chain_bias(mode)` (measured here first, once per model and mode).
    Frames are numbered from `first_step`: z0 is then the state of a chain that ran that many steps
    (restored from a saved session; a stochastic chain continues with fresh draws from `seed`)."""
    background_thread(threads)  # its own torch threads; the drag's decodes run first (services/decode.py)
    busy = False
    if callable(z0):
        if not session.density_fitted:
            busy = True
            yield "status", "Fitting P̂(Z) to the encoded faces…"
        z0 = np.asarray(z0(), dtype=np.float32)
    bias = None
    if debias:
        busy = True
        yield "status", "Debias: measuring the mean one-step move of the encoded faces…"
        bias = session.chain_bias(mode)
    if busy:
        yield "status", None
    device = next(iter(session.model.parameters()), torch.empty(0)).device
    chain = latent_chain(session.model, z0, None, mode, torch.Generator(device=device).manual_seed(seed), bias=bias)
    try:
        first = next(chain)
        # shown at once; the P̂(Z) fit may take seconds
        yield "frame", make_frame(session, first, gap=False, first_step=first_step)
        yield "gap0", session.gap_scores(first.z)
        yield "logp0", (session.log_p_hat(first.z), session.p_hat_floor())
        if want_reference and session.atlas_codes is not None:
            decoded = session.decode(session.atlas_codes[:REFERENCE_CODES])
            yield "reference", float(decoded.mean() / 255.0)
        since = time.monotonic()
        while gate.wait_turn(since):
            since = time.monotonic()
            yield "frame", make_frame(session, next(chain), first_step=first_step)
    finally:
        chain.close()
