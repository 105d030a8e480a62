"""Encoder pre-training before an adversarial autoencoder's first step (the WAE authors' code,
tolstikhin/wae `wae.py`, for the WAE-GAN on CelebA).

At most `steps` Adam steps on the encoder alone, each on a random batch of 256 training images,
minimising the model's `encoder_pretrain_loss` (the squared differences of the batch mean and the
batch covariance of the codes against prior draws), stopping early once it is below 0.1. The codes
then start at the prior's location and scale, so the latent adversary starts near its equilibrium
instead of facing codes it can tell apart at once.
"""

from __future__ import annotations

import torch
from torch import nn

PRETRAIN_BATCH = 256
STOP_BELOW = 0.1


def pretrain_encoder(model: nn.Module, images: torch.Tensor, steps: int, device: torch.device, lr: float,
                     betas: tuple[float, float]) -> tuple[int, float]:
    """Run the pre-training on uint8 `images` [N, C, H, W]; returns (steps taken, last loss).
    Draws from the global torch RNG, so a seeded run repeats exactly."""
    optimizer = torch.optim.Adam(model.encoder.parameters(), lr=lr, betas=betas)
    batch = min(PRETRAIN_BATCH, len(images))
    loss_value, taken = float("nan"), 0
    for taken in range(1, steps + 1):
        x = images[torch.randint(len(images), (batch,))].to(device).float().div_(255.0)
        loss = model.encoder_pretrain_loss(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_value = loss.item()
        if loss_value < STOP_BELOW:
            break
    model.zero_grad(set_to_none=True)
    return taken, loss_value
