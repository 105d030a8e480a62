"""A run of an autoregressive model drawing images, the worker side of the pixel panel (no Qt).

`pixel_frames` is the generator the panel's `GeneratorJob` runs: one `PixelFrame` per sub-pixel,
each pulled through a `services.gate.Gate`; `LatestFrame` is the one-slot mailbox the worker writes
and the GUI's redraw timer empties. Also `describe_model` (the model's one-line description),
`dataset_image` (a random image of the model's dataset, found on a worker) and `raster_start`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import DataError
from latentlab.sampling.pixels import sample_steps
from latentlab.services.decode import background_thread
from latentlab.services.gate import Gate

DATASET_LIMIT = 512           # dataset images decoded to pick a random one from


@dataclass
class PixelFrame:
    """One sub-pixel drawn, as owned numpy copies made on the worker."""

    done: int                          # sub-pixels drawn so far in this run (1 for the first)
    position: tuple[int, int, int]     # (row, col, channel) just drawn
    images: np.ndarray                 # uint8 [N, C, H, W] so far
    probs: np.ndarray                  # float32 [N, 256]: the distribution it was drawn from


class LatestFrame:
    """A one-slot mailbox: the worker overwrites, the GUI takes (thread-safe). However fast the
    steps come, the GUI only ever handles the latest one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: PixelFrame | None = None

    def put(self, frame: PixelFrame) -> None:
        with self._lock:
            self._frame = frame

    def take(self) -> PixelFrame | None:
        with self._lock:
            frame, self._frame = self._frame, None
        return frame


def pixel_frames(model: torch.nn.Module, n: int, mode: str, seed: int, gate: Gate, threads: int,
                 known: np.ndarray | None = None, start: int = 0) -> Iterator[PixelFrame]:
    """The worker's generator: one PixelFrame per sub-pixel drawn, each one waiting for its turn at
    `gate` (Step: one; Play: at the gate's rate; stopped: the generator ends)."""
    background_thread(threads)  # its own torch threads; the drag's decodes run first (services/decode.py)
    device = next(model.parameters()).device
    steps = sample_steps(model, n, mode=mode, generator=torch.Generator(device=device).manual_seed(seed),
                         known=None if known is None else torch.from_numpy(known), start=start)
    try:
        done, since = 0, time.monotonic()
        while gate.wait_turn(since):
            since = time.monotonic()
            step = next(steps, None)
            if step is None:
                return
            done += 1
            yield PixelFrame(done, step.position, step.image.cpu().numpy(), step.probs.cpu().numpy())
    finally:
        steps.close()


def describe_model(model: torch.nn.Module) -> str:
    """One line: family, image size and colours, parameters, held-out bits/dim and data when known."""
    from latentlab.models.registry import entry

    meta = getattr(model, "checkpoint_meta", {}) or {}
    name = meta.get("model") or getattr(model, "registry_name", type(model).__name__)
    family = entry(name).description.split(":")[0] if hasattr(model, "registry_name") else name
    channels, height, width = model.image_shape
    parameters = sum(p.numel() for p in model.parameters())
    size = f"{parameters / 1e6:.2f}M" if parameters >= 1e6 else f"{parameters / 1e3:.1f}k"
    parts = [family, f"{height}×{width} {'gray' if channels == 1 else 'RGB'}", f"{size} parameters"]
    bits = meta.get("metrics", {}).get("held_out", {}).get("bits_per_dim")
    if bits is not None:
        parts.append(f"{bits:.2f} bits/dim held out")
    spec = meta.get("dataset", {}).get("spec")
    if spec:
        parts.append(spec)
    return " · ".join(parts)


def dataset_image(meta: dict, shape: tuple[int, int, int], seed: int) -> Iterator[tuple[np.ndarray, str]]:
    """A worker generator yielding one (uint8 [C, H, W], caption): a random image (from `seed`) of the
    checkpoint's dataset, held-out split first. DataError when the data is not on this computer."""
    from latentlab.data import load_dataset, parse_spec

    dataset = meta.get("dataset", {})
    specs = [dataset["spec"]] if dataset.get("spec") else []
    if specs and dataset.get("path"):  # a relative path in the spec only resolves from where training ran
        specs.append(str(dataclasses.replace(parse_spec(specs[0]), path=dataset["path"])))
    for spec in specs:
        for split in ("test", "train"):
            try:
                found = load_dataset(spec, split=split, limit=DATASET_LIMIT)
            except DataError:
                continue
            if found.image_shape == tuple(shape):
                index = int(np.random.default_rng(seed).integers(len(found)))
                yield np.array(found.images[index]), f"{spec}, {split} image #{index}"
                return
    raise DataError(f"the model's dataset ({', '.join(specs) or 'not recorded'}) is not on this computer")


def raster_start(shape: tuple[int, int, int], rows: int) -> int:
    """The first sub-pixel index of row `rows` (keeping the rows above it)."""
    channels, _, width = shape
    return rows * width * channels
