"""An explorer session: one loaded model, its latent atlas, and decode/encode in numpy terms.

Everything the window displays passes through here as owned numpy arrays, so the UI never touches
tensors and worker threads can hand results across without sharing memory with the model.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentlab.checkpoints import read_checkpoint
from latentlab.checkpoints.model_io import model_from_checkpoint
from latentlab.data import load_dataset, load_image_file
from latentlab.errors import CheckpointError, DataError, LatentLabError

ATLAS_PREFIX = "atlas_label:"


@dataclass
class ExplorerSession:
    """A model ready for exploring. `atlas_codes` are encoded training images (P̂(Z) samples)."""

    model: torch.nn.Module
    path: Path | None
    meta: dict[str, Any]
    atlas_codes: np.ndarray | None = None
    atlas_labels: dict[str, np.ndarray] = field(default_factory=dict)
    atlas_std: np.ndarray | None = None
    #: the atlas's images, uint8 [N, C, H, W], when they came with the model (`from_model`)
    atlas_images: np.ndarray | None = None
    #: what the window calls an in-memory model (`from_model`); a checkpoint is called by its file name
    display_name: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _density_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _density: Any = field(default=None, repr=False)
    _biases: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> ExplorerSession:
        """Load a checkpoint (raises CheckpointError naming the file on any problem)."""
        checkpoint = read_checkpoint(path)
        model = model_from_checkpoint(checkpoint).eval()
        if getattr(model, "is_feature_network", False):
            raise CheckpointError(f"{path}: this is a feature network ({model.registry_name}), which scores "
                                  "images for the quality benches; it has no decoder, so there is nothing to explore. "
                                  "Use it with `python -m latentlab.bench quality --features PATH`.")
        extras = checkpoint.extras
        codes, std = extras.get("atlas_codes"), extras.get("atlas_std")
        labels = {k[len(ATLAS_PREFIX):]: v.numpy() for k, v in extras.items() if k.startswith(ATLAS_PREFIX)}
        return cls(model=model, path=Path(path), meta=checkpoint.meta,
                   atlas_codes=None if codes is None else codes.float().numpy(), atlas_labels=labels,
                   atlas_std=None if std is None else std.float().numpy())

    @classmethod
    def from_model(cls, model: torch.nn.Module, data: Any = None, name: str | None = None,
                   atlas_size: int = 3000) -> ExplorerSession:
        """A session on an in-memory model (what `latentlab.explore` opens).

        `model` follows the model protocol (latentlab/models/base.py, docs/plugins.md); the session
        works on a copy in eval mode on the CPU, so the caller's model is left as it was. `data`
        gives the atlas, the encoded images the map shows as P̂(Z): None (no atlas), a dataset spec
        string (its first `atlas_size` training images), an ImageDataset, or an image array or
        tensor [N, C, H, W] (uint8, or floats in [0, 1]) of the model's image shape. A model
        without an encoder gets no atlas. LatentLabError names whatever does not fit."""
        missing = [attr for attr in ("latent_dim", "image_shape", "decode", "prior") if not hasattr(model, attr)]
        if not isinstance(model, torch.nn.Module) or missing:
            raise LatentLabError(f"{type(model).__name__} is not a LatentLab model: it needs to be a torch.nn.Module with "
                                 f"latent_dim, image_shape, decode and prior (missing: {', '.join(missing) or 'nn.Module'}); "
                                 "see docs/plugins.md")
        if getattr(model, "is_autoregressive", False) or getattr(model, "is_feature_network", False):
            raise LatentLabError(f"{type(model).__name__} has no latent space to explore (an autoregressive model or a "
                                 "feature network)")
        model = copy.deepcopy(model).cpu().eval()
        family = getattr(model, "registry_name", None) or type(model).__name__
        meta: dict[str, Any] = dict(getattr(model, "checkpoint_meta", None) or {})
        meta.setdefault("model", family)
        session = cls(model=model, path=None, meta=meta)
        session.display_name = name or family
        if data is None:
            return session
        if not session.has_encoder:
            raise LatentLabError(f"{family} has no encoder, so it cannot encode images into an atlas; "
                                 "call explore without data")
        if atlas_size < 1:
            raise LatentLabError(f"the atlas size must be at least 1, got {atlas_size}")
        if isinstance(data, (str, os.PathLike)):
            dataset = load_dataset(str(data), split="train", limit=atlas_size)
            meta["dataset"] = {"spec": str(data)}
            meta["preprocessing"] = dataset.preprocessing
            meta["atlas"] = {"count": len(dataset), "split": "train", "data": str(data), "statistic": "posterior mean"}
            images, labels = np.asarray(dataset.images), dataset.labels
        elif hasattr(data, "images") and hasattr(data, "labels"):  # an ImageDataset
            images, labels = np.asarray(data.images[:atlas_size]), {k: v[:atlas_size] for k, v in data.labels.items()}
            if getattr(data, "preprocessing", None):
                meta["preprocessing"] = data.preprocessing
        else:
            images, labels = _uint8_images(data)[:atlas_size], {}
        if images.ndim != 4 or tuple(images.shape[1:]) != session.image_shape:
            raise DataError(f"the atlas images have shape {tuple(images.shape[1:])}, the model's images "
                            f"{session.image_shape} (channels, height, width)")
        if len(images) == 0:
            raise DataError("no images given for the atlas")
        means, stds = [], []
        with torch.no_grad():
            for start in range(0, len(images), 250):
                x = torch.from_numpy(np.ascontiguousarray(images[start:start + 250])).float().div_(255.0)
                posterior = model.encode(x)
                means.append(posterior.mean.float().numpy())
                if hasattr(posterior, "std"):
                    stds.append(posterior.std.float().numpy())
        session.atlas_codes = np.concatenate(means)
        session.atlas_std = np.concatenate(stds) if stds else None
        session.atlas_labels = {k: np.asarray(v) for k, v in labels.items()
                                if np.asarray(v).ndim == 1 and np.issubdtype(np.asarray(v).dtype, np.number)}
        session.atlas_images = np.ascontiguousarray(images)
        return session

    # ---------------------------------------------------------------- description
    @property
    def name(self) -> str:
        if self.path:
            return self.path.stem
        return self.display_name or self.meta.get("model", "model")

    @property
    def model_name(self) -> str:
        return self.meta["model"]

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.model.image_shape)

    @property
    def has_encoder(self) -> bool:
        return bool(getattr(self.model, "has_encoder", True))

    @property
    def preprocessing(self) -> dict[str, Any]:
        return self.meta.get("preprocessing", {})

    @property
    def dataset_spec(self) -> str | None:
        return self.meta.get("dataset", {}).get("spec")

    # ---------------------------------------------------------------- maths
    @torch.no_grad()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoder means of codes z [B, D] (or [D]) as uint8 images [B, C, H, W]."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float32))
        with self._lock:  # one model, used from the GUI thread and from workers
            images = self.model.decode(torch.from_numpy(z)).mean
        return (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()

    @torch.no_grad()
    def decode_into(self, z: np.ndarray, out: np.ndarray, wait: bool = True) -> bool:
        """The decoder mean of one code z [D] written as uint8 into `out` [H, W, C] (rows may be a
        strided view, e.g. the pixel buffer of an image the view will show): round(255 * clamp(x, 0, 1)),
        the same values as `decode`, with no intermediate array. With `wait=False`, returns False at
        once, writing nothing, while another thread uses the model (the GUI thread must not block)."""
        code = torch.from_numpy(np.asarray(z, dtype=np.float32).reshape(1, -1))
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            image = self.model.decode(code).mean[0]
        finally:
            self._lock.release()
        target = torch.from_numpy(out)
        target.copy_(image.permute(1, 2, 0).clamp_(0, 1).mul_(255).round_())
        return True

    @torch.no_grad()
    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """Posterior means E[z|x] of uint8 images [B, C, H, W] (training preprocessing already applied)."""
        x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
        with self._lock:
            return self.model.encode(x).mean.numpy().copy()

    def load_images(self, paths: list[str | os.PathLike]) -> np.ndarray:
        """Image files preprocessed exactly as the training data was: uint8 [B, C, H, W]."""
        if not self.preprocessing:
            raise DataError(f"{self.path}: the checkpoint records no preprocessing, so images cannot be encoded")
        return np.stack([load_image_file(p, self.preprocessing) for p in paths])

    def encode_files(self, paths: list[str | os.PathLike]) -> tuple[np.ndarray, np.ndarray]:
        """(codes [B, D], preprocessed images [B, C, H, W]) of image files; DataError names a bad file."""
        images = self.load_images(paths)
        return self.encode_images(images), images

    def prior_samples(self, n: int, seed: int = 0) -> np.ndarray:
        """n draws from the prior P(Z) (N(0, I)), reproducible from `seed`."""
        generator = torch.Generator().manual_seed(seed)
        return self.model.prior.sample(n, generator=generator).numpy()

    # ---------------------------------------------------------------- P̂(Z) and its gaps
    def atlas_subsample(self, max_faces: int | None = None, seed: int = 0) -> np.ndarray | None:
        """Indices of at most `max_faces` atlas faces (default `P_HAT_MAX_FACES`), a seeded uniform
        subsample (`analysis.density.subsample_indices`); every face of an atlas that small already.
        What the window fits densities and measures chain biases on, so that the cost of a fit does
        not grow with the atlas. None without an atlas."""
        if self.atlas_codes is None:
            return None
        from latentlab.analysis.density import P_HAT_MAX_FACES, subsample_indices

        return subsample_indices(len(self.atlas_codes), P_HAT_MAX_FACES if max_faces is None else max_faces, seed)

    def p_hat_samples(self, draws: int = 2, seed: int = 0, max_faces: int | None = None) -> np.ndarray | None:
        """Samples of P̂(Z) = E_x Q(z|x): `draws` codes per atlas image (see `posterior_draws`), of the
        images of `atlas_subsample(max_faces, seed)` (at most `P_HAT_MAX_FACES` by default)."""
        keep = self.atlas_subsample(max_faces, seed)
        if keep is None:
            return None
        from latentlab.analysis.density import posterior_draws

        stds = None if self.atlas_std is None else self.atlas_std[keep]
        return posterior_draws(self.atlas_codes[keep], stds, draws, seed)

    def density(self):
        """P̂(Z) fitted to the atlas (`analysis.density.fit_p_hat` with the explorer's settings
        `P_HAT`: a 10-component full-covariance Gaussian mixture, EM seed 0, on two draws z ~ Q(z|x)
        per atlas face; about a second on one core for the bundled 64-d atlases), computed once and
        cached; on a seeded subsample of at most `P_HAT_MAX_FACES` faces of a larger atlas. None when
        the model carries no atlas."""
        if self.atlas_codes is None:
            return None
        if self._density is None:
            from latentlab.analysis.density import fit_p_hat

            # Under its own lock, not the model lock that drag decodes wait on: a second worker
            # asking while the first fits waits for that fit instead of repeating it.
            with self._density_lock:
                if self._density is None:
                    self._density = fit_p_hat(self.atlas_codes, self.atlas_std)
        return self._density

    @property
    def density_fitted(self) -> bool:
        """True once `density()` has been computed (asking for it then costs nothing)."""
        return self._density is not None

    def p_hat_draws(self, n: int, seed: int = 0) -> np.ndarray | None:
        """n codes drawn from the fitted P̂(Z) (`density()`), float32 [n, D], reproducible from `seed`
        (`analysis.density.sample_p_hat`); None when the model carries no atlas. The first call
        fits the density (a fraction of a second for the bundled atlases; run it off the GUI thread)."""
        density = self.density()
        if density is None:
            return None
        from latentlab.analysis.density import sample_p_hat

        return sample_p_hat(density, n, seed)

    def chain_bias(self, mode: str, seed: int = 0) -> np.ndarray | None:
        """b [D], the mean move of the atlas codes in one chain transition of `mode`
        (`sampling.chain.transition_bias`, generator seeded with `seed`): the debiased chain
        runs z_{t+1} = T(z_t) - b (docs/chain-study.md). Computed once per mode and cached (one
        decode and encode of every code of `atlas_subsample()`, at most `P_HAT_MAX_FACES`: seconds;
        call it from a worker). None without an atlas or an encoder."""
        if self.atlas_codes is None or not self.has_encoder:
            return None
        key = f"{mode}:{seed}"
        if key not in self._biases:
            from latentlab.sampling.chain import transition_bias

            codes = self.atlas_codes[self.atlas_subsample()]
            self._biases[key] = transition_bias(self.model, codes, mode, torch.Generator().manual_seed(seed))
        return self._biases[key]

    def log_p_hat(self, z: np.ndarray) -> np.ndarray | None:
        """log P̂(z) per code under the fitted density (None without an atlas)."""
        density = self.density()
        return None if density is None else density.log_prob(np.atleast_2d(z))

    def p_hat_floor(self, quantile: float = 0.01) -> float | None:
        """The `quantile` of log P̂(z) over draws of the encoded faces themselves: a code below it is
        less likely under P̂(Z) than 99 % of the training faces' codes, i.e. it has left P̂(Z)."""
        samples = self.p_hat_samples()
        if samples is None:
            return None
        return float(np.quantile(self.log_p_hat(samples), quantile))

    def gap_scores(self, z: np.ndarray) -> np.ndarray | None:
        """log P(z) - log P̂(z) per code (high: the prior has mass where no training face was encoded)."""
        density = self.density()
        if density is None:
            return None
        from latentlab.analysis.density import StandardNormal, gap_score

        return gap_score(np.atleast_2d(z), StandardNormal(self.latent_dim), density)


def _uint8_images(data: Any) -> np.ndarray:
    """uint8 [N, C, H, W] from an array or tensor of uint8 images or of floats in [0, 1]."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise DataError(f"cannot use {type(data).__name__} as atlas images: {err}") from None
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"atlas images must be numbers (uint8, or floats in [0, 1]), got {array.dtype}")
    if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
        raise DataError("float atlas images must lie in [0, 1] (or pass uint8 images in 0..255)")
    return (np.nan_to_num(array.astype(np.float32)) * 255).round().astype(np.uint8)
