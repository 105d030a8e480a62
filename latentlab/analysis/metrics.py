"""Held-out metrics of a latent-variable model.

For each held-out image x (pixels in [0, 1], D values):
- the model's loss terms, averaged; for the VAE family "loss" is the negative ELBO in nats per image,
  -ELBO(x) = E_{Q(z|x)}[-log P(x|z)] + KL(Q(z|x) || N(0, I)), estimated with one z sample per image;
  elbo = -(recon + kl) and bits_per_dim = -elbo / (D ln 2) are derived from it.
- recon_mse: mean over pixels of (x - decode(encode(x).mean).mean)^2, the deterministic
  reconstruction a user sees.
The random draws use a fixed seed inside a forked RNG, so the numbers are repeatable and the caller's
RNG stream (e.g. a training run's) is left untouched.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

BATCH = 250


@torch.no_grad()
def held_out_metrics(model: nn.Module, dataset, device: torch.device | str = "cpu", seed: int = 0,
                     batch_size: int = BATCH) -> dict[str, float]:
    """Average the metrics above over `dataset` (an ImageDataset); the model is left in its mode."""
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    count = len(dataset)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for start in range(0, count, batch_size):
                x = dataset.batch(np.arange(start, min(start + batch_size, count))).to(device)
                # A bundle without its discriminator (checkpoints.model_io) has no meaningful adversarial
                # terms: they would score an untrained network. Only the reconstruction is reported then.
                omitted = getattr(model, "omitted_modules", None)
                terms = {} if omitted else {k: float(v) for k, v in model.losses(x).items()}
                # a GAN, a pixel model or a feature network (no decoder) reconstructs nothing
                if getattr(model, "has_encoder", True) and getattr(model, "has_decoder", True):
                    terms["recon_mse"] = float((model.reconstruct(x) - x).pow(2).mean())
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value * x.shape[0]
    finally:
        model.train(was_training)
    result = {key: value / count for key, value in sums.items()}
    if "kl" in result and "recon" in result:
        result["elbo"] = -(result["recon"] + result["kl"])
        result["bits_per_dim"] = -result["elbo"] / (math.prod(dataset.image_shape) * math.log(2))
    return result
