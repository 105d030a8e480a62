"""Attribute directions without Qt: the two estimates on toys with a known answer, label groups,
dict and file round trips, and every bad file refused with a message naming it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentlab.explorer.directions import (
    DEFAULT_METHOD,
    METHODS,
    AttributeDirection,
    DirectionError,
    classifier_direction,
    direction_from_groups,
    direction_from_label,
    direction_projection,
    group_mean_direction,
    in_group_b,
    label_groups,
    load_directions,
    save_directions,
    unique_name,
)


def _toy(rng, n=400, d=8, shift=3.0):
    """Two groups differing by `shift` along a known unit direction `u`, isotropic noise elsewhere."""
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    a = rng.normal(size=(n, d))
    b = rng.normal(size=(n, d)) + shift * u
    return a, b, u


def test_group_mean_direction_recovers_the_known_direction():
    a, b, u = _toy(np.random.default_rng(0))
    v = group_mean_direction(a, b)
    assert v @ u / np.linalg.norm(v) > 0.98  # points from A to B
    assert np.linalg.norm(v) == pytest.approx(3.0, abs=0.3)  # keeps the length of the shift


def test_classifier_normal_recovers_the_direction_and_discounts_correlated_noise():
    rng = np.random.default_rng(1)
    a, b, u = _toy(rng)
    w = classifier_direction(a, b)
    assert w @ u / np.linalg.norm(w) > 0.98
    # A nuisance axis that varies a lot and is correlated with group membership: the mean difference
    # picks part of it up, the classifier's normal (≈ Σ⁻¹ Δμ) much less.
    n = 2000
    labels = rng.integers(0, 2, n)
    signal = labels * 1.0 + 0.3 * rng.normal(size=n)
    nuisance = 10.0 * rng.normal(size=n) + 3.0 * labels  # shifted by B, but buried in its own spread
    codes = np.stack([signal, nuisance], axis=1)
    mean_dir = group_mean_direction(codes[labels == 0], codes[labels == 1])
    clf_dir = classifier_direction(codes[labels == 0], codes[labels == 1])
    angle = lambda v: abs(v[1]) / np.linalg.norm(v)  # the share of the nuisance axis
    assert angle(clf_dir) < 0.1 < angle(mean_dir)


def test_methods_and_default():
    assert DEFAULT_METHOD in METHODS and set(METHODS) == {"classifier", "group-mean"}


def test_label_groups_binary_categorical_and_continuous():
    a, b, text = label_groups(np.array([0, 1, 1, 0, 1]))
    assert list(a) == [0, 3] and list(b) == [1, 2, 4] and "1" in text
    a, b, _ = label_groups(np.array([0, 2, 1, 2, 3]), category=2)
    assert list(b) == [1, 3] and list(a) == [0, 2, 4]
    with pytest.raises(DirectionError, match="choose the one"):
        label_groups(np.array([0, 2, 1, 2, 3]))
    a, b, _ = label_groups(np.array([0.1, 0.9, 0.5, 0.2, 0.7], dtype=np.float32))
    assert list(a) == [0, 3] and list(b) == [1, 4]  # the median face is in neither
    a, b, _ = label_groups(np.array([0.0, 0.0, 0.0, 0.4, 0.8]))  # half the mouths closed
    assert list(a) == [0, 1, 2] and list(b) == [3, 4]
    with pytest.raises(DirectionError, match="same value"):
        label_groups(np.array([1, 1, 1]))
    reference = np.array([0.1, 0.9, 0.5, 0.2, 0.7])
    assert list(in_group_b(np.array([0.4, 0.6]), reference)) == [False, True]
    assert list(in_group_b(np.array([0, 1, 1]), np.array([0, 1]))) == [False, True, True]


def test_directions_from_labels_and_from_groups_record_their_origin():
    rng = np.random.default_rng(2)
    a, b, u = _toy(rng, n=100)
    codes = np.concatenate([a, b])
    labels = np.array([0] * 100 + [1] * 100)
    direction = direction_from_label("has it", "group-mean", codes, labels, "glasses", origin={"model": "toy"})
    assert direction.origin["model"] == "toy" and direction.origin["label"] == "glasses"
    assert direction.origin["group_sizes"] == [100, 100] and direction.unit @ u > 0.95
    picked = direction_from_groups("picked", "classifier", codes, [0, 1, 2, 3], [100, 101, 102, 103])
    assert picked.origin["group_a"] == [0, 1, 2, 3] and picked.origin["method"] == "classifier"
    with pytest.raises(DirectionError, match="both groups"):
        direction_from_groups("x", "classifier", codes, [0], [0])
    with pytest.raises(DirectionError, match="at least one face"):
        direction_from_groups("x", "group-mean", codes, [], [1])


def test_moving_along_a_direction_uses_its_unit_vector():
    direction = AttributeDirection("d", np.array([3.0, 4.0]), {})
    assert np.allclose(direction.unit, [0.6, 0.8])
    assert np.allclose(direction.moved(np.zeros(2), 2.0), [1.2, 1.6])
    with pytest.raises(DirectionError, match="2 dimensions, the code 3"):
        direction.moved(np.zeros(3), 1.0)


def test_to_dict_from_dict_round_trip_through_json():
    direction = AttributeDirection("smile", np.array([0.5, -1.25, 2.0]), {"model": "vae", "group_a": [1, 2]})
    data = json.loads(json.dumps(direction.to_dict()))
    assert data["vector"] == [0.5, -1.25, 2.0]
    back = AttributeDirection.from_dict(data)
    assert back.name == "smile" and np.array_equal(back.vector, direction.vector) and back.origin == direction.origin


@pytest.mark.parametrize("data, message", [
    ([1, 2], "expected a mapping"),
    ({"vector": [1.0]}, "missing name"),
    ({"name": "x", "vector": "abc"}, "list of numbers"),
    ({"name": "x", "vector": [1.0, True]}, "list of numbers"),
    ({"name": "", "vector": [1.0]}, "needs a name"),
    ({"name": "x", "vector": []}, "non-empty"),
    ({"name": "x", "vector": [0.0, 0.0]}, "zero"),
    ({"name": "x", "vector": [1.0], "origin": [1]}, "origin must be a mapping"),
])
def test_from_dict_refuses_bad_entries_naming_them(data, message):
    with pytest.raises(DirectionError, match=message) as caught:
        AttributeDirection.from_dict(data, where="entry 3")
    assert str(caught.value).startswith("entry 3")


def test_non_finite_vectors_are_refused():
    with pytest.raises(DirectionError, match="NaN or infinite"):
        AttributeDirection("x", np.array([1.0, np.nan]))


def test_files_round_trip_and_bad_files_name_the_file(tmp_path):
    directions = [AttributeDirection("a", np.array([1.0, 0.0, 0.0]), {"method": "classifier"}),
                  AttributeDirection("b", np.array([0.0, 2.0, 0.0]), {})]
    path = save_directions(tmp_path / "dirs.json", directions)
    back = load_directions(path, latent_dim=3)
    assert [d.name for d in back] == ["a", "b"] and np.array_equal(back[1].vector, [0.0, 2.0, 0.0])
    single = tmp_path / "one.json"
    single.write_text(json.dumps(directions[0].to_dict()))
    assert load_directions(single)[0].name == "a"

    cases = {
        "missing.json": (None, "no such file"),
        "garbage.json": ("{not json", "invalid JSON"),
        "binary.json": (b"\xff\xfe\x00\x81", "not text"),
        "other.json": (json.dumps({"hello": 1}), "not a directions file"),
        "newer.json": (json.dumps({"format": "latentlab-directions", "version": 99, "directions": []}), "newer"),
        "badentry.json": (json.dumps({"format": "latentlab-directions", "version": 1,
                                      "directions": [{"name": "ok", "vector": [1, 0, 0]}, {"name": "bad"}]}),
                          "direction 2: missing vector"),
    }
    for name, (content, message) in cases.items():
        target = tmp_path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            target.write_text(content)
        with pytest.raises(DirectionError, match=message) as caught:
            load_directions(target)
        assert str(target) in str(caught.value)
    with pytest.raises(DirectionError, match="3 dimensions, this model's latent space 4") as caught:
        load_directions(path, latent_dim=4)
    assert str(path) in str(caught.value)
    with pytest.raises(DirectionError, match="is a folder"):
        load_directions(tmp_path)


def test_a_failed_save_says_so_and_changes_nothing(tmp_path):
    folder = tmp_path / "in the way"
    (folder / "kept").mkdir(parents=True)
    with pytest.raises(DirectionError, match="cannot be written") as caught:
        save_directions(folder, [AttributeDirection("a", np.array([1.0]), {})])
    assert str(folder) in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["in the way"] and (folder / "kept").is_dir()


def test_direction_as_a_map_axis_projects_on_it():
    rng = np.random.default_rng(3)
    codes = rng.normal(size=(50, 4))
    direction = AttributeDirection("d", np.array([0.0, 2.0, 0.0, 0.0]), {})
    projection = direction_projection(direction, codes, np.array([1.0, 1.0, 0.0, 0.0]))
    xy = projection.project(codes)
    assert np.allclose(xy[:, 0], codes[:, 1] - codes[:, 1].mean())
    assert np.allclose(xy[:, 1], codes[:, 0] - codes[:, 0].mean())  # y: the part orthogonal to x
    assert "'d'" in projection.labels[0]
    with pytest.raises(DirectionError, match="parallel"):
        direction_projection(direction, codes, np.array([0.0, 1.0, 0.0, 0.0]))


def test_unique_name():
    assert unique_name("smile", []) == "smile"
    assert unique_name("smile", ["smile", "smile (2)"]) == "smile (3)"
