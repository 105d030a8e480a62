"""Checkpoints: round trip, half storage, atomic writes, and refusal of everything that is not ours."""

import os
import pickle

import pytest
import torch

import latentlab
from latentlab.checkpoints import Checkpoint, read_checkpoint, save_model, write_checkpoint
from latentlab.errors import CheckpointError
from latentlab.models import build_model


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("vae", {"image_shape": [1, 28, 28], "latent_dim": 6, "base_channels": 8})


def test_round_trip_gives_an_eval_model_with_identical_outputs(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model, dataset={"spec": "idx:x"}, metrics={"mse": 0.01})
    loaded = latentlab.load(path)
    assert not loaded.training and type(loaded) is type(model)
    assert loaded.checkpoint_meta["dataset"] == {"spec": "idx:x"}
    assert loaded.checkpoint_meta["versions"]["torch"] == torch.__version__
    model.eval()
    z = torch.randn(3, 6)
    assert torch.equal(loaded.decode(z).mean, model.decode(z).mean)


def test_half_storage_is_smaller_and_close(tmp_path, model):
    full = save_model(tmp_path / "f.ckpt", model)
    half = save_model(tmp_path / "h.ckpt", model, half=True)
    assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
    loaded = latentlab.load(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    model.eval()
    z = torch.randn(3, 6)
    assert torch.allclose(loaded.decode(z).mean, model.decode(z).mean, atol=5e-3)


def test_failed_write_keeps_the_previous_file(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model)
    before = path.read_bytes()
    with pytest.raises(TypeError):  # metadata that is not JSON-able fails before touching the file
        save_model(path, model, extra=object())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]  # no temporary files left behind


def test_truncated_file_is_refused(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        (tmp_path / "cut.ckpt").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=r"cut\.ckpt.*(damaged|truncated)"):
            latentlab.load(tmp_path / "cut.ckpt")


def test_pickle_carrying_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name, writer in (("evil.ckpt", lambda f: torch.save({"format": "latentlab-checkpoint", "x": Evil()}, f)),
                         ("evil.pkl", lambda f: pickle.dump(Evil(), f))):
        with open(tmp_path / name, "wb") as handle:
            writer(handle)
        with pytest.raises(CheckpointError, match=rf"{name}.*refused"):
            latentlab.load(tmp_path / name)
    assert not marker.exists()


def test_other_files_are_refused_with_a_reason(tmp_path, model):
    (tmp_path / "notes.txt").write_text("hello")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    cases = {
        tmp_path / "missing.ckpt": "no such file",
        tmp_path / "notes.txt": "not a LatentLab checkpoint",
        tmp_path / "plain.pt": "not a LatentLab checkpoint",
        tmp_path: "folder",
    }
    for path, reason in cases.items():
        with pytest.raises(CheckpointError, match=reason) as err:
            latentlab.load(path)
        assert str(path) in str(err.value)


def test_weights_of_another_shape_or_model_are_refused(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model)
    checkpoint = read_checkpoint(path)
    checkpoint.meta["config"]["latent_dim"] = 7  # config says 7, weights are for 6
    write_checkpoint(tmp_path / "shape.ckpt", checkpoint)
    with pytest.raises(CheckpointError, match=r"shape\.ckpt.*do not fit model 'vae'"):
        latentlab.load(tmp_path / "shape.ckpt")
    checkpoint.meta.update(model="ae", config={"image_shape": [1, 28, 28], "latent_dim": 6, "base_channels": 8})
    write_checkpoint(tmp_path / "other.ckpt", checkpoint)
    with pytest.raises(CheckpointError, match=r"other\.ckpt.*do not fit model 'ae'"):
        latentlab.load(tmp_path / "other.ckpt")
    checkpoint.meta["model"] = "nonexistent"
    write_checkpoint(tmp_path / "unknown.ckpt", checkpoint)
    with pytest.raises(CheckpointError, match=r"unknown\.ckpt.*unknown model"):
        latentlab.load(tmp_path / "unknown.ckpt")


def test_newer_format_is_refused(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "future.ckpt")
    with pytest.raises(CheckpointError, match="newer"):
        latentlab.load(tmp_path / "future.ckpt")


def test_checkpoint_dataclass_exposes_model_name(tmp_path, model):
    path = save_model(tmp_path / "m.ckpt", model)
    assert read_checkpoint(path).model_name == "vae"
    assert isinstance(read_checkpoint(path), Checkpoint)


def test_bundle_keeps_weights_drops_training_state_and_adds_the_atlas(tmp_path, isolated_cache):
    from latentlab.bundle import bundle
    from trainers.config import TrainConfig
    from trainers.loop import Trainer

    run = TrainConfig(model="vae", data="synthetic-faces?size=16", out=str(tmp_path / "run"), batch_size=8,
                      model_config={"latent_dim": 5, "base_channels": 8}, limit=40, max_steps=2, eval_limit=8)
    list(Trainer(run).run())
    path = bundle(tmp_path / "run" / "last.ckpt", tmp_path / "small.ckpt", atlas_size=30)
    bundled = read_checkpoint(path)
    assert bundled.training is None and bundled.meta["storage_dtype"] == "float16"
    assert bundled.extras["atlas_codes"].shape == (30, 5)
    assert bundled.extras["atlas_label:smile"].shape == (30,)  # synthetic faces carry their factors
    assert os.path.getsize(path) < 0.6 * os.path.getsize(tmp_path / "run" / "last.ckpt")
    model = latentlab.load(path)
    first = latentlab.load(tmp_path / "run" / "last.ckpt")
    from latentlab.data import load_dataset
    x = load_dataset("synthetic-faces?size=16", limit=30).batch(slice(0, 30))
    assert torch.allclose(model.encode(x).mean, bundled.extras["atlas_codes"], atol=2e-2)
    assert torch.allclose(first.encode(x).mean, model.encode(x).mean, atol=2e-2)


def test_bundle_with_atlas_0_writes_weights_only_and_reads_no_dataset(tmp_path, model, capsys):
    from latentlab.bundle import main

    # No dataset is recorded, so any attempt to encode an atlas would fail: --atlas 0 must not try.
    source = save_model(tmp_path / "run.ckpt", model, training={"epoch": 3}, history=[{"loss": 1.0}])
    assert main([str(source), "--out", str(tmp_path / "small.ckpt"), "--atlas", "0"]) == 0
    assert "wrote" in capsys.readouterr().out
    bundled = read_checkpoint(tmp_path / "small.ckpt")
    assert bundled.extras == {} and "atlas" not in bundled.meta
    assert bundled.training is None and bundled.meta["storage_dtype"] == "float16"
    assert bundled.meta["history"] == [{"loss": 1.0}]
    loaded = latentlab.load(tmp_path / "small.ckpt")
    model.eval()
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(loaded.encode(x).mean, model.encode(x).mean, atol=2e-2)
    assert main([str(source), "--out", str(tmp_path / "other.ckpt")]) == 2  # the default still needs data
    assert "no dataset recorded" in capsys.readouterr().err

def test_written_files_get_normal_permissions(tmp_path, model):
    from latentlab import fileio

    path = save_model(tmp_path / "m.ckpt", model)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~fileio._UMASK


def test_a_bundle_leaves_out_the_discriminator_and_loads_strictly_otherwise(tmp_path, isolated_cache):
    from latentlab.bundle import bundle

    torch.manual_seed(0)
    model = build_model("ali", {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8,
                                "disc_hidden": 16}).eval()
    source = save_model(tmp_path / "ali.ckpt", model, dataset={"spec": "synthetic-faces?size=16&n=40"})
    small = bundle(source, tmp_path / "small.ckpt", atlas_size=20)
    stored = read_checkpoint(small)
    assert stored.meta["omitted_modules"] == ["discriminator"]
    assert not any(k.startswith("discriminator.") for k in stored.state_dict)
    loaded = latentlab.load(small)
    z = torch.randn(3, 4)
    assert torch.allclose(loaded.decode(z).mean, model.decode(z).mean, atol=1e-2)
    # only the named modules may be missing: a bundle that also lacks part of the generator is refused
    broken = {k: v for k, v in stored.state_dict.items() if not k.startswith("generator.project")}
    write_checkpoint(tmp_path / "broken.ckpt", Checkpoint(meta=stored.meta, state_dict=broken))
    with pytest.raises(CheckpointError, match="generator.project"):
        latentlab.load(tmp_path / "broken.ckpt")


def test_held_out_metrics_of_a_bundle_without_its_discriminator_report_only_reconstruction(tmp_path, isolated_cache):
    from latentlab.analysis.metrics import held_out_metrics
    from latentlab.bundle import bundle
    from latentlab.data import load_dataset

    torch.manual_seed(0)
    model = build_model("ali", {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8,
                                "disc_hidden": 16}).eval()
    source = save_model(tmp_path / "ali.ckpt", model, dataset={"spec": "synthetic-faces?size=16&n=40"})
    data = load_dataset("synthetic-faces?size=16&n=40", split="test")
    assert "d_loss" in held_out_metrics(latentlab.load(source), data)
    assert set(held_out_metrics(latentlab.load(bundle(source, tmp_path / "b.ckpt", atlas_size=10)), data)) == {"recon_mse"}
