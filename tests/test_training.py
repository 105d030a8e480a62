"""The training loop and `latentlab-train`: events, files, exact resume, stop, NaN, DDP, CLI errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import whole_and_resumed

import latentlab
from latentlab.analysis import held_out_metrics
from latentlab.checkpoints import read_checkpoint
from latentlab.data import load_dataset
from latentlab.errors import ConfigError
from latentlab.models import build_model
from latentlab.models.vae import VAE
from trainers.cli import main as cli_main
from trainers.config import TrainConfig
from trainers.events import CheckpointSaved, EpochEnd, Failed, Finished, Preview, Step
from trainers.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]
DATA = "synthetic-faces?size=16"
SMALL = {"latent_dim": 4, "base_channels": 8}


def config(out, **kw) -> TrainConfig:
    values = dict(model="vae", data=DATA, out=str(out), model_config=dict(SMALL), epochs=2, batch_size=16,
                  limit=64, eval_limit=32, preview_every=3, checkpoint_every=5, lr=1e-3)
    values.update(kw)
    return TrainConfig(**values)


def test_a_short_run_emits_events_and_writes_a_loadable_checkpoint(tmp_path, isolated_cache):
    events = list(Trainer(config(tmp_path / "run")).run())
    kinds = [type(e) for e in events]
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == list(range(1, 9))  # 64 images / 16 = 4 steps x 2 epochs
    assert {"loss", "recon", "kl", "mse"} <= set(steps[0].losses) and steps[0].images_per_sec > 0
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [0, 1]
    assert {"elbo", "recon_mse", "bits_per_dim"} <= set(epochs[-1].held_out)
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and previews[0].samples.shape == (16, 3, 16, 16) and previews[0].samples.dtype.name == "uint8"
    assert CheckpointSaved in kinds and isinstance(events[-1], Finished) and events[-1].reason == "completed"

    model = latentlab.load(tmp_path / "run" / "last.ckpt")
    meta = model.checkpoint_meta
    assert meta["dataset"]["spec"].startswith("synthetic-faces") and meta["preprocessing"]["size"] == 16
    assert meta["metrics"]["held_out"]["elbo"] == epochs[-1].held_out["elbo"]
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history if h["kind"] == "epoch"] == [0, 1]


def test_training_lowers_the_held_out_loss(tmp_path, isolated_cache):
    run = config(tmp_path / "run", epochs=4, limit=256, eval_limit=64)
    torch.manual_seed(run.seed)  # the Trainer seeds the same way before building its model
    untrained = build_model("vae", {**SMALL, "image_shape": [3, 16, 16]})
    before = held_out_metrics(untrained, load_dataset(DATA, split="test", limit=64))
    events = list(Trainer(run).run())
    held = [e.held_out for e in events if isinstance(e, EpochEnd)]
    losses = [before["loss"]] + [h["loss"] for h in held]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))  # every epoch improves
    assert held[-1]["recon_mse"] < 0.8 * before["recon_mse"]


def test_resume_matches_an_uninterrupted_run_exactly(tmp_path, isolated_cache):
    a, b = whole_and_resumed(config, tmp_path, total=7)  # crosses the epoch boundary at step 4
    exp_a = a.training["scheme"]["optimizers"][0]["state"]
    exp_b = b.training["scheme"]["optimizers"][0]["state"]
    assert all(torch.equal(exp_a[k]["exp_avg"], exp_b[k]["exp_avg"]) for k in exp_a)


def test_an_existing_run_is_not_overwritten_and_resume_needs_a_run(tmp_path, isolated_cache):
    list(Trainer(config(tmp_path / "run", max_steps=2)).run())
    with pytest.raises(ConfigError, match="already holds a run"):
        list(Trainer(config(tmp_path / "run", max_steps=2)).run())
    with pytest.raises(ConfigError, match="nothing to resume"):
        list(Trainer(config(tmp_path / "empty"), resume=True).run())


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, isolated_cache, monkeypatch):
    original = VAE.losses
    calls = {"n": 0}

    def sometimes_nan(self, x):
        terms = original(self, x)
        if self.training and torch.is_grad_enabled():  # an optimisation step, not a batch-norm calibration
            calls["n"] += 1
            if calls["n"] == 7:
                terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(VAE, "losses", sometimes_nan)
    run = tmp_path / "run"
    events = list(Trainer(config(run, checkpoint_every=5, preview_every=100)).run())
    failure = events[-1]
    assert isinstance(failure, Failed) and failure.step == 6
    assert "non-finite loss" in failure.message and str(run / "last.ckpt") in failure.message
    good = read_checkpoint(run / "last.ckpt")
    assert good.training["step"] == 5  # the periodic checkpoint before the failure, untouched
    assert all(torch.isfinite(v).all() for v in good.state_dict.values() if v.is_floating_point())


def test_cli_trains_and_reports_bad_input(tmp_path, isolated_cache, capsys):
    out = tmp_path / "cli"
    assert cli_main(["vae", "--data", "synthetic-faces", "--size", "16", "--latent", "3", "--set", "base_channels=8",
                     "--limit", "32", "--batch", "8", "--max-steps", "3", "--out", str(out), "--quiet"]) == 0
    model = latentlab.load(out / "last.ckpt")
    assert model.latent_dim == 3 and model.image_shape == (3, 16, 16)
    assert cli_main(["vae", "--data", "nosuchkind:x", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "nosuchkind" in capsys.readouterr().err
    assert cli_main(["vae", "--data", "synthetic-faces", "--set", "latent_dim=999", "--out", str(tmp_path / "y"),
                     "--quiet", "--limit", "32"]) == 2
    assert "latent_dim" in capsys.readouterr().err


def _env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "LATENTLAB_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_ctrl_c_writes_a_resumable_checkpoint(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "trainers.cli", "vae", "--data", DATA, "--latent", "4", "--set", "base_channels=8",
               "--limit", "64", "--batch", "16", "--epochs", "1000", "--preview-every", "1", "--out", str(out),
               "--quiet"]
    process = subprocess.Popen(command, env=_env(tmp_path / "cache"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    deadline = time.time() + 120
    while not (out / "preview.png").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "resume with" in stdout
    stopped_at = read_checkpoint(out / "last.ckpt").training["step"]
    assert stopped_at >= 1
    resumed = subprocess.run([sys.executable, "-m", "trainers.cli", "--resume", "--out", str(out),
                              "--max-steps", str(stopped_at + 2), "--quiet"],
                             env=_env(tmp_path / "cache"), capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert read_checkpoint(out / "last.ckpt").training["step"] == stopped_at + 2


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vae", "aae"])  # single objective, and alternating (two optimisers)
def test_the_same_command_runs_under_torchrun_with_ddp(tmp_path, model):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "trainers.cli", model, "--data", DATA, "--latent", "4", "--set", "base_channels=8", "--limit", "64",
               "--batch", "8", "--max-steps", "3", "--out", str(out), "--quiet"]
    scratch = tmp_path / "tmp"  # torchrun writes its workers' log folders there (torchelastic_*), not in /tmp
    scratch.mkdir()
    result = subprocess.run(command, env={**_env(tmp_path / "cache"), "TMPDIR": str(scratch)}, capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = read_checkpoint(out / "last.ckpt")
    assert checkpoint.training["step"] == 3
    assert checkpoint.meta["train_config"]["batch_size"] == 8
