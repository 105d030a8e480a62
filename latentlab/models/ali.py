"""ALI / BiGAN (Dumoulin et al. 2017; Donahue et al. 2017).

Encoder E (deterministic, z = E(x)) and generator G; a joint discriminator D(x, z) gives the
probability that a pair is an "encoder" pair (x, E(x)), x ~ data, rather than a "generator" pair
(G(z), z), z ~ N(0, I). Discriminator:
    min_D  -E_x log D(x, E(x)) - E_z log(1 - D(G(z), z))
Generator + encoder, by `loss`:
    "standard"       the minimax game: min_{G,E} E_x log D(x, E(x)) + E_z log(1 - D(G(z), z))
    "nonsaturating"  swapped labels:  -E_x log(1 - D(x, E(x))) - E_z log D(G(z), z)
    "nonminimax"     Su's loss derived from variational inference (Su 2018, "Variational Inference:
                     A Unified Framework of Generative Models and Some Revelations", arXiv:1807.05936):
                     -E_x log D(x, E(x)) - E_z log D(G(z), z)
Su reports the non-minimax loss performs like the standard one. ALI has an encoder, so the latent
chain applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.adversarial_losses import neg_log_one_minus_sigmoid, neg_log_sigmoid
from latentlab.models.base import (
    AdversarialModel,
    ConvModelConfig,
    check_discriminator_lr,
    check_generator_steps,
    mse_per_pixel,
)
from latentlab.models.conv import ConvDecoder, ConvEncoder
from latentlab.models.distributions import DiagonalGaussian, PointMass
from latentlab.models.registry import register

ALI_LOSSES = ("standard", "nonsaturating", "nonminimax")


@dataclass
class ALIConfig(ConvModelConfig):
    """loss: the generator/encoder objective (see the module docstring); disc_hidden: width of the
    joint discriminator's feature and hidden layers; discriminator_lr: 0 means the run's lr;
    disc_dropout: dropout on the inputs of every discriminator layer but the first (the ALI authors'
    CelebA code: 0.2, with Adam lr 1e-4, beta1 0.5); encoder_batchnorm: batch-norm on the encoder
    output, as for the AAE and WAE-GAN (`aae.LatentAdversaryConfig`), so the discriminator cannot tell
    the pairs apart by the codes' location and scale alone; stochastic_encoder: Q(z|x) = N(mu(x),
    diag sigma²(x)) sampled by reparameterisation, as in the ALI authors' code (the encoder outputs
    2 x latent_dim), instead of a deterministic z = E(x); generator_steps: generator/encoder updates per
    discriminator update, as for the GAN (`gan.GANConfig`); disc_spectral_norm: spectral normalisation
    of every discriminator weight (Miyato et al. 2018, "Spectral Normalization for Generative
    Adversarial Networks", arXiv 1802.05957), its batch-norm layers removed, which bounds the
    discriminator's Lipschitz constant so it cannot win outright."""

    loss: str = "nonminimax"
    disc_hidden: int = 256
    discriminator_lr: float = 0.0
    disc_dropout: float = 0.0
    encoder_batchnorm: bool = False
    stochastic_encoder: bool = False
    generator_steps: int = 1
    disc_spectral_norm: bool = False

    def validate(self) -> None:
        super().validate()
        if self.loss not in ALI_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(ALI_LOSSES)}, got {self.loss!r}")
        if not 8 <= self.disc_hidden <= 4096:
            raise ValueError(f"disc_hidden must be between 8 and 4096, got {self.disc_hidden}")
        check_discriminator_lr(self.discriminator_lr)
        if not 0 <= self.disc_dropout < 1:
            raise ValueError(f"disc_dropout must be in [0, 1), got {self.disc_dropout}")
        check_generator_steps(self.generator_steps)


def spectrally_normalise(module: nn.Module) -> nn.Module:
    """In place: every Conv2d and Linear weight W of `module` divided by its largest singular value
    (one power iteration per training forward, torch's parametrisation), and every batch-norm layer
    replaced by the identity (it would rescale what the normalisation bounds)."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(module, name, nn.Identity())
        elif isinstance(child, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(child)
        else:
            spectrally_normalise(child)
    return module


class JointDiscriminator(nn.Module):
    """D(x, z): a ConvEncoder on x and an MLP on z, concatenated, then an MLP to one logit."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, base_channels: int, hidden: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.x_net = ConvEncoder(image_shape, hidden, base_channels, dropout=dropout)
        def drop() -> list[nn.Module]:  # none at 0, so older checkpoints keep their layout
            return [nn.Dropout(dropout)] if dropout > 0 else []

        self.z_net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), *drop(),
                                   nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(nn.LeakyReLU(0.2), *drop(), nn.Linear(2 * hidden, hidden),
                                   nn.LeakyReLU(0.2), *drop(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.x_net(x), self.z_net(z)], dim=1)).squeeze(1)


@register("ali", ALIConfig, "ALI / BiGAN (encoder, generator, joint discriminator D(x, z))")
class ALI(AdversarialModel):
    def __init__(self, config: ALIConfig) -> None:
        super().__init__(config)
        outputs = 2 * config.latent_dim if config.stochastic_encoder else config.latent_dim
        self.encoder: nn.Module = ConvEncoder(self.image_shape, outputs, config.base_channels)
        if config.encoder_batchnorm:  # on every output (means and log-variances, for a stochastic encoder)
            self.encoder = nn.Sequential(self.encoder, nn.BatchNorm1d(outputs))
        self.generator = ConvDecoder(self.image_shape, config.latent_dim, config.base_channels)
        self.discriminator = JointDiscriminator(self.image_shape, config.latent_dim, config.base_channels,
                                                config.disc_hidden, config.disc_dropout)
        if config.disc_spectral_norm:
            spectrally_normalise(self.discriminator)

    def encode(self, x: torch.Tensor) -> PointMass | DiagonalGaussian:
        out = self.encoder(x)
        if not self.config.stochastic_encoder:
            return PointMass(out)
        mean, logvar = out.chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar.clamp(-12.0, 6.0))

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        """z ~ Q(z|x): a reparameterised draw (the mean, for a deterministic encoder)."""
        return self.encode(x).sample()

    def decode(self, z: torch.Tensor):
        return self.likelihood(self.generator(z))

    def phase_repeats(self, phase: str) -> int:
        return int(self.config.generator_steps) if phase == "generator" else 1

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.encoder.parameters()) + list(self.generator.parameters())}

    def _pairs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of the encoder pairs (x, E(x)) and the generator pairs (G(z), z)."""
        z = self.prior.sample(x.shape[0], device=x.device)
        encoder_logits = self.discriminator(x, self._codes(x))
        generator_logits = self.discriminator(torch.sigmoid(self.generator(z)), z)
        return encoder_logits, generator_logits

    def discriminator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.prior.sample(x.shape[0], device=x.device)
        with torch.no_grad():
            codes, fakes = self._codes(x), torch.sigmoid(self.generator(z))
        real = neg_log_sigmoid(self.discriminator(x, codes))
        fake = neg_log_one_minus_sigmoid(self.discriminator(fakes, z))
        loss = real + fake
        return {"loss": loss, "encoder_pairs": real.detach(), "generator_pairs": fake.detach()}

    def generator_losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        enc, gen = self._pairs(x)
        if self.config.loss == "standard":
            loss = -neg_log_sigmoid(enc) - neg_log_one_minus_sigmoid(gen)
        elif self.config.loss == "nonsaturating":
            loss = neg_log_one_minus_sigmoid(enc) + neg_log_sigmoid(gen)
        else:
            loss = neg_log_sigmoid(enc) + neg_log_sigmoid(gen)
        terms = {"loss": loss, "encoder_pairs": neg_log_sigmoid(enc).detach(),
                 "generator_pairs": neg_log_sigmoid(gen).detach()}
        if not self.training:  # evaluation only: a training-mode pass would move batch-norm statistics
            with torch.no_grad():
                terms["mse"] = mse_per_pixel(x, torch.sigmoid(self.generator(self.encode(x).mean)))
        return terms
