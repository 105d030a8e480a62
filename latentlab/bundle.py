"""`python -m latentlab.bundle RUN.ckpt --out MODEL.ckpt`: a small, shippable copy of a trained model.

The bundle keeps the weights (float16 storage; an adversarial model's discriminator is left out,
since exploring only encodes and decodes), config, dataset description, preprocessing, history
and metrics, drops the optimiser / RNG state, and adds a *latent atlas*: the posterior means
E[z|x] of the first N training images (codes only, never the images), their posterior standard
deviations for Gaussian encoders (so P̂(Z) = E_x Q(z|x) can be estimated from draws, not only
means), plus their numeric labels when the dataset has any. With the atlas the explorer can show the encoded distribution P̂(Z)
without the dataset being on disk.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from latentlab.checkpoints import Checkpoint, read_checkpoint, write_checkpoint
from latentlab.checkpoints.model_io import model_from_checkpoint
from latentlab.data import load_dataset
from latentlab.errors import LatentLabError

ATLAS_BATCH = 250


@torch.no_grad()
def encode_atlas(model: torch.nn.Module, dataset, batch_size: int = ATLAS_BATCH) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Posterior means of every image in `dataset` [N, D], and the posterior standard deviations
    [N, D] for models whose encoder is Gaussian (None for a deterministic encoder)."""
    model.eval()
    means, stds = [], []
    for i in range(0, len(dataset), batch_size):
        posterior = model.encode(dataset.batch(np.arange(i, min(i + batch_size, len(dataset)))))
        means.append(posterior.mean)
        if hasattr(posterior, "std"):
            stds.append(posterior.std)
    return torch.cat(means), (torch.cat(stds) if stds else None)


def explorable_weights(model: torch.nn.Module) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict without the modules that exploring never runs (an adversarial model's
    discriminator: the window only encodes and decodes), and the names of those left out."""
    omitted = ["discriminator"] if isinstance(getattr(model, "discriminator", None), torch.nn.Module) else []
    state = {k: v for k, v in model.state_dict().items() if not any(k.startswith(f"{m}.") for m in omitted)}
    return state, omitted


def bundle(source: str | Path, out: str | Path, atlas_size: int = 3000, data: str | None = None,
           progress=None) -> Path:
    """Write the bundled copy of checkpoint `source` to `out` and return its path.

    atlas_size 0 writes no atlas (no dataset is read): e.g. a feature network that only needs its
    weights. A model without an encoder (a GAN) gets no atlas either.
    """
    if atlas_size < 0:
        raise LatentLabError(f"the atlas size must be >= 0 (0: no atlas), got {atlas_size}")
    checkpoint = read_checkpoint(source)
    model = model_from_checkpoint(checkpoint).eval()
    meta = {k: v for k, v in checkpoint.meta.items() if k not in ("versions", "storage_dtype", "atlas")}
    weights, omitted = explorable_weights(model)
    if omitted:
        meta["omitted_modules"] = omitted
    if atlas_size == 0 or not getattr(model, "has_encoder", True):  # a GAN encodes nothing: no atlas
        return write_checkpoint(out, Checkpoint(meta=meta, state_dict=weights), half=True)
    spec = data or checkpoint.meta.get("dataset", {}).get("spec")
    if not spec:
        raise LatentLabError(f"{source}: no dataset recorded; pass --data to encode the atlas")
    dataset = load_dataset(spec, split="train", limit=atlas_size, progress=progress)
    if tuple(dataset.image_shape) != tuple(model.image_shape):
        raise LatentLabError(f"{spec} gives images {dataset.image_shape}, the model expects {model.image_shape}")
    means, stds = encode_atlas(model, dataset)
    extras = {"atlas_codes": means}
    if stds is not None:  # P̂(Z) = E_x Q(z|x) needs the spread of each Q(z|x), not only its mean
        extras["atlas_std"] = stds
    for name, values in dataset.labels.items():
        if np.issubdtype(values.dtype, np.number) and values.ndim == 1:
            extras[f"atlas_label:{name}"] = torch.from_numpy(np.ascontiguousarray(values))
    meta["atlas"] = {"count": len(dataset), "split": "train", "data": spec, "statistic": "posterior mean"}
    return write_checkpoint(out, Checkpoint(meta=meta, state_dict=weights, extras=extras), half=True)


def grow_atlas(source: str | os.PathLike, out: str | os.PathLike, size: int, seed: int = 0) -> Path:
    """Write `source` (a bundled checkpoint with an atlas of A faces) to `out` with an atlas of `size`
    codes, for measuring and showing the window with large atlases without encoding that many images
    (200,000 synthetic faces take over an hour to generate and encode on a 2-core CPU): code k is
    face i = k mod A's posterior mean for k < A, and a draw z = μ_i + σ_i ε of its posterior Q(z|x_i)
    after that (ε ~ N(0, I), seeded), with face i's labels and σ_i: samples of P̂(Z) = E_x Q(z|x).
    The atlas metadata says so and names no dataset, so the window does not look for training images
    that these codes do not encode."""
    checkpoint = read_checkpoint(source)
    extras = checkpoint.extras
    if "atlas_codes" not in extras:
        raise LatentLabError(f"{source}: no atlas to grow (bundle it with --atlas first)")
    means = extras["atlas_codes"].float().numpy()
    stds = extras["atlas_std"].float().numpy() if "atlas_std" in extras else np.zeros_like(means)
    faces = np.arange(size) % len(means)
    noise = np.random.default_rng(seed).standard_normal((size, means.shape[1])).astype(np.float32)
    noise[: min(size, len(means))] = 0.0  # the real atlas first, as encoded
    codes = means[faces] + stds[faces] * noise
    new_extras = {"atlas_codes": torch.from_numpy(codes)}
    if "atlas_std" in extras:
        new_extras["atlas_std"] = torch.from_numpy(stds[faces])
    for key, value in extras.items():
        if key.startswith("atlas_label:"):
            new_extras[key] = torch.from_numpy(np.ascontiguousarray(value.numpy()[faces]))
    # No dataset named: the window would otherwise look for training images these codes do not encode.
    meta = {k: v for k, v in checkpoint.meta.items() if k not in ("versions", "storage_dtype", "dataset")}
    meta["atlas"] = {"count": int(size), "split": "train",
                     "statistic": f"posterior means of {len(means)} faces, then posterior draws around them (bench scale)"}
    return write_checkpoint(out, Checkpoint(meta=meta, state_dict=checkpoint.state_dict, extras=new_extras), half=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bundle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a training checkpoint, e.g. runs/vae-celeba/last.ckpt")
    parser.add_argument("--out", required=True, help="where to write the bundled checkpoint")
    parser.add_argument("--atlas", type=int, default=3000,
                        help="training images to encode into the atlas (0: no atlas)")
    parser.add_argument("--data", help="dataset spec for the atlas (default: the one the model was trained on)")
    args = parser.parse_args(argv)
    try:
        path = bundle(args.checkpoint, args.out, args.atlas, args.data)
    except LatentLabError as err:
        print(f"bundle: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
