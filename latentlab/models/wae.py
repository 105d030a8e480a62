"""Wasserstein auto-encoders (Tolstikhin et al. 2018).

Objective: E_x E_{Q(z|x)} c(x, G(z)) + lambda * D_Z(Q_Z, P_Z): the *aggregate* posterior Q_Z is
matched to P_Z = N(0, I), not each Q(z|x), so codes of different images can stay apart. Here the
encoder is deterministic, z = E(x), and c(x, G(z)) = -log P(x | G(z)) of the configured likelihood
(with the Gaussian likelihood, ||x - G(z)||² / (2 sigma²) + const).

- WAE-MMD ("wae"): D_Z = MMD²_k(Q_Z, P_Z) by the unbiased estimator over the batch's n codes and n
  prior draws (`latentlab.models.mmd`):
      (1/(n(n-1))) Σ_{i≠j} [k(z_i, z_j) + k(z̃_i, z̃_j)] - (2/n²) Σ_{i,j} k(z_i, z̃_j),
  kernel "rbf" exp(-||a - b||² / (2 sigma_k²)) with the median heuristic for sigma_k², or "imq"
  Σ_s C / (C + ||a - b||²), C = 2 d_z sigma_p² s, s ∈ {.1, .2, .5, 1, 2, 5, 10}. One objective, so it
  trains with the single-objective scheme. (Official MNIST: d_z 8, lambda 10; CelebA: d_z 64,
  lambda 100, IMQ.)
- WAE-GAN ("wae-gan"): D_Z = Jensen-Shannon, estimated by an adversary in latent space, as in the AAE
  (the same `LatentDiscriminator`): discriminator min_D -E_{P_Z} log D(z) - E_x log(1 - D(E(x))),
  encoder/decoder min E_x[c(x, G(E(x))) - lambda log D(E(x))]. The adversary's settings
  (`LatentAdversaryConfig`) follow the authors' code where it measured well here (4 hidden layers,
  its own Adam at lr 1e-3, input noise 0.01, encoder pre-training) and depart from it where it did
  not: the p-trick let the encoder win by shrinking its codes toward the prior's mode, and what
  made the codes match N(0, I) on CelebA was batch-norm on the encoder output plus several
  discriminator steps per autoencoder step (resources/models/README.md has the measurements).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.models.aae import LatentAdversarialAutoencoder, LatentAdversaryConfig
from latentlab.models.autoencoder import Autoencoder
from latentlab.models.base import ConvModelConfig, mse_per_pixel
from latentlab.models.mmd import KERNELS, mmd_unbiased
from latentlab.models.registry import register


@dataclass
class WAEConfig(ConvModelConfig):
    """kernel: "rbf" (median heuristic) or "imq" (multi-scale); reg_weight: lambda on MMD²."""

    kernel: str = "imq"
    reg_weight: float = 10.0

    def validate(self) -> None:
        super().validate()
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        if self.reg_weight < 0:
            raise ValueError(f"reg_weight must be >= 0, got {self.reg_weight}")


@register("wae", WAEConfig, "Wasserstein autoencoder, MMD penalty (reconstruction + lambda MMD²(Q_Z, N(0, I)))")
class WAE(Autoencoder):
    """The deterministic autoencoder (its encoder, decoder, encode and decode) plus the MMD penalty."""

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encoder(x)
        px = self.decode(z)
        recon = px.nll(x).mean()
        z_prior = self.prior.sample(x.shape[0], device=x.device)
        mmd = mmd_unbiased(z, z_prior, kernel=self.config.kernel)
        loss = recon + self.config.reg_weight * mmd
        return {"loss": loss, "recon": recon.detach(), "mmd": mmd.detach(), "mse": mse_per_pixel(x, px.mean)}


@dataclass
class WAEGANConfig(LatentAdversaryConfig):
    """reg_weight: lambda on the adversarial term; the latent adversary's settings as the AAE's
    (`LatentAdversaryConfig`: width, depth, its Adam lr (official: 1e-3 vs 3e-4), p-trick, input
    noise, encoder pre-training)."""

    reg_weight: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.reg_weight < 0:
            raise ValueError(f"reg_weight must be >= 0, got {self.reg_weight}")


@register("wae-gan", WAEGANConfig, "Wasserstein autoencoder, GAN penalty (reconstruction + latent adversary)")
class WAEGAN(LatentAdversarialAutoencoder):
    def weights(self) -> tuple[float, float]:
        return 1.0, self.config.reg_weight
