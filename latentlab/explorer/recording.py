"""Recorded walks through latent space, the Qt-free side of Record and of the animation exports.

A `Recording` keeps the faces the window showed while Record was on, each with its code and the
moment it was shown. It plays back either in real time (frame k of an animation at `fps` shows the
latest face shown at or before k / fps, so a pause in the drag is a held face and a fast move skips
faces) or one face per frame. A path walk (the Interpolate tab's A → B path) and a chain run (the
Chain tab's last steps) need no recording: `walk_frames` decodes their codes directly, batch by
batch, on the worker that then encodes them (`export_frames`), so the animation is the same
whatever the window did meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.animation import animation_format, frame_order, write_animation
from latentlab.explorer.session import ExplorerSession
from latentlab.images import grid_array

MAX_FRAMES = 6000      # about 3 minutes of faces shown at 30 a second: 74 MB of 64x64 RGB faces
DECODE_BATCH = 32


@dataclass
class Recording:
    """Faces shown (uint8 [C, H, W]), their codes ([D] float32) and when (seconds, any clock)."""

    max_frames: int = MAX_FRAMES
    images: list[np.ndarray] = field(default_factory=list)
    codes: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def full(self) -> bool:
        return len(self.images) >= self.max_frames

    def add(self, image: np.ndarray, z: np.ndarray, time: float) -> bool:
        """Keep a copy of one shown face; False (nothing kept) when full, or when its shape differs
        from the first face's (a model with another image size: a recording holds one model's faces)."""
        image = np.asarray(image, dtype=np.uint8)
        if self.full or (self.images and image.shape != self.images[0].shape):
            return False
        self.images.append(image.copy())
        self.codes.append(np.asarray(z, dtype=np.float32).reshape(-1).copy())
        self.times.append(float(time))
        return True

    def clear(self) -> None:
        self.images.clear()
        self.codes.clear()
        self.times.clear()

    def frames(self) -> np.ndarray:
        """All faces, uint8 [K, C, H, W] (an owned copy, for a worker)."""
        return np.stack(self.images) if self.images else np.zeros((0, 3, 1, 1), np.uint8)

    def codes_array(self) -> np.ndarray:
        """All codes, float32 [K, D]."""
        return np.stack(self.codes) if self.codes else np.zeros((0, 0), np.float32)

    @property
    def seconds(self) -> float:
        """Time from the first face shown to the last."""
        return self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0

    def order(self, fps: float, real_time: bool = True) -> list[int]:
        """Which face each frame at `fps` shows: in real time (see the module docstring; the last face
        always closes the animation), or every face once."""
        return real_time_order(self.times, fps) if real_time else list(range(len(self)))


def real_time_order(times: list[float] | np.ndarray, fps: float) -> list[int]:
    """Frame k (k = 0, 1, ... while k / fps <= the last time) shows the last face with time <= t0 + k / fps;
    the last face is appended when the sampling missed it, so the walk always ends where it ended."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) == 0:
        return []
    span = times[-1] - times[0]
    count = int(math.floor(span * fps + 1e-9)) + 1
    at = times[0] + np.arange(count) / fps
    order = (np.searchsorted(times, at + 1e-9, side="right") - 1).clip(0).tolist()  # 1e-9: float sums of 1/fps
    if order[-1] != len(times) - 1:
        order.append(len(times) - 1)
    return order


@dataclass(frozen=True)
class AnimationSettings:
    """What the export dialog asks: the file, its frame rate, the enlargement, and how frames play."""

    path: Path
    fps: float = 15.0
    scale: int = 2
    bounce: bool = False      # forward then back (a looping path walk)
    real_time: bool = True    # recordings only: real time, or one face per frame


def walk_frames(session: ExplorerSession, codes: np.ndarray, columns: int | None = None,
                ) -> Iterator[tuple[int, int, np.ndarray | None]]:
    """Decode a walk's codes: [T, D] (one face per frame) or [T, N, D] (N faces per frame, e.g. N chains,
    tiled in rows of `columns`, default ceil(sqrt(N)), with `images.grid_array`'s white gaps). Yields
    (frames decoded, T, None) as it goes and finally (T, T, frames uint8 [T, C, H', W'])."""
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim == 2:
        codes = codes[:, None, :]
    if codes.ndim != 3 or codes.shape[2] != session.latent_dim or len(codes) == 0:
        raise ValueError(f"walk codes must be [T, D] or [T, N, D] with D = {session.latent_dim}, got {codes.shape}")
    steps, n = codes.shape[:2]
    frames: list[np.ndarray] = []
    per_batch = max(1, DECODE_BATCH // n)
    for start in range(0, steps, per_batch):
        batch = codes[start:start + per_batch]
        decoded = session.decode(batch.reshape(-1, batch.shape[2])).reshape(len(batch), n, *session.image_shape)
        for images in decoded:
            frames.append(images[0] if n == 1 else tile(images, columns))
        yield len(frames), steps, None
    yield steps, steps, np.stack(frames)


def tile(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """N faces uint8 [N, C, H, W] as one RGB frame [3, H', W']: `images.grid_array` rows of `columns`
    (default ceil(sqrt(N))) with white gaps."""
    return grid_array([images], columns=columns or math.ceil(math.sqrt(len(images)))).transpose(2, 0, 1)


def tiled_shape(image_shape: tuple[int, ...], count: int) -> tuple[int, ...]:
    """The shape of one frame of `count` faces of `image_shape` ([C, H, W]) as `walk_frames` makes it."""
    if count == 1:
        return tuple(image_shape)
    return tile(np.zeros((count, *image_shape), np.uint8)).shape


def export_frames(settings: AnimationSettings, images: np.ndarray | None = None,
                  order: list[int] | None = None, session: ExplorerSession | None = None,
                  codes: np.ndarray | None = None) -> Iterator[tuple[str, int, int]]:
    """The export job's generator: decode `codes` with `session` first when given (`walk_frames`), else
    use `images`; then write the animation (`animation.write_animation`). Yields (what, done, total)
    with what = "Decoding" or "Encoding GIF" / "Encoding MP4". Closing it early (cancel) removes the
    partial file and leaves any file already at the path as it was."""
    kind = animation_format(settings.path)  # an unsupported suffix fails before any decode
    if codes is not None:
        if session is None:
            raise ValueError("decoding codes needs a session")
        for done, total, decoded in walk_frames(session, codes):
            yield "Decoding", done, total
            if decoded is not None:
                images = decoded
    if images is None:
        images = np.zeros((0, 3, 1, 1), np.uint8)  # write_animation says "no frames", naming the file
    order = list(range(len(images))) if order is None else list(order)
    order = [order[i] for i in frame_order(len(order), settings.bounce)]
    for done, total in write_animation(settings.path, images, settings.fps, settings.scale, order=order, kind=kind):
        yield f"Encoding {kind}", done, total


def output_size(image_shape: tuple[int, ...], scale: int, kind: str = "GIF") -> tuple[int, int]:
    """(width, height) of the animation's frames: the image enlarged `scale` times (MP4: padded to even)."""
    height, width = image_shape[-2] * scale, image_shape[-1] * scale
    if kind == "MP4":
        height, width = height + height % 2, width + width % 2
    return width, height
