"""What the Compare window decodes, computed on its workers (no Qt): `draw_codes`, the shared
N(0, I) codes, and `decode_for`, one model's decodes of them, or of draws of its own P̂(Z)
(optionally after k latent-chain steps), as `ModelDecodes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.explorer.session import ExplorerSession
from latentlab.images import to_uint8
from latentlab.models.distributions import StandardNormalPrior
from latentlab.sampling.chain import latent_chain


def draw_codes(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """n codes z ~ N(0, I) [n, latent_dim] from `seed`: what every model's prior draws with that seed
    (`ExplorerSession.prior_samples`), drawn once so that every model decodes the very same codes."""
    generator = torch.Generator().manual_seed(int(seed))
    return StandardNormalPrior(latent_dim).sample(n, generator=generator).numpy().astype(np.float32)


@dataclass(frozen=True)
class ModelDecodes:
    """One model's decodes of the shared codes, made on a worker (owned arrays)."""

    images: np.ndarray                 # uint8 [N, C, H, W]
    trails: np.ndarray | None          # [N, k + 1, D]: the codes along the chain (None without it)
    note: str = ""                     # one line shown in the model's column
    codes: np.ndarray | None = None    # [N, D]: this model's own codes (draws of its P̂(Z)); None: the shared ones

    @property
    def final_codes(self) -> np.ndarray | None:
        """The codes after the chain [N, D] (None without it)."""
        return None if self.trails is None else self.trails[:, -1]


def decode_for(session: ExplorerSession, codes: np.ndarray, chain_steps: int = 0,
               p_hat_seed: int | None = None) -> ModelDecodes:
    """`session`'s decoder means of `codes` [N, D] as uint8 images; with `chain_steps` k > 0 and an
    encoder, the decodes after k mean-mode steps of the latent Markov chain (seed 0, corruption on
    for denoising models) and the codes along the way. With `p_hat_seed`, N draws of the model's
    own P̂(Z) from that seed (`ExplorerSession.p_hat_draws`; the first use fits the density) replace
    `codes`; a model without an atlas has no P̂(Z) and decodes `codes`, with a note saying so."""
    own, notes = None, []
    if p_hat_seed is not None:
        if session.atlas_codes is None:
            notes.append("no atlas of encoded faces, so no P̂(Z): the prior's codes instead")
        else:
            own = codes = session.p_hat_draws(len(codes), p_hat_seed)
            notes.append(f"draws of its own P̂(Z), seed {p_hat_seed}")
    if chain_steps > 0 and not session.has_encoder:
        notes.append(f"{session.model_name.upper()} has no encoder, so the chain does not apply: direct decodes")
    if chain_steps <= 0 or not session.has_encoder:
        return ModelDecodes(session.decode(codes), None, "; ".join(notes), own)
    generator = torch.Generator().manual_seed(0)
    # Not under the session's lock (as the interpolation panel): eval-mode inference only reads weights.
    steps = list(latent_chain(session.model, codes, chain_steps, mode="mean", generator=generator))
    trails = np.stack([step.z for step in steps], axis=1)
    notes.append(f"after {chain_steps} chain step{'s' if chain_steps != 1 else ''} (mean mode)")
    return ModelDecodes(to_uint8(steps[-1].x), trails, "; ".join(notes), own)
