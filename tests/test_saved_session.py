"""Saved sessions at the file level (no Qt): round trip, atomic writes, and a message naming the file
for every bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from latentlab.errors import SaveError, SessionError
from latentlab.explorer.directions import AttributeDirection
from latentlab.explorer.saved_session import (
    ChainSettings,
    CompareSettings,
    Endpoint,
    InterpolationSettings,
    MapSettings,
    ModelFile,
    PixelSettings,
    SavedSession,
    arrays_path,
    read_session,
    resolve_model,
    write_session,
)

D = 6


def full_session(model_path: str) -> SavedSession:
    rng = np.random.default_rng(0)
    code = lambda: rng.standard_normal(D).astype(np.float32)  # noqa: E731
    return SavedSession(
        model=ModelFile(model_path), latent_dim=D, z=code(), caption="dragged",
        map=MapSettings(axes="a_to_b", colour="smile", gaps=False),
        interpolation=InterpolationSettings(Endpoint(code(), "training face #3"), Endpoint(code(), "B"),
                                            mode="linear", steps=17, chain_steps=3, chain_mode="stochastic", t=0.25),
        chain=ChainSettings(chains=5, seed=42, start="current", mode="stochastic", debias=True, speed=12, fast=True,
                            pause_after=9,
                            codes=rng.standard_normal((5, D)).astype(np.float32), step=7),
        pixels=PixelSettings(visible=True, area="bottom", model="/x/pixelcnn.ckpt", count=3, seed=9, mode="cached",
                             task="complete", rows=5, known_image=rng.integers(0, 255, (1, 8, 8), dtype=np.uint8),
                             known_caption="face.png", speed=50, fast=True),
        compare=CompareSettings(open=True, models=["/m/a.ckpt", "/m/b.ckpt"], mode="path", count=6, seed=3,
                                source="p_hat", chain=True, chain_steps=4, ends="random", a=2, b=5, path_seed=8,
                                path_mode="linear", steps=12, t=0.5), tab=1,
        directions=[AttributeDirection("smile", code(), {"attribute": "smile", "method": "mean difference", "n": [40, 60]}),
                    AttributeDirection("age", code(), {})])


def assert_same(restored, original) -> None:
    """Dataclasses equal field by field, arrays by value."""
    if isinstance(original, np.ndarray):
        assert isinstance(restored, np.ndarray) and restored.dtype == original.dtype
        np.testing.assert_array_equal(restored, original)
    elif hasattr(original, "__dataclass_fields__"):
        assert type(restored) is type(original)
        for name in original.__dataclass_fields__:
            assert_same(getattr(restored, name), getattr(original, name))
    elif isinstance(original, list):
        assert len(restored) == len(original)
        for r, o in zip(restored, original):
            assert_same(r, o)
    else:
        assert restored == original


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "models" / "tiny.ckpt"
    path.parent.mkdir()
    path.write_bytes(b"not read by these tests")
    return path


def test_a_full_session_round_trips_through_the_two_files(tmp_path, model_file):
    original = full_session(str(model_file))
    written = write_session(original, tmp_path / "my")
    assert written.name == "my.llsession" and arrays_path(written).name == "my.llsession.npz"
    document = json.loads(written.read_text())
    assert document["format"] == "latentlab-session" and document["version"] == 1
    assert document["directions"][1] == {"name": "age", "vector": 1, "origin": {}}
    restored = read_session(written)
    original.model.relative = os.path.join("models", "tiny.ckpt")
    assert_same(restored, original)


def test_a_minimal_session_round_trips_with_defaults(tmp_path, model_file):
    written = write_session(SavedSession(ModelFile(str(model_file)), latent_dim=2), tmp_path / "min.llsession")
    restored = read_session(written)
    assert restored.z is None and restored.chain.codes is None and restored.directions == []
    assert restored.interpolation.a is None and restored.compare.models == []


def test_directions_round_trip_as_plain_data_with_their_origin(tmp_path, model_file):
    origin = {"attribute": "Smiling", "labels": "celeba", "counts": [512, 488], "nested": {"ok": True}}
    vector = np.linspace(-1, 1, D).astype(np.float32)
    session = SavedSession(ModelFile(str(model_file)), D, directions=[AttributeDirection("smile", vector, origin)])
    restored = read_session(write_session(session, tmp_path / "d")).directions
    assert [d.name for d in restored] == ["smile"] and restored[0].origin == origin
    np.testing.assert_array_equal(restored[0].vector, vector)
    with np.load(arrays_path(tmp_path / "d.llsession"), allow_pickle=False) as archive:
        assert archive["directions"].shape == (1, D)


def test_saving_over_a_session_keeps_the_old_one_when_the_write_fails(tmp_path, model_file, monkeypatch):
    path = write_session(full_session(str(model_file)), tmp_path / "keep")
    before = (path.read_bytes(), arrays_path(path).read_bytes())
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(SaveError, match="keep.llsession.npz.*no space left"):
        write_session(full_session(str(model_file)), path)
    assert (path.read_bytes(), arrays_path(path).read_bytes()) == before
    assert not list(tmp_path.glob(".*.part"))


def test_the_model_is_found_relative_to_the_session_when_both_moved(tmp_path, model_file):
    path = write_session(SavedSession(ModelFile(str(model_file)), D), tmp_path / "s")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "models").mkdir()
    model_file.rename(moved / "models" / "tiny.ckpt")
    path.rename(moved / path.name)
    arrays_path(path).rename(moved / arrays_path(path).name)
    session = read_session(moved / path.name)
    assert resolve_model(session, moved / path.name) == (moved / "models" / "tiny.ckpt").resolve()
    (moved / "models" / "tiny.ckpt").unlink()
    assert resolve_model(session, moved / path.name) is None


def written(tmp_path, model_file) -> os.PathLike:
    return write_session(full_session(str(model_file)), tmp_path / "bad")


def rewrite(path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def zero_direction(path) -> None:
    """Overwrite the second direction's row of the array file with zeros (a direction that points nowhere)."""
    with np.load(arrays_path(path)) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["directions"][1] = 0
    with open(arrays_path(path), "wb") as handle:
        np.savez(handle, **arrays)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_text("{\"format\": \"latentlab-session\", "), "damaged or not a LatentLab session .JSON error"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe"), "not UTF-8 text"),
    (lambda p: p.write_text("[1, 2]"), "is not a LatentLab session"),
    (lambda p: rewrite(p, lambda d: d.update(format="something-else")),
     "is not a LatentLab session .format 'something-else'"),
    (lambda p: rewrite(p, lambda d: d.update(version=2)),
     "newer LatentLab .session format version 2; this version reads up to 1"),
    (lambda p: rewrite(p, lambda d: d.update(version="1")), "no valid format version"),
    (lambda p: rewrite(p, lambda d: d["session"]["chain"].update(step="seven")),
     "session.chain.step must be an integer, got 'seven'"),
    (lambda p: rewrite(p, lambda d: d["session"]["interpolation"].update(t=float("nan"))),
     "session.interpolation.t must be a finite number"),
    (lambda p: rewrite(p, lambda d: d["session"]["map"].update(zoom=3)), "session.map has unknown entries: zoom"),
    (lambda p: rewrite(p, lambda d: d["session"].update(z={"array": "nothing"})), "refers to array 'nothing'"),
    (lambda p: rewrite(p, lambda d: d["session"].pop("latent_dim")), "session.latent_dim is missing"),
    (lambda p: rewrite(p, lambda d: d["arrays"].update(file="../../etc/passwd")), "must be a name beside it"),
    (lambda p: rewrite(p, lambda d: d["arrays"].update(id="0" * 32)), "belongs to another save"),
    (lambda p: rewrite(p, lambda d: d["session"].update(latent_dim=4)), "do not fit the session's own record"),
    (lambda p: rewrite(p, lambda d: d["directions"][0].update(vector=9)), r"directions\[0\].vector must be a row"),
    (lambda p: rewrite(p, lambda d: d["directions"][0].update(name="  ")), r"directions\[0\]: a direction needs a name"),
    (lambda p: zero_direction(p), r"directions\[1\]: direction 'age': the vector is zero"),
    (lambda p: arrays_path(p).unlink(), "its array file .*bad.llsession.npz is missing"),
    (lambda p: arrays_path(p).write_bytes(b"PK\x03\x04 truncated"), "array file is damaged or not a NumPy archive"),
    (lambda p: p.unlink(), "no such file"),
])
def test_every_bad_input_is_answered_with_a_message_naming_the_file(tmp_path, model_file, damage, message):
    path = written(tmp_path, model_file)
    damage(path)
    with pytest.raises(SessionError, match=message) as caught:
        read_session(path)
    assert "bad.llsession" in str(caught.value)


def test_an_array_file_holding_pickled_objects_is_refused_without_running_them(tmp_path, model_file):
    path = written(tmp_path, model_file)
    with np.load(arrays_path(path)) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["session.z"] = np.array([object()], dtype=object)
    with open(arrays_path(path), "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(SessionError, match="bad.llsession.npz: the session's array file is damaged"):
        read_session(path)


def test_codes_that_do_not_fit_the_models_latent_size_are_named(tmp_path, model_file):
    session = read_session(written(tmp_path, model_file))
    with pytest.raises(SessionError, match=r"bad.llsession: the session's codes do not fit tiny's latent space of "
                                           r"8 values: the handle's code z has shape \[6\].*chains' codes has shape "
                                           r"\[5, 6\].*direction 'age'"):
        session.check_latent_dim(8, tmp_path / "bad.llsession", "tiny")
    session.check_latent_dim(D, tmp_path / "bad.llsession")  # fits: no error
