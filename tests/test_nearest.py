"""Nearest training faces: the distances and the held-out reference (analysis.nearest) and the
explorer's per-model search (explorer.nearest_faces), on toys with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_tiny_bundle

from latentlab.analysis.nearest import (
    COPY_QUANTILE,
    HeldOutReference,
    copy_figures,
    nearest_distances,
    nearest_neighbours,
    rms_distance,
)
from latentlab.errors import DataError
from latentlab.explorer import ExplorerSession
from latentlab.explorer.nearest_faces import NearestFaces, dataset_specs, find_training_faces

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_nearest_neighbours_match_brute_force_across_chunks():
    rng = np.random.default_rng(0)
    references, queries = rng.normal(size=(53, 7)), rng.normal(size=(9, 7))
    d, i = nearest_neighbours(queries, references, k=4, chunk=10)  # several chunks, merged
    full = np.linalg.norm(queries[:, None] - references[None], axis=2)
    np.testing.assert_array_equal(i, np.argsort(full, axis=1)[:, :4])
    np.testing.assert_allclose(d, np.sort(full, axis=1)[:, :4], rtol=1e-4, atol=1e-4)


def test_a_planted_copy_is_found_at_distance_zero_among_uint8_images():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, size=(40, 3, 8, 8), dtype=np.uint8)
    d, i = nearest_neighbours(train[17:18], train, k=2, chunk=16)
    assert i[0, 0] == 17 and d[0, 0] < 1e-3
    # uint8 images are compared as values / 255: one pixel off by 255 is a distance of 1
    one_off = train[:1].astype(np.int32)
    one_off[0, 0, 0, 0] = 0 if one_off[0, 0, 0, 0] > 127 else 255
    d, _ = nearest_neighbours(one_off.astype(np.uint8), train[:1], k=1)
    assert d[0, 0] == pytest.approx(abs(int(train[0, 0, 0, 0]) - int(one_off[0, 0, 0, 0])) / 255, abs=1e-3)


def test_nearest_neighbours_refuse_mismatched_shapes_and_empty_references():
    with pytest.raises(ValueError, match="values each"):
        nearest_neighbours(np.zeros((2, 5)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="no references"):
        nearest_neighbours(np.zeros((2, 5)), np.zeros((0, 5)))


def test_rms_distance_is_the_per_value_difference():
    # two images differing by 0.1 in every value: L2 = 0.1 * sqrt(D), RMS = 0.1
    a, b = np.zeros((1, 3, 4, 4)), np.full((1, 3, 4, 4), 0.1)
    d, _ = nearest_neighbours(a, b)
    assert rms_distance(d[0, 0], 48) == pytest.approx(0.1, rel=1e-4)


def test_reference_ratio_percentile_and_copy_threshold_on_a_toy():
    reference = HeldOutReference.of(np.arange(1, 101, dtype=float))  # 1..100, median 50.5
    assert reference.ratio(50.5) == pytest.approx(1.0)
    assert reference.ratio(10.1) == pytest.approx(0.2)
    assert reference.share_farther(10) == pytest.approx(0.90)     # 11..100 are farther
    assert reference.share_farther(0.5) == pytest.approx(1.0)
    assert reference.share_farther(100) == pytest.approx(0.0)
    assert reference.copy_threshold == pytest.approx(np.quantile(np.arange(1, 101), COPY_QUANTILE))
    assert reference.is_possible_copy(1.5) and not reference.is_possible_copy(3)
    text = reference.describe(1.5)
    assert text.startswith("0.03× the typical held-out distance") and "closer than 99 % of held-out faces" in text
    assert text.endswith("possible copy")
    assert reference.describe(50).endswith("as near as an unseen face")
    with pytest.raises(ValueError):
        HeldOutReference.of([np.nan])


def test_copy_figures_count_samples_below_the_reference_quantile():
    reference = HeldOutReference.of(np.linspace(1.0, 2.0, 101))  # 1 % quantile 1.01, median 1.5
    samples = np.array([0.1, 0.2, 1.5, 1.6, 3.0])              # two planted copies of five
    figures = copy_figures(samples, reference)
    assert figures.copy_rate == pytest.approx(0.4) and figures.count == 5
    assert figures.median_ratio == pytest.approx(1.0)


def test_memorising_samples_are_told_from_unseen_ones_end_to_end():
    """Samples that are noisy copies of training points score a high copy rate; fresh draws of the
    same distribution score about the held-out rate."""
    rng = np.random.default_rng(2)
    train, held, fresh = (rng.normal(size=(n, 20)) for n in (500, 300, 300))
    reference = HeldOutReference.of(nearest_distances(held, train))
    copies = train[:300] + 0.05 * rng.normal(size=(300, 20))
    assert copy_figures(nearest_distances(copies, train), reference).copy_rate > 0.95
    assert copy_figures(nearest_distances(fresh, train), reference).copy_rate < 0.05


@pytest.fixture(scope="module")
def tiny_session(tmp_path_factory):
    path = make_tiny_bundle(tmp_path_factory.mktemp("model"), latent_dim=6, atlas_size=60, faces=200)
    return ExplorerSession.from_checkpoint(path)


def test_search_finds_the_training_faces_and_measures_the_reference(tiny_session):
    nearest = NearestFaces(tiny_session, k=3, held_out_faces=20)
    lines = list(nearest.prepare(threads=1))
    assert "20/20" in lines[-2] and lines[-1].startswith("reference: 20 held-out reconstructions")
    assert nearest.faces.train.shape == (180, 3, 16, 16) and nearest.faces.held_out.shape == (20, 3, 16, 16)
    # atlas face 5 is training image 5: the decode of its code finds itself among the latent neighbours
    z = tiny_session.atlas_codes[5]
    report = nearest.report(z, tiny_session.decode(z)[0])
    assert report.latent_indices[0] == 5 and report.latent_distances[0] == pytest.approx(0, abs=1e-5)
    np.testing.assert_array_equal(report.latent_originals[0], nearest.faces.train[5])
    assert report.pixel_images.shape == (3, 3, 16, 16) and np.all(np.diff(report.pixel_distances) >= 0)
    assert report.verdict and "held-out reconstructions" in report.verdict and not report.notes


def test_a_training_image_shown_as_the_face_is_a_possible_copy(tiny_session):
    nearest = NearestFaces(tiny_session, k=2, held_out_faces=20)
    list(nearest.prepare(threads=1))
    image = nearest.faces.train[42]
    report = nearest.report(tiny_session.atlas_codes[0], image)
    assert report.pixel_indices[0] == 42 and report.distance == pytest.approx(0, abs=1e-3)
    assert report.copy and report.verdict.endswith("possible copy")


def test_missing_training_data_is_explained_and_latent_neighbours_still_come(tiny_session, tmp_path):
    gone = f"folder:{tmp_path}/gone"
    meta = {**tiny_session.meta, "dataset": {"spec": gone}, "atlas": {"count": 60, "data": gone}}
    session = ExplorerSession(tiny_session.model, None, meta, atlas_codes=tiny_session.atlas_codes)
    with pytest.raises(DataError, match="gone"):
        find_training_faces(session)
    nearest = NearestFaces(session, k=3)
    lines = list(nearest.prepare(threads=1))
    assert "training images not on disk" in lines[-1] and "showing decodes only" in lines[-1]
    report = nearest.report(session.atlas_codes[1], session.decode(session.atlas_codes[1])[0])
    assert report.latent_indices[0] == 1 and report.latent_originals is None and report.pixel_images is None
    assert any("showing decodes only" in note for note in report.notes)


def test_dataset_specs_add_the_recorded_absolute_path():
    session = ExplorerSession(None, None, {"atlas": {"data": "celeba:../data/c?size=64"},
                                           "dataset": {"spec": "celeba:../data/c?size=64", "path": "/abs/c"}})
    specs = dataset_specs(session)
    assert specs[0] == "celeba:../data/c?size=64" and len(specs) == 2 and "/abs/c" in specs[1]
