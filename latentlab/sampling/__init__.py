"""Sampling in latent space: interpolation paths and the latent Markov chain."""

from latentlab.sampling.chain import CHAIN_MODES, ChainStep, latent_chain, prior_start, run_chain
from latentlab.sampling.interpolation import MODES, angle, interpolate, interpolation_path, lerp, slerp

__all__ = [
    "CHAIN_MODES",
    "MODES",
    "ChainStep",
    "angle",
    "interpolate",
    "interpolation_path",
    "latent_chain",
    "lerp",
    "prior_start",
    "run_chain",
    "slerp",
]
