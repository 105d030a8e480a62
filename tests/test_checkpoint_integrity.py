"""Checkpoint integrity (issue 12): only regular files are opened, CRCs are verified, non-finite
weights are refused naming the tensor, a full disk is called a full disk, and random corruption of a
real checkpoint only ever gives a CheckpointError (property-based, Hypothesis)."""

import io
import os
import subprocess
import sys
import zipfile

import pytest
import torch
from conftest import fuzz_examples, returns_within
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import latentlab
from latentlab.checkpoints import read_checkpoint, save_model
from latentlab.checkpoints.format import read_meta
from latentlab.errors import CheckpointError, LatentLabError, SaveError
from latentlab.models import build_model


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    """A small real checkpoint (a VAE on 8x8 gray images): its bytes are what the fuzz test corrupts."""
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [1, 8, 8], "latent_dim": 2, "base_channels": 4})
    path = save_model(tmp_path_factory.mktemp("ckpt") / "small.ckpt", model, dataset={"spec": "idx:x"})
    return path, model.state_dict()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_fifo_named_like_a_checkpoint_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.ckpt"
    os.mkfifo(fifo)
    for reader in (latentlab.load, read_checkpoint, read_meta):
        with pytest.raises(CheckpointError, match=r"x\.ckpt: not a regular file \(a named pipe\)"):
            returns_within(lambda reader=reader: reader(fifo))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused_naming_it(tmp_path, small_checkpoint):
    path = tmp_path / "locked.ckpt"
    path.write_bytes(small_checkpoint[0].read_bytes())
    path.chmod(0)
    with pytest.raises(CheckpointError, match=r"locked\.ckpt: cannot read \(permission denied\)"):
        latentlab.load(path)


def test_an_unreadable_file_is_refused_naming_it_even_as_root(tmp_path, small_checkpoint, monkeypatch):
    """The same case when the tests run as root (who can read a mode-0 file): the open itself fails."""
    path = tmp_path / "locked.ckpt"
    path.write_bytes(small_checkpoint[0].read_bytes())
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(CheckpointError, match=r"locked\.ckpt: cannot read \(permission denied\)"):
        read_checkpoint(path)


def test_flipped_bytes_inside_a_weight_tensor_fail_the_checksum(tmp_path, small_checkpoint):
    source, _ = small_checkpoint
    with zipfile.ZipFile(source) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
        with archive.open(info) as member:
            member.read(1)
            start = member._fileobj.tell() - 1  # where the member's bytes lie in the file (stored, uncompressed)
    data = bytearray(source.read_bytes())
    for i in range(start, start + 32):
        data[i] ^= 0x5A
    broken = tmp_path / "flipped.ckpt"
    broken.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flipped\.ckpt: damaged file: part .* fails its checksum"):
        latentlab.load(broken)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, value):
    model = build_model("vae", {"image_shape": [1, 8, 8], "latent_dim": 2, "base_channels": 4})
    name = next(n for n, b in model.named_buffers() if n.endswith("running_var"))
    dict(model.named_buffers())[name][0] = value
    path = save_model(tmp_path / "bad.ckpt", model)
    with pytest.raises(CheckpointError, match=rf"bad\.ckpt: tensor {name} holds 1 NaN or infinite value"):
        latentlab.load(path)


def test_evaluate_exits_non_zero_on_nan_weights(tmp_path):
    model = build_model("vae", {"image_shape": [1, 8, 8], "latent_dim": 2, "base_channels": 4})
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    path = save_model(tmp_path / "nan.ckpt", model, dataset={"spec": "synthetic-faces?n=20&size=8&channels=1"})
    result = subprocess.run([sys.executable, "-m", "latentlab.evaluate", str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stdout
    assert "nan.ckpt: tensor" in result.stderr and "NaN or infinite" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_zip_that_is_not_a_checkpoint_gets_a_plain_message(tmp_path):
    path = tmp_path / "photos.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday/readme.txt", "not weights")
    with pytest.raises(CheckpointError, match=r"photos\.ckpt: not a LatentLab checkpoint \(a zip archive, but not"):
        latentlab.load(path)


def test_a_full_disk_is_reported_as_no_space_and_keeps_the_old_file(tmp_path, small_checkpoint, monkeypatch):
    path = tmp_path / "m.ckpt"
    path.write_bytes(small_checkpoint[0].read_bytes())
    model = build_model("vae", {"image_shape": [1, 8, 8], "latent_dim": 2, "base_channels": 4})

    def full_disk(obj, f, *args, **kwargs):  # what torch's zip writer raises when a write comes up short
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(SaveError, match=r"m\.ckpt: could not save the checkpoint: no space left on device"):
        save_model(path, model)
    assert path.read_bytes() == small_checkpoint[0].read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]


def test_bundled_models_pass_every_check():
    from latentlab.resources import bundled_models

    for path in bundled_models():
        read_checkpoint(path)


# ---------------------------------------------------------------- property-based: corrupted bytes

_edits = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
        st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True), st.just(0)),
        st.tuples(st.just("insert"), st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
        st.tuples(st.just("zero"), st.floats(0, 1, exclude_max=True), st.integers(1, 64)),
    ),
    min_size=1, max_size=4,
)


def _corrupt(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        if not out:
            break
        i = int(where * len(out))
        if kind == "flip":
            out[i] ^= value
        elif kind == "cut":
            del out[i:]
        elif kind == "insert":
            out[i:i] = bytes([value])
        else:
            out[i:i + value] = bytes(len(out[i:i + value]))
    return bytes(out)


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_edits)
@example(edits=[("flip", 0.9957605470642562, 1)])  # found by the fuzz: a damaged ZIP64 end record made
# zipfile.is_zipfile itself raise BadZipFile ("zipfiles that span multiple disks are not supported")
def test_corrupted_checkpoint_bytes_give_a_checkpoint_error_or_the_same_weights(tmp_path, small_checkpoint, edits):
    source, weights = small_checkpoint
    original = source.read_bytes()
    damaged = _corrupt(original, edits)
    path = tmp_path / "fuzz.ckpt"
    path.write_bytes(damaged)
    try:
        loaded = returns_within(lambda: read_checkpoint(path))
    except LatentLabError as err:
        assert "fuzz.ckpt" in str(err)
        return
    # A change the format does not depend on (zip padding, an unused header field): the weights must
    # then be exactly the saved ones, never silently different.
    assert set(loaded.state_dict) == set(weights)
    for key, value in weights.items():
        assert torch.equal(loaded.state_dict[key], value), key


def test_read_meta_of_random_bytes_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "noise.ckpt"
    path.write_bytes(io.BytesIO(os.urandom(512)).getvalue())
    with pytest.raises(CheckpointError):
        read_meta(path)
