"""The loss terms every adversarial family here is built from (AAE, WAE-GAN, GAN, ALI, the ring-of-8 toy).

A discriminator outputs a logit l; D = sigmoid(l) is the probability it gives to "real" (a prior
draw for the latent adversaries, a data image for the GAN, an encoder pair (x, E(x)) for ALI).
Goodfellow et al. 2014, "Generative Adversarial Nets" (arXiv:1406.2661), eq. 1 and section 3:

    discriminator:        min_D  -E_real log D - E_fake log(1 - D)
    generator (non-saturating):  min_G  -E_fake log D(G(z))

Both terms are written with softplus, which is exact and stable for any logit:

    -log sigmoid(l)       = softplus(-l)
    -log(1 - sigmoid(l))  = softplus(l)

Su's regulariser (Su 2018, "Variational Inference: A Unified Framework of Generative Models and Some
Revelations", arXiv:1807.05936) adds to the generator loss a term that keeps G close to the
generator G_old the discriminator was just trained against (`su_drift`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def neg_log_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """-log D with D = sigmoid(logits), computed stably (softplus(-l)), averaged over the batch."""
    return F.softplus(-logits).mean()


def neg_log_one_minus_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - D) with D = sigmoid(logits) (softplus(l)), averaged over the batch."""
    return F.softplus(logits).mean()


def su_drift(fake: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Su's regulariser without its weight: the mean over every element of (G(z) - G_old(z))².

    Su (2018, arXiv:1807.05936), "the regulariser": KL(q(x) || q_old(x)) ~ lambda ∫ q(z) ||G(z) -
    G_old(z)||² dz; the reference code (bojone/gan, vgan/celeba_dcgan_with_regularization.py) takes
    the per-element mean squared error, which is what lambda is quoted on.
    `fake` = G(z) (carries the gradient), `anchor` = G_old(z) for the same z (no gradient).
    """
    return (fake - anchor).pow(2).mean()


__all__ = ["neg_log_one_minus_sigmoid", "neg_log_sigmoid", "su_drift"]
