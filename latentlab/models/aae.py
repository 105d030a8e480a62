"""Adversarial autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders", arXiv:1511.05644), trained by
the alternating adversarial scheme.

Deterministic encoder z = E(x), decoder G, and a latent discriminator D(z) (an MLP giving the
probability that z was drawn from the prior P(Z) = N(0, I)). Alternating updates:
    discriminator:        min_D  -E_{z~P(Z)} log D(z) - E_x log(1 - D(E(x)))
    encoder + decoder:    min_{G,E}  E_x[ -w_adv log D(E(x)) + lambda * (-log P(x | G(E(x)))) ]
With the Gaussian likelihood the reconstruction term is ||x - G(E(x))||² / (2 sigma²) + const, a
squared error lambda ||x - G(E(x))||²; with the Bernoulli likelihood it is the cross-entropy. Su 2018
("Variational Inference: A Unified Framework of Generative Models and Some Revelations",
arXiv:1807.05936, the AAE section) derives the same pair from variational inference. Past 2 latent
dimensions the AAE is hard to train.

With `encoder_phase` the encoder also takes a step of its own on -log D(E(x)) between the two (and
the encoder/decoder step is reconstruction only), as in Creswell et al.'s DAAE code; with
`balance_bound` the discriminator is updated only while the encoder's adversarial loss is below it.

Adversarial-model interface (see base.py): `scheme = "adversarial"`, `phases()`, `parameter_groups()`,
`<phase>_losses(x)`, `forward(x, phase)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.adversarial_losses import neg_log_one_minus_sigmoid, neg_log_sigmoid
from latentlab.models.base import AdversarialModel, ConvModelConfig, check_discriminator_lr, mse_per_pixel
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import PointMass
from latentlab.models.registry import register


@dataclass
class LatentAdversaryConfig(ConvModelConfig):
    """Settings shared by the models with a latent adversary (AAE, WAE-GAN).

    disc_hidden, disc_layers: width and number of hidden layers of the latent discriminator (WAE
        authors' CelebA code: 4 layers; 512 units in the paper, 1024 in the code).
    discriminator_lr: Adam learning rate of the discriminator; 0 means the run's lr.
    prior_trick: add log p_Z(z) to the discriminator's logit (the "p-trick" of the WAE code, from
        Mescheder et al. 2017, AVB), so it starts out knowing the prior and learns only -log q(z).
    input_noise: std of Gaussian noise added to the encoder's input while training (WAE code: 0.01).
    encoder_pretrain_steps: at most this many Adam steps (batch 256) on the encoder alone before
        training, matching the mean and covariance of the codes to prior draws (WAE code: 200,
        stopping once that loss is below 0.1); 0: none.
    discriminator_steps: discriminator updates per iteration (each on fresh prior draws).
    encoder_batchnorm: batch-norm (affine) on the encoder output, so the codes' batch mean and scale are
        64 + 64 parameters of their own (Su's advice for the AAE past 2 latent dimensions, in the comments
        of the Chinese version of Su 2018, arXiv:1807.05936: https://www.spaces.ac.cn/archives/5716).
    """

    disc_hidden: int = 256
    disc_layers: int = 2
    discriminator_lr: float = 0.0
    prior_trick: bool = False
    input_noise: float = 0.0
    encoder_pretrain_steps: int = 0
    discriminator_steps: int = 1
    encoder_batchnorm: bool = False

    def validate(self) -> None:
        super().validate()
        if not 8 <= self.disc_hidden <= 4096:
            raise ValueError(f"disc_hidden must be between 8 and 4096, got {self.disc_hidden}")
        if not 1 <= self.disc_layers <= 8:
            raise ValueError(f"disc_layers must be between 1 and 8, got {self.disc_layers}")
        check_discriminator_lr(self.discriminator_lr)
        if not 0 <= self.input_noise <= 1:
            raise ValueError(f"input_noise must be between 0 and 1, got {self.input_noise}")
        if not 0 <= self.encoder_pretrain_steps <= 10_000:
            raise ValueError(f"encoder_pretrain_steps must be between 0 and 10000, got {self.encoder_pretrain_steps}")
        if not 1 <= self.discriminator_steps <= 20:
            raise ValueError(f"discriminator_steps must be between 1 and 20, got {self.discriminator_steps}")


@dataclass
class AAEConfig(LatentAdversaryConfig):
    """recon_weight: lambda on the reconstruction term; adversarial_weight: weight of -log D(E(x)).
    encoder_phase: update the encoder on -log D(E(x)) in a step of its own, with its own Adam, before
        the reconstruction step of encoder and decoder (Creswell et al.'s DAAE code), instead of one
        joint objective; the adversarial weight then has no effect.
    balance_bound: > 0 updates the discriminator only while the encoder's adversarial loss of the
        previous iteration is below this bound (the DAAE code's `upper_bound`, 0.75); 0: always."""

    recon_weight: float = 1.0
    adversarial_weight: float = 1.0
    encoder_phase: bool = False
    balance_bound: float = 0.0

    def validate(self) -> None:
        super().validate()
        if self.recon_weight < 0 or self.adversarial_weight < 0:
            raise ValueError("recon_weight and adversarial_weight must be >= 0")
        if self.balance_bound < 0:
            raise ValueError(f"balance_bound must be >= 0 (0: off), got {self.balance_bound}")


class LatentDiscriminator(nn.Module):
    """D(z): an MLP [D] -> hidden x layers -> 1 logit (LeakyReLU 0.2); sigmoid(logit) = P(z ~ prior).

    With `prior` given (the p-trick), the logit is MLP(z) + log p_Z(z) - E_{P_Z}[log p_Z]: the optimal
    discriminator's logit is log p_Z(z) - log q_Z(z), so the MLP only has to learn -log q_Z(z). The
    constant (for N(0, I): logit = MLP(z) - (||z||² - d) / 2) keeps initial logits near 0 for typical
    prior draws instead of near -d/2 log 2π, which the output bias would take long to undo."""

    def __init__(self, latent_dim: int, hidden: int, layers: int = 2, prior=None) -> None:
        super().__init__()
        parts: list[nn.Module] = []
        for i in range(layers):
            parts += [nn.Linear(latent_dim if i == 0 else hidden, hidden), nn.LeakyReLU(0.2)]
        parts.append(nn.Linear(hidden, 1))
        self.net = nn.Sequential(*parts)
        self.prior = prior

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logit = self.net(z).squeeze(1)
        if self.prior is not None:
            logit = logit + self.prior.log_prob(z) - self.prior.expected_log_prob()
        return logit


def moment_matching_loss(codes: torch.Tensor, prior_draws: torch.Tensor) -> torch.Tensor:
    """The WAE code's encoder pre-training loss: mean squared difference of the batch means plus that
    of the batch covariance matrices (unbiased) of the codes and of prior draws."""
    mean_q, mean_p = codes.mean(0), prior_draws.mean(0)
    centred_q, centred_p = codes - mean_q, prior_draws - mean_p
    n = codes.shape[0]
    cov_q = centred_q.T @ centred_q / (n - 1)
    cov_p = centred_p.T @ centred_p / (n - 1)
    return (mean_q - mean_p).pow(2).mean() + (cov_q - cov_p).pow(2).mean()


class LatentAdversarialAutoencoder(AdversarialModel):
    """Shared by the AAE and the WAE-GAN: encoder, decoder and a latent discriminator."""

    def __init__(self, config: LatentAdversaryConfig) -> None:
        super().__init__(config)
        self.encoder: nn.Module = ConvEncoder(self.image_shape, config.latent_dim, config.base_channels)
        if config.encoder_batchnorm:
            self.encoder = nn.Sequential(self.encoder, nn.BatchNorm1d(config.latent_dim))
        self.decoder = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.discriminator = LatentDiscriminator(config.latent_dim, config.disc_hidden, config.disc_layers,
                                                 self.prior if config.prior_trick else None)

    def encode(self, x: torch.Tensor) -> PointMass:
        return PointMass(self.encoder(x))

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """E(x), with the configured input noise while training."""
        if self.training and self.config.input_noise > 0:
            x = x + self.config.input_noise * torch.randn_like(x)
        return self.encoder(x)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.encoder.parameters()) + list(self.decoder.parameters())}

    def weights(self) -> tuple[float, float]:
        """(reconstruction weight, adversarial weight) of the encoder/decoder objective."""
        return self.config.recon_weight, self.config.adversarial_weight

    def phase_repeats(self, phase: str) -> int:
        return int(self.config.discriminator_steps) if phase == "discriminator" else 1

    def encoder_pretrain_steps(self) -> int:
        return int(self.config.encoder_pretrain_steps)

    def encoder_pretrain_loss(self, x: torch.Tensor) -> torch.Tensor:
        """`moment_matching_loss` of a batch's codes against as many prior draws."""
        return moment_matching_loss(self.codes(x), self.prior.sample(x.shape[0], device=x.device))

    def begin_phase(self, phase: str, x: torch.Tensor) -> None:
        """The batch's codes are fixed during the discriminator's steps: encode once for all of them."""
        if phase == "discriminator":
            with torch.no_grad():
                self._frozen_codes = self.codes(x)

    def end_phase(self, phase: str) -> None:
        if phase == "discriminator":
            self._frozen_codes = None

    _frozen_codes: torch.Tensor | None = None

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z_prior = self.prior.sample(x.shape[0], device=x.device)
        z_code = self._frozen_codes
        if z_code is None:
            with torch.no_grad():
                z_code = self.codes(x)
        real = neg_log_sigmoid(self.discriminator(z_prior))
        fake = neg_log_one_minus_sigmoid(self.discriminator(z_code))
        loss = real + fake
        return {"loss": loss, "real": real.detach(), "fake": fake.detach()}

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.codes(x)
        px = self.decode(z)
        recon = px.nll(x).mean()
        adversarial = neg_log_sigmoid(self.discriminator(z))
        w_recon, w_adv = self.weights()
        loss = w_recon * recon + (0.0 if self._encoder_phase() else w_adv) * adversarial
        return {"loss": loss, "recon": recon.detach(), "adversarial": adversarial.detach(),
                "mse": mse_per_pixel(x, px.mean)}

    def _encoder_phase(self) -> bool:
        return bool(getattr(self.config, "encoder_phase", False))


@register("aae", AAEConfig, "adversarial autoencoder (reconstruction + latent discriminator on E(x) vs N(0, I))")
class AAE(LatentAdversarialAutoencoder):
    def phases(self) -> tuple[str, ...]:
        return ("discriminator", "encoder", "generator") if self._encoder_phase() else self.PHASES

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = super().parameter_groups()
        if self._encoder_phase():
            groups["encoder"] = list(self.encoder.parameters())
        return groups

    def encoder_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The DAAE code's encoder step: -log D(E(x)) on the encoder alone."""
        adversarial = neg_log_sigmoid(self.discriminator(self.codes(x)))
        return {"loss": adversarial, "adversarial": adversarial.detach()}

    def discriminator_gate(self) -> tuple[str, float] | None:
        if self.config.balance_bound <= 0:
            return None
        return ("e_adversarial" if self._encoder_phase() else "adversarial", self.config.balance_bound)
