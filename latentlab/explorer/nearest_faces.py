"""The worker side of the Nearest training faces view (a memorisation check), Qt-free.

For the face on screen (its code z and its decoded image x) it finds

- the k nearest *atlas codes* to z (Euclidean distance in latent space), with their decodes and,
  when the training data is on disk, the training images they encode;
- the k nearest *training images* to x, by pixel-space L2 (`analysis.nearest.nearest_neighbours`),
  and x's nearest-training distance against the held-out reference: the same distance for faces the
  model never trained on (`analysis.nearest.HeldOutReference`; Meehan et al. 2020).

The reference is made of what the decoder draws for unseen faces: the reconstructions
decode(E[z|x]) of held-out faces for a model with an encoder, the held-out images themselves for a
decoder-only model (a GAN). The decoded face on screen is a decoder output, blurrier than a photo,
and blur alone brings an image nearer to its nearest training image (for the bundled VAE the median
nearest-training distance is 0.172 for 300 held-out photos, 0.149 for their reconstructions; `python
-m latentlab.bench nearest`): measured against photos, decodes would look nearer than they are.

`NearestFaces.prepare()` is a generator for a `services.jobs.GeneratorJob`: it finds the training
and held-out images on disk and measures the reference once per model, yielding progress lines;
`NearestFaces.report(z, image)` answers one face (a `LatestRequestWorker` render) with whatever is
ready, and says in `notes` what is missing and why.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from latentlab.analysis.nearest import HeldOutReference, nearest_distances, nearest_neighbours, rms_distance
from latentlab.errors import DataError, LatentLabError
from latentlab.explorer.session import ExplorerSession

#: neighbours shown per row
DEFAULT_NEIGHBOURS = 6
#: held-out faces measured for the reference (its 1 % quantile then rests on 5 faces)
HELD_OUT_FACES = 500
#: held-out faces per progress step
BATCH = 100


def dataset_specs(session: ExplorerSession) -> list[str]:
    """The dataset specs that may name the session's training data on this machine, best first: the
    atlas's, the training run's, and the training run's with the absolute path it recorded (a
    relative path in a spec only resolves from where training ran)."""
    atlas = session.meta.get("atlas") or {}
    specs = [s for s in (atlas.get("data"), session.meta.get("dataset", {}).get("spec")) if s]
    absolute = session.meta.get("dataset", {}).get("path")
    if specs and absolute:
        from latentlab.data import parse_spec

        specs.append(str(dataclasses.replace(parse_spec(specs[-1]), path=absolute)))
    return list(dict.fromkeys(specs))


@dataclass
class TrainingFaces:
    """The session's training images (uint8 [N, C, H, W]; image i is atlas face i, as the atlas was
    made from the first images of the training split) and held-out images (None when there are none)."""

    spec: str
    train: np.ndarray
    held_out: np.ndarray | None


def find_training_faces(session: ExplorerSession) -> TrainingFaces:
    """Load the training and held-out split of the session's dataset from the first spec that works
    (`dataset_specs`); a model given its images in memory (`ExplorerSession.from_model`) uses those.
    Raises DataError saying why none could be used."""
    from latentlab.data import load_dataset

    problems = []
    for spec in dataset_specs(session):
        try:
            # strict: with an unreadable image left out, image i would no longer be atlas face i
            train = load_dataset(spec, split="train", strict=True)
        except LatentLabError as err:
            problems.append(str(err))
            continue
        if tuple(train.image_shape) != session.image_shape:
            problems.append(f"{spec} gives images {tuple(train.image_shape)}, the model's are {session.image_shape}")
            continue
        try:
            held = np.asarray(load_dataset(spec, split="test").images)
        except LatentLabError:
            held = None
        return TrainingFaces(spec, np.asarray(train.images), held if held is not None and len(held) else None)
    if session.atlas_images is not None:
        return TrainingFaces("the images given with the model", session.atlas_images, None)
    if not problems:
        raise DataError("the model records no training dataset")
    raise DataError(problems[-1])


@dataclass
class NearestReport:
    """The answer for one face (code `z`, decoded `image`). Latent row: atlas indices, distances ‖z − z_i‖, decodes and (when on
    disk) the training images. Pixel row: training-image indices, RMS pixel distances, the images;
    `verdict` sets the nearest distance against the held-out reference. `notes`: what is missing, why."""

    z: np.ndarray
    image: np.ndarray
    latent_indices: np.ndarray | None = None
    latent_distances: np.ndarray | None = None
    latent_decodes: np.ndarray | None = None
    latent_originals: np.ndarray | None = None
    pixel_indices: np.ndarray | None = None
    pixel_distances: np.ndarray | None = None
    pixel_images: np.ndarray | None = None
    distance: float | None = None
    verdict: str | None = None
    copy: bool = False
    notes: list[str] = field(default_factory=list)


class NearestFaces:
    """One model's nearest-face search: the training faces and the held-out reference, found and
    measured once by `prepare()`, then `report()` for any face (see the module docstring)."""

    def __init__(self, session: ExplorerSession, k: int = DEFAULT_NEIGHBOURS, held_out_faces: int = HELD_OUT_FACES):
        self.session = session
        self.k = k
        self.held_out_faces = held_out_faces
        self.faces: TrainingFaces | None = None
        self.reference: HeldOutReference | None = None
        self.problem: str | None = None      # why the training images are not available
        self.reference_problem: str | None = None
        self.prepared = False

    def prepare(self, threads: int | None = None) -> Iterator[str]:
        """Find the images and measure the held-out reference (seconds to a minute; run it on a
        worker). Yields a progress line per step; afterwards `faces`, `reference` and the problems
        say what was found."""
        import torch

        torch.set_num_threads(threads or max(1, (os.cpu_count() or 2) - 1))  # per thread
        yield "looking for the training images on disk…"
        try:
            self.faces = find_training_faces(self.session)
        except LatentLabError as err:
            self.problem = f"training images not on disk ({err}): showing decodes only"
            self.prepared = True
            yield self.problem
            return
        held = self.faces.held_out
        if held is None:
            self.reference_problem = "no held-out faces in the dataset: distances are shown without a reference"
            self.prepared = True
            yield self.reference_problem
            return
        held = held[:self.held_out_faces]
        through_model = self.session.has_encoder
        what = "held-out reconstructions" if through_model else "held-out faces"
        distances = []
        for start in range(0, len(held), BATCH):
            batch = held[start:start + BATCH]
            if through_model:
                batch = self.session.decode(self.session.encode_images(batch))
            distances.append(nearest_distances(batch, self.faces.train))
            yield f"measuring the {what}' nearest-training distances: {min(start + BATCH, len(held))}/{len(held)}"
        values = rms_distance(np.concatenate(distances), int(np.prod(self.session.image_shape)))
        self.reference = HeldOutReference.of(values, what)
        self.prepared = True
        yield f"reference: {len(values)} {what}, median distance {self.reference.median:.3f}"

    def report(self, z: np.ndarray, image: np.ndarray) -> NearestReport:
        """The nearest atlas codes to z and nearest training images to `image` (uint8 [C, H, W])."""
        session = self.session
        report = NearestReport(z=np.asarray(z, dtype=np.float32), image=np.asarray(image))
        if session.atlas_codes is not None:
            d, i = nearest_neighbours(report.z[None], session.atlas_codes, self.k)
            report.latent_indices, report.latent_distances = i[0], d[0]
            report.latent_decodes = session.decode(session.atlas_codes[i[0]])
            if self.faces is not None and len(self.faces.train) >= len(session.atlas_codes):
                report.latent_originals = np.asarray(self.faces.train[i[0]])
        else:
            report.notes.append("this model carries no encoded training faces (no atlas): no latent neighbours")
        if self.faces is None:
            report.notes.append(self.problem or "looking for the training images on disk…")
            return report
        d, i = nearest_neighbours(np.asarray(image)[None], self.faces.train, self.k)
        report.pixel_indices = i[0]
        report.pixel_distances = rms_distance(d[0], int(np.prod(image.shape)))
        report.pixel_images = np.asarray(self.faces.train[i[0]])
        report.distance = float(report.pixel_distances[0])
        if self.reference is not None:
            report.verdict = self.reference.describe(report.distance)
            report.copy = self.reference.is_possible_copy(report.distance)
        else:
            report.notes.append(self.reference_problem or "measuring the held-out faces' distances…")
        return report
