"""A model over whole image sets and code sets, in batches: posterior means E[z | x], reconstructions,
decoder means E[x | z]; and the model's P̂(Z) as the explorer estimates it.

P̂(Z) = ∫ Q_phi(Z | X) P(X) dX is the aggregate posterior (the distribution of the codes of the
training images); `model_p_hat` fits `analysis.density.fit_p_hat` to the model's atlas (or to
posterior means of training images), the estimate the chain study, the quality bench and the
window's gap map share.

Every function runs the model under `torch.no_grad()` in `sampling.chain.eval_mode` (batch-norm
on its running statistics; every submodule's train/eval flag restored after), on the model's
device, and returns float32 numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from latentlab.analysis.density import P_HAT, GaussianMixture, fit_p_hat
from latentlab.sampling.chain import eval_mode, model_device

#: training images encoded for P̂(Z) when the model carries no atlas
GAP_TRAIN_IMAGES = 3000


def image_array(images: Any, limit: int | None = None) -> np.ndarray:
    """float32 [N, C, H, W] in [0, 1] from an ImageDataset or an array (its first `limit` images)."""
    if hasattr(images, "batch"):
        count = len(images) if limit is None else min(limit, len(images))
        return images.batch(np.arange(count)).numpy()
    arr = np.asarray(images, dtype=np.float32)
    return arr if limit is None else arr[:limit]


@torch.no_grad()
def posterior_means(model: Any, images: Any, batch_size: int = 250) -> np.ndarray:
    """E[z | x] of images (an ImageDataset, or float [N, C, H, W] in [0, 1]), float32 [N, D]."""
    return _map_batches(model, images, lambda x: model.encode(x).mean, batch_size)


@torch.no_grad()
def reconstructions(model: Any, images: Any, batch_size: int = 250) -> np.ndarray:
    """decode(E[z | x]).mean of images, float32 [N, C, H, W] (no corruption: a denoising model's
    encoder is given the clean image, as `reconstruct` does)."""
    return _map_batches(model, images, lambda x: model.decode(model.encode(x).mean).mean, batch_size)


@torch.no_grad()
def decode_means(model: Any, z: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """Decoder means E[x | z] of codes z [N, D], float32 [N, C, H, W]."""
    return _map_batches(model, np.asarray(z, dtype=np.float32), lambda c: model.decode(c).mean, batch_size)


def _map_batches(model: Any, items: Any, fn: Callable[[torch.Tensor], torch.Tensor], batch_size: int) -> np.ndarray:
    """fn of every batch of `items` (an ImageDataset or an array), concatenated."""
    device = model_device(model)
    count = len(items)
    out = []
    with eval_mode(model):
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            if hasattr(items, "batch"):
                x = items.batch(np.arange(start, stop))
            else:
                x = torch.as_tensor(np.asarray(items[start:stop]), dtype=torch.float32)
            out.append(fn(x.to(device)).to("cpu", torch.float32).numpy())
    return np.concatenate(out)


def atlas_codes(model: Any, name: str = "atlas_codes") -> np.ndarray | None:
    """The model's bundled atlas (posterior means of training images; name="atlas_std" for their
    posterior standard deviations), or None."""
    extras = getattr(model, "checkpoint_extras", None) or {}
    codes = extras.get(name)
    return None if codes is None else codes.detach().to(torch.float32).cpu().numpy()


def model_p_hat(model: Any, train: Any = None, gap_codes: np.ndarray | None = None, batch_size: int = 250,
                ) -> tuple[GaussianMixture | None, str | None, np.ndarray | None]:
    """(P̂(Z), its description, the training codes it was fitted to) for a model, as the explorer
    estimates it (`analysis.density.fit_p_hat`): from `gap_codes` (posterior means) when given,
    else the model's atlas (means and standard deviations, so the fit is to draws z ~ Q(z|x)), else
    the posterior means of the first `GAP_TRAIN_IMAGES` images of `train`; (None, None, None)
    without any."""
    codes, stds = gap_codes, None
    source = "given"
    if codes is None:
        codes, stds, source = atlas_codes(model), atlas_codes(model, "atlas_std"), "the model's atlas"
    if codes is None and train is not None and callable(getattr(model, "encode", None)) \
            and getattr(model, "has_encoder", True):
        codes = posterior_means(model, image_array(train, GAP_TRAIN_IMAGES), batch_size)
        source = f"first {len(codes)} of the training data"
    if codes is None:
        return None, None, None
    density = fit_p_hat(np.asarray(codes), stds)
    described = (f"{P_HAT.describe()} of {len(codes)} training images ({source}"
                 f"{'' if stds is not None or P_HAT.source == 'means' else '; means only, no spread known'})")
    return density, described, codes


__all__ = [
    "GAP_TRAIN_IMAGES",
    "atlas_codes",
    "decode_means",
    "image_array",
    "model_p_hat",
    "posterior_means",
    "reconstructions",
]
