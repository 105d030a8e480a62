"""The Nearest training faces panel: the face on screen beside its nearest training faces, with a
one-line memorisation verdict.

Top row: the k atlas codes nearest to the current code z (latent distance), decoded, with the
training images they encode when the data is on disk. Bottom row: the current face and the k
training images nearest to it in pixels, and its nearest distance set against the held-out
reference ("0.42× the typical held-out distance — closer than 97 % of held-out faces: possible
copy"). The work is `explorer.nearest_faces.NearestFaces`: `prepare()` (find the images, measure
the reference; once per model) on a `GeneratorJob`, `report()` per face on a `LatestRequestWorker`,
so only the newest face is ever computed. Nothing runs while the panel is hidden.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from latentlab.explorer.nearest_faces import DEFAULT_NEIGHBOURS, HELD_OUT_FACES, NearestFaces, NearestReport
from latentlab.explorer.session import ExplorerSession
from latentlab.services.decode import LatestRequestWorker, one_torch_thread
from latentlab.services.jobs import GeneratorJob
from latentlab.ui.bridge import JobBridge
from latentlab.ui.widgets.imaging import to_pixmap

THUMB = 64
COPY_STYLE = "color: #b00020; font-weight: bold;"
PLAIN_STYLE = "font-weight: bold;"


def _thumbnail(caption: str = "") -> tuple[QLabel, QLabel]:
    image = QLabel()
    image.setFixedSize(THUMB, THUMB)
    image.setAlignment(Qt.AlignmentFlag.AlignCenter)
    image.setStyleSheet("background: #f2f2f2; border: 1px solid #d0d0d0; color: #999;")
    text = QLabel(caption)
    text.setAlignment(Qt.AlignmentFlag.AlignCenter)
    text.setStyleSheet("color: #555; font-size: 10px;")
    return image, text


class ThumbnailRows(QGroupBox):
    """A titled grid of rows of small images with a caption under each (row names on the left)."""

    def __init__(self, title: str, rows: list[str], columns: int) -> None:
        super().__init__(title)
        layout = QGridLayout(self)
        layout.setHorizontalSpacing(4)
        self.images: list[list[QLabel]] = []
        self.captions: list[list[QLabel]] = []
        for r, name in enumerate(rows):
            label = QLabel(name)
            label.setWordWrap(True)
            label.setFixedWidth(70)
            layout.addWidget(label, 2 * r, 0)
            images, captions = [], []
            for c in range(columns):
                image, caption = _thumbnail()
                layout.addWidget(image, 2 * r, c + 1)
                layout.addWidget(caption, 2 * r + 1, c + 1)
                images.append(image)
                captions.append(caption)
            self.images.append(images)
            self.captions.append(captions)
        layout.setColumnStretch(columns + 1, 1)

    def set_row(self, row: int, images: np.ndarray | None, captions: list[str], empty: str = "") -> None:
        """Show `images` [n, C, H, W] in `row` (the rest of the row cleared, saying `empty`)."""
        count = 0 if images is None else len(images)
        for c, (label, caption) in enumerate(zip(self.images[row], self.captions[row])):
            if c < count:
                label.setPixmap(to_pixmap(images[c], THUMB - 2))
                caption.setText(captions[c])
            else:
                label.clear()
                label.setText(empty if c == 0 else "")
                caption.setText("")


class NearestPanel(QWidget):
    """Shows the nearest training faces of the face given to `set_face(z, image)` (see the module docstring)."""

    def __init__(self, k: int = DEFAULT_NEIGHBOURS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.k = k
        self.held_out_faces = HELD_OUT_FACES  # in the reference of the next model
        self.worker_threads = max(1, (os.cpu_count() or 2) - 1)
        self.nearest: NearestFaces | None = None
        self.report: NearestReport | None = None   # the one on screen
        self._face: tuple[np.ndarray, np.ndarray] | None = None
        self._active = False
        self._request = 0
        self._prepare_job: GeneratorJob | None = None
        self._old_jobs: list[GeneratorJob] = []  # cancelled preparations still winding down
        self._bridge = JobBridge(self)
        to_gui = self._bridge.to_gui
        self.worker = LatestRequestWorker(_report, to_gui(self._reported), to_gui(self._failed),
                                          name="latentlab-nearest")

        self.title = QLabel("Open a latent model to see its nearest training faces")
        self.title.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.latent_rows = ThumbnailRows("Nearest encoded training faces (distance ‖z − zᵢ‖ in latent space)",
                                         ["decode", "training image"], k)
        self.pixel_rows = ThumbnailRows("Nearest training images to this face (RMS pixel distance)",
                                        ["this face → nearest"], k + 1)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet(PLAIN_STYLE)
        explain = QLabel("The reference: how near the faces the model never trained on come to a training face, "
                         "passed through the model (their reconstructions; held-out photos for a model without "
                         "an encoder). A face much nearer than those is likely a copy (Meehan et al. 2020).")
        explain.setWordWrap(True)
        explain.setStyleSheet("color: #777; font-size: 10px;")
        layout = QVBoxLayout(self)
        for widget in (self.title, self.status, self.latent_rows, self.pixel_rows, self.verdict, explain):
            layout.addWidget(widget)
        layout.addStretch(1)

    # ------------------------------------------------------------------ inputs
    def set_session(self, session: ExplorerSession) -> None:
        """A new model: forget the old search; prepare the new one when shown."""
        self._cancel_prepare()
        self.nearest = NearestFaces(session, self.k, self.held_out_faces)
        self.report, self._face = None, None
        self._request = 0
        self.title.setText(f"<b>{session.name}</b>: nearest training faces of the face on screen")
        self.status.setText("")
        self.verdict.setText("")
        self.latent_rows.set_row(0, None, [])
        self.latent_rows.set_row(1, None, [])
        self.pixel_rows.set_row(0, None, [])
        if self._active:
            self._start_prepare()

    def set_face(self, z: np.ndarray, image: np.ndarray) -> None:
        """The face on screen changed (its code and its decoded uint8 image [C, H, W])."""
        self._face = (np.asarray(z, dtype=np.float32).copy(), np.asarray(image).copy())
        self._submit()

    def set_active(self, active: bool) -> None:
        """Shown (compute) or hidden (compute nothing)."""
        self._active = active
        if active and self.nearest is not None:
            if not self.nearest.prepared and (self._prepare_job is None or not self._prepare_job.is_running):
                self._start_prepare()
            self._submit()

    @property
    def pending(self) -> bool:
        """A face is being searched (its report is shown when it arrives)."""
        return self._request != 0

    @property
    def preparing(self) -> bool:
        return self._prepare_job is not None and self._prepare_job.is_running

    # ------------------------------------------------------------------ work
    def _submit(self) -> None:
        if self._active and self.nearest is not None and self._face is not None:
            self._request = self.worker.submit((self.nearest, *self._face))

    def _start_prepare(self) -> None:
        nearest, threads = self.nearest, self.worker_threads
        progress, done = self._bridge.to_gui(self._progress), self._bridge.to_gui(self._prepared)
        self._prepare_job = GeneratorJob(lambda: nearest.prepare(threads), name="nearest-prepare",
                                         on_event=lambda line: progress(nearest, line),
                                         on_error=lambda message: progress(nearest, f"could not prepare: {message}"),
                                         on_done=lambda: done(nearest))
        self.status.setText("looking for the training images on disk…")
        self._prepare_job.start()

    def _cancel_prepare(self) -> None:
        """Stop the preparation (between two steps; never waited for here, so a model switch never
        blocks the window: what it still reports names the old search and is dropped)."""
        if self._prepare_job is not None:
            self._prepare_job.cancel()
            self._old_jobs = [job for job in self._old_jobs if job.is_running] + [self._prepare_job]
            self._prepare_job = None

    def _progress(self, nearest: NearestFaces, line: str) -> None:
        if nearest is self.nearest:
            self.status.setText(line)

    def _prepared(self, nearest: NearestFaces) -> None:
        if nearest is self.nearest:
            self._submit()  # the images and the reference are ready: search the face on screen again

    def _failed(self, request_id: int, message: str) -> None:
        if request_id == self._request:
            self._request = 0
            self.status.setText(f"The search failed: {message}")

    def _reported(self, request_id: int, answer: tuple[NearestFaces, NearestReport]) -> None:
        nearest, report = answer
        if nearest is not self.nearest or request_id < self._request:
            return  # another model, or older than the face on its way
        self._request = 0
        self.report = report
        self._show(report)

    def _show(self, report: NearestReport) -> None:
        if report.latent_indices is not None:
            captions = [f"#{i} · {d:.2f}" for i, d in zip(report.latent_indices, report.latent_distances)]
            self.latent_rows.set_row(0, report.latent_decodes, captions)
            self.latent_rows.set_row(1, report.latent_originals, captions, empty="not on disk")
        else:
            self.latent_rows.set_row(0, None, [], empty="no atlas")
            self.latent_rows.set_row(1, None, [])
        if report.pixel_images is not None:
            images = np.concatenate([report.image[None], report.pixel_images])
            pairs = zip(report.pixel_indices, report.pixel_distances)
            captions = ["this face"] + [f"#{i} · {d:.3f}" for i, d in pairs]
            self.pixel_rows.set_row(0, images, captions)
        else:
            self.pixel_rows.set_row(0, None, [], empty="not on disk")
        if report.verdict:
            self.verdict.setText(f"Nearest training image at {report.distance:.3f}: {report.verdict}")
        elif report.distance is not None:
            self.verdict.setText(f"Nearest training image at {report.distance:.3f} (no reference yet)")
        else:
            self.verdict.setText("")
        self.verdict.setStyleSheet(COPY_STYLE if report.copy else PLAIN_STYLE)
        if report.notes:
            self.status.setText(" · ".join(report.notes))
        elif self.nearest is not None and self.nearest.reference is not None:
            reference = self.nearest.reference
            self.status.setText(f"Reference: {len(reference.distances)} {reference.what}, median nearest-training "
                                f"distance {reference.median:.3f}; a face below {reference.copy_threshold:.3f} "
                                "(their 1 % quantile) is a possible copy")

    def shutdown(self) -> None:
        """Stop the preparation and the worker, and wait for them (a step in progress ends on its own)."""
        self._cancel_prepare()
        for job in self._old_jobs:
            job.join(60)
        self._old_jobs = []
        self.worker.close(30)


def _report(request: tuple[NearestFaces, np.ndarray, np.ndarray]) -> tuple[NearestFaces, NearestReport]:
    """Worker: the nearest faces of one face (`NearestFaces.report`), with the search it came from."""
    nearest, z, image = request
    one_torch_thread()
    return nearest, nearest.report(z, image)
