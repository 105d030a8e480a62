"""A contrastive image encoder, trained to be a feature space for the Fréchet distance.

Instance discrimination on augmented views (SimCLR; Chen et al. 2020, "A Simple Framework for
Contrastive Learning of Visual Representations", arXiv 2002.05709): each image x_i of a batch of N
gives two random views, an encoder f maps a view to features h = f(view), a small projection head g
maps those to u = g(h) / ‖g(h)‖, and the NT-Xent loss pulls the two views of one image together and
pushes every other image away:

    ℓ(i, j) = −log  exp(u_i·u_j / τ) / Σ_{k ≠ i} exp(u_i·u_k / τ)

averaged over the 2N anchors (j the other view of i's image). The features used to measure are h,
before the head, as in the paper.

Why this and not the autoencoder's code: a code trained to reconstruct is rewarded for the layout
that dominates squared error and stays nearly blind to blur. Here the augmentations (crop and
scale, mirror, brightness, contrast, saturation) say what must NOT change the features; blur is not
among them, so telling 9,000 faces apart pushes the features to keep their detail. Measured on
CelebA (resources/features/README.md): the Fréchet distance of the bundled VAE's reconstructions is
1.2x the train/held-out floor in the autoencoder's space and 53x in this one.

Optionally (`blur_sigma` = (low, high) > 0), each image's blurred copy (Gaussian, σ drawn per batch)
joins the candidates k as a hard negative, forcing the features to tell an image from its blurred
copy. It makes the space far more sensitive to blur than the eye (a σ = 0.5 px blur, barely
visible at 64x64, scores 9.5x the floor), so the shipped network does not use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.base import ConvModelConfig
from latentlab.models.conv import ConvEncoder
from latentlab.models.distributions import PointMass
from latentlab.models.registry import register


@dataclass
class ContrastiveConfig(ConvModelConfig):
    """latent_dim: size of the features h; projection_dim: size of the projection u; temperature: τ;
    crop_scale: the smallest fraction of the image's area a view keeps; jitter: the largest relative
    change of brightness, contrast and saturation; blur_sigma: the range of σ (pixels) of the blurred
    negatives, (0, 0) for none (the default)."""

    latent_dim: int = 128
    projection_dim: int = 64
    temperature: float = 0.2
    crop_scale: float = 0.6
    jitter: float = 0.3
    blur_sigma: tuple[float, float] = (0.0, 0.0)

    def validate(self) -> None:
        super().validate()
        if not 2 <= self.projection_dim <= 1024:
            raise ValueError(f"projection_dim must be between 2 and 1024, got {self.projection_dim}")
        if not 0.01 <= self.temperature <= 10:
            raise ValueError(f"temperature must be between 0.01 and 10, got {self.temperature}")
        if not 0.1 <= self.crop_scale <= 1:
            raise ValueError(f"crop_scale must be between 0.1 and 1, got {self.crop_scale}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")
        low, high = self.blur_sigma
        if not 0 <= low <= high <= 8:
            raise ValueError(f"blur_sigma must be (low, high) with 0 <= low <= high <= 8, got {self.blur_sigma}")


def random_views(x: torch.Tensor, crop_scale: float, jitter: float) -> torch.Tensor:
    """One random view of each image in x [B, C, H, W] in [0, 1]: a square crop keeping between
    `crop_scale` and all of the area, at a random place, mirrored with probability 1/2 and resized
    back (bilinear), then brightness, contrast and (colour images) saturation each scaled by a factor
    drawn from [1 − jitter, 1 + jitter]."""
    b, c = x.shape[:2]
    side = torch.empty(b).uniform_(crop_scale, 1.0).sqrt()  # crop side as a fraction of the image's
    shift = (1 - side)[:, None] * torch.empty(b, 2).uniform_(-1, 1)
    mirror = torch.where(torch.rand(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side * mirror, side
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    view = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def factor() -> torch.Tensor:
        return torch.empty(b, 1, 1, 1).uniform_(1 - jitter, 1 + jitter).to(x)

    view = view * factor()
    mean = view.mean(dim=(1, 2, 3), keepdim=True)
    view = mean + (view - mean) * factor()
    if c == 3:
        gray = (view * torch.tensor([0.299, 0.587, 0.114]).to(x).view(1, 3, 1, 1)).sum(1, keepdim=True)
        view = gray + (view - gray) * factor()
    return view.clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """x [B, C, H, W] convolved with an isotropic Gaussian of std `sigma` pixels (reflect padding)."""
    radius = max(1, int(3 * sigma + 0.5))
    radius = min(radius, x.shape[-1] - 1)
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def nt_xent(anchors: torch.Tensor, extra_negatives: torch.Tensor, temperature: float) -> torch.Tensor:
    """The NT-Xent loss of 2N unit vectors `anchors` ordered [view 1 of images 0..N−1, view 2 of
    images 0..N−1], whose positives are the other view of the same image; `extra_negatives` [M, D]
    (unit vectors) are candidates for every anchor but never its positive."""
    n = anchors.shape[0] // 2
    logits = anchors @ torch.cat([anchors, extra_negatives]).T / temperature
    self_mask = torch.zeros_like(logits, dtype=torch.bool)
    self_mask[:, : 2 * n] = torch.eye(2 * n, dtype=torch.bool, device=anchors.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(anchors.device)
    return F.cross_entropy(logits, positives)


@register("contrastive", ContrastiveConfig,
          "contrastive image encoder (SimCLR, optional blurred negatives): a feature space for FD, no decoder")
class ContrastiveEncoder(nn.Module):
    """Encoder f (the DCGAN trunk of `conv.ConvEncoder`, features h of size latent_dim) and projection
    head g. `encode(x).mean` is h; there is no decoder and no prior: it is a feature network for
    `analysis.frechet.FeatureNetwork`, not a model to explore."""

    has_encoder = True
    has_decoder = False
    is_feature_network = True

    def __init__(self, config: ContrastiveConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = tuple(config.image_shape)
        self.encoder = ConvEncoder(self.image_shape, config.latent_dim, config.base_channels)
        self.projection = nn.Sequential(nn.ReLU(), nn.Linear(config.latent_dim, config.latent_dim), nn.ReLU(),
                                        nn.Linear(config.latent_dim, config.projection_dim))

    def encode(self, x: torch.Tensor) -> PointMass:
        return PointMass(self.encoder(x))

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(self.encoder(x)), dim=1)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.config
        views = torch.cat([random_views(x, cfg.crop_scale, cfg.jitter), random_views(x, cfg.crop_scale, cfg.jitter)])
        low, high = cfg.blur_sigma
        if high > 0:
            sigma = float(torch.empty(()).uniform_(low, high)) if high > low else float(high)
            blurred = gaussian_blur(views[: x.shape[0]], sigma)
            projected = self._project(torch.cat([views, blurred]))
            anchors, negatives = projected[: 2 * x.shape[0]], projected[2 * x.shape[0]:]
        else:
            anchors, negatives = self._project(views), views.new_zeros(0, cfg.projection_dim)
        loss = nt_xent(anchors, negatives, cfg.temperature)
        with torch.no_grad():
            n = x.shape[0]
            agreement = (anchors[:n] * anchors[n:]).sum(1).mean()
            blur_similarity = (anchors[:n] * negatives).sum(1).mean() if len(negatives) else agreement.new_zeros(())
        return {"loss": loss, "view_agreement": agreement, "blur_similarity": blur_similarity}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.losses(x)
