"""Sampling in latent space: interpolation paths (and, alongside, the latent Markov chain)."""

from latentlab.sampling.interpolation import MODES, angle, interpolate, interpolation_path, lerp, slerp

__all__ = ["MODES", "angle", "interpolate", "interpolation_path", "lerp", "slerp"]
