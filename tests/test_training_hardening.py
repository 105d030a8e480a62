"""Training faults answered clearly (issue 12): bad devices, output folders that cannot be written,
saves that fail mid-run (the model survives in memory), stale temporary files, --resume with an
unreadable or conflicting run, --epochs 0, non-finite settings and weights, unreadable images; CLI
options fuzzed with Hypothesis (exit 0 or 2 with one line, never a traceback)."""

import errno
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import latentlab
from latentlab.checkpoints import read_checkpoint
from trainers import cli
from trainers.cli import main as cli_main
from trainers.config import TrainConfig
from trainers.events import CheckpointSaved, Failed, Finished, Step
from trainers.loop import Trainer

pytestmark = pytest.mark.usefixtures("isolated_cache", "one_torch_thread")

DATA = "synthetic-faces?size=16&n=200"
SMALL = {"latent_dim": 4, "base_channels": 8}


def config(out, **kw) -> TrainConfig:
    values = dict(model="vae", data=DATA, out=str(out), model_config=dict(SMALL), epochs=1, batch_size=16,
                  limit=64, eval_limit=16, preview_every=100, checkpoint_every=2, lr=1e-3)
    values.update(kw)
    return TrainConfig(**values)


def train_cli(out, *extra) -> list[str]:
    return ["vae", "--data", DATA, "--latent", "4", "--set", "base_channels=8", "--batch", "16", "--limit", "64",
            "--eval-limit", "16", "--out", str(out), "--quiet", *extra]


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("latentlab-train: error:")]
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------- devices


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where CUDA is not available")
def test_device_cuda_without_cuda_is_bad_input(tmp_path, capsys):
    assert cli_main(train_cli(tmp_path / "run", "--device", "cuda")) == 2
    line = error_line(capsys)
    assert "device 'cuda': " in line and ("no CUDA support" in line or "no CUDA GPU" in line)
    assert line.endswith("use cpu or auto")
    assert not (tmp_path / "run").exists()


def test_a_bogus_device_is_bad_input(tmp_path, capsys):
    assert cli_main(train_cli(tmp_path / "run", "--device", "bogus")) == 2
    assert "device 'bogus': not a device name (use auto, cpu, cuda or cuda:N)" in error_line(capsys)


# ---------------------------------------------------------------- output folders


def test_out_that_is_a_file_is_refused_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "taken").write_text("a file")
    monkeypatch.setattr("trainers.loop.load_dataset", lambda *a, **k: pytest.fail("data loaded before the check"))
    assert cli_main(train_cli(tmp_path / "taken")) == 2
    assert f"{tmp_path / 'taken'}: is a file, not a folder" in error_line(capsys)


def test_out_under_a_file_is_refused_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "taken").write_text("a file")
    monkeypatch.setattr("trainers.loop.load_dataset", lambda *a, **k: pytest.fail("data loaded before the check"))
    assert cli_main(train_cli(tmp_path / "taken" / "run")) == 2
    assert f"cannot be created because {tmp_path / 'taken'} is a file" in error_line(capsys)


def test_a_read_only_out_is_refused_before_training(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real_mkstemp = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):  # what a read-only file system answers (root ignores chmod)
        if dir is not None and Path(dir) == out:
            raise OSError(errno.EROFS, "Read-only file system", str(out))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr("trainers.loop.load_dataset", lambda *a, **k: pytest.fail("data loaded before the check"))
    assert cli_main(train_cli(out)) == 2
    assert f"{out}: cannot write the output folder (read-only file system)" in error_line(capsys)


def _fail_saves_from(monkeypatch, call: int, error: BaseException) -> None:
    """Make the `call`-th and later torch.save calls fail as a full disk would."""
    real_save, calls = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        if calls[0] >= call:
            raise error
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)


def test_a_full_disk_mid_run_keeps_the_checkpoint_and_the_model(tmp_path, monkeypatch):
    _fail_saves_from(monkeypatch, 2, RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 8 vs 0"))
    trainer = Trainer(config(tmp_path / "run"))
    events = list(trainer.run())
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.step == 4
    assert "last.ckpt: could not save the checkpoint: no space left on device" in failed.message
    assert f"the previous checkpoint {tmp_path / 'run' / 'last.ckpt'} is kept" in failed.message
    assert "still in memory" in failed.message
    assert read_checkpoint(tmp_path / "run" / "last.ckpt").training["step"] == 2
    assert not list((tmp_path / "run").glob(".*.part"))
    assert trainer.unsaved
    monkeypatch.undo()
    saved = trainer.save_to(tmp_path / "elsewhere")
    assert read_checkpoint(saved).training["step"] == 4 and not trainer.unsaved
    resumed = list(Trainer(config(tmp_path / "elsewhere", max_steps=6, epochs=2), resume=True).run())
    assert [e.step for e in resumed if isinstance(e, Step)] == [5, 6]


def test_the_cli_saves_a_failed_run_elsewhere_and_says_how_to_continue(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    real_save = torch.save

    def save(obj, f, *args, **kwargs):  # the run's own folder is full; the temporary folder is not
        if str(tmp_path / "run") in str(f) and obj.get("training", {}).get("step") == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    assert cli_main(train_cli(tmp_path / "run", "--epochs", "1", "--checkpoint-every", "2")) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no space left on device" in err
    rescue = next((tmp_path / "tmp").glob("latentlab-rescue-run-*"))
    assert f"saved to {rescue / 'last.ckpt'} instead; continue with: latentlab-train --resume --out {rescue}" in err
    assert read_checkpoint(rescue / "last.ckpt").training["step"] == 4


def test_stale_part_files_are_removed_on_start_and_save(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    stale = [run / ".last.ckpt.abc123.part", run / ".history.jsonl.xyz.part"]
    for path in stale:
        path.write_bytes(b"left by a kill -9")
    keep = run / "notes.part"
    keep.write_text("not ours")
    list(Trainer(config(run, max_steps=1)).run())
    assert not any(p.exists() for p in stale) and keep.exists()


# ---------------------------------------------------------------- resume


@pytest.fixture
def short_run(tmp_path):
    out = tmp_path / "vae-run"
    assert cli_main(train_cli(out, "--max-steps", "2")) == 0
    return out


def test_resume_with_an_unreadable_checkpoint_is_a_clear_message(short_run, capsys, monkeypatch):
    capsys.readouterr()
    path = short_run / "last.ckpt"
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    assert cli_main(["--resume", "--out", str(short_run), "--quiet"]) == 2
    assert f"{path}: cannot read (permission denied)" in error_line(capsys)


@pytest.mark.parametrize("argv, message", [
    (["ae"], "this run was trained with model vae; --resume cannot change it to ae"),
    (["--data", "synthetic-faces?size=32&n=200"], "trained with --data synthetic-faces?n=200&size=16"),
    (["--latent", "8"], "trained with --latent 4; --resume cannot change it to 8"),
    (["--batch", "32"], "trained with --batch 16; --resume cannot change it to 32"),
    (["--set", "base_channels=16"], "trained with --set base_channels 8"),
])
def test_resume_refuses_a_conflicting_setting_naming_the_stored_one(short_run, capsys, argv, message):
    capsys.readouterr()
    model = [argv[0]] if not argv[0].startswith("-") else []
    rest = argv[1:] if model else argv
    assert cli_main([*model, "--resume", "--out", str(short_run), "--quiet", *rest]) == 2
    line = error_line(capsys)
    assert message in line and "--epochs, --max-steps" in line
    assert read_checkpoint(short_run / "last.ckpt").training["step"] == 2


def test_resume_accepts_the_same_values_and_a_longer_run(short_run, capsys):
    assert cli_main(["vae", "--resume", "--out", str(short_run), "--quiet", "--data", DATA, "--latent", "4",
                     "--max-steps", "3"]) == 0
    assert read_checkpoint(short_run / "last.ckpt").training["step"] == 3


def test_resume_may_change_the_learning_rate(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main(train_cli(out, "--max-steps", "2", "--lr", "0.001")) == 0
    capsys.readouterr()
    assert cli_main(["--resume", "--out", str(out), "--quiet", "--lr", "0.0001", "--max-steps", "3"]) == 0
    assert "note: learning rate 0.001 -> 0.0001 from step 2" in capsys.readouterr().out
    stored = read_checkpoint(out / "last.ckpt")
    group = stored.training["scheme"]["optimizers"][0]["param_groups"][0]
    assert group["lr"] == pytest.approx(1e-4) and group["initial_lr"] == pytest.approx(1e-4)
    assert stored.meta["train_config"]["lr"] == pytest.approx(1e-4)


def test_a_new_learning_rate_on_resume_scales_a_cosine_schedule(tmp_path):
    """The schedule carries on from where it was, at the new rate: lr(t) = lr' (1 + cos(pi t / T)) / 2."""
    import math

    run = tmp_path / "run"
    first = Trainer(config(run, lr_schedule="cosine", epochs=2, checkpoint_every=100))  # 8 steps: T = 8
    for event in first.run():
        if isinstance(event, Step) and event.step == 2:
            first.request_stop()
    second = Trainer(config(run, lr_schedule="cosine", epochs=2, checkpoint_every=100, lr=1e-4), resume=True)
    for event in second.run():
        if isinstance(event, Step) and event.step == 3:
            second.request_stop()
    group = read_checkpoint(run / "last.ckpt").training["scheme"]["optimizers"][0]["param_groups"][0]
    assert group["lr"] == pytest.approx(1e-4 * (1 + math.cos(math.pi * 3 / 8)) / 2, rel=1e-6)


def test_help_lists_what_may_change_on_resume(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "with --resume, only these may change: --epochs, --max-steps, --lr, --device" in text


# ---------------------------------------------------------------- settings


def test_epochs_zero_is_refused(tmp_path, capsys):
    assert cli_main(train_cli(tmp_path / "run", "--epochs", "0")) == 2
    assert "epochs must be >= 1, got 0" in error_line(capsys)


def test_a_nan_setting_is_blamed_on_the_setting(tmp_path, capsys):
    assert cli_main(train_cli(tmp_path / "run", "--set", "beta=nan")) == 2
    assert "setting beta='nan' must be a finite number" in error_line(capsys)


def test_image_shape_in_set_is_refused_not_dropped(tmp_path, capsys):
    assert cli_main(train_cli(tmp_path / "run", "--set", "image_shape=[1,2]")) == 2
    assert "--set image_shape=[1,2]: the image shape comes from the data; use --size and --channels" in \
        error_line(capsys)


def test_train_config_from_dict_refuses_an_unknown_key_as_model_configs_do():
    from latentlab.errors import ConfigError
    from latentlab.models import config_from_dict

    stored = config("runs/x").to_dict()
    assert TrainConfig.from_dict(stored) == config("runs/x")  # the round trip (betas: list -> tuple)
    with pytest.raises(ConfigError, match=r"training config has no setting warmup_steps; settings: .*batch_size"):
        TrainConfig.from_dict({**stored, "warmup_steps": 10})
    with pytest.raises(ConfigError, match="has no setting warmup_steps"):  # the model configs' rule
        config_from_dict("vae", {"warmup_steps": 10})
    with pytest.raises(ConfigError, match="training config lacks the setting model"):
        TrainConfig.from_dict({k: v for k, v in stored.items() if k != "model"})


def test_resume_names_an_unknown_key_of_the_stored_training_config(short_run, capsys):
    from latentlab.checkpoints import write_checkpoint

    path = short_run / "last.ckpt"
    checkpoint = read_checkpoint(path)
    checkpoint.meta["train_config"]["warmup_steps"] = 10
    write_checkpoint(path, checkpoint)
    capsys.readouterr()
    assert cli_main(["--resume", "--out", str(short_run), "--quiet"]) == 2
    assert "training config has no setting warmup_steps" in error_line(capsys)


def test_the_cli_takes_its_defaults_from_train_config(tmp_path, capsys):
    defaults = TrainConfig.defaults()
    assert cli.DEFAULTS == defaults
    assert set(defaults) == {f for f in TrainConfig.__dataclass_fields__} - {"model", "data", "out"}
    made = cli.config_from_args(cli.build_parser().parse_args(["vae", "--data", DATA, "--out", str(tmp_path)]))
    assert {name: getattr(made, name) for name in defaults if name != "model_config"} == \
        {name: value for name, value in defaults.items() if name != "model_config"}
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option, name in (("--epochs", "epochs"), ("--batch", "batch_size"), ("--seed", "seed"),
                         ("--checkpoint-every", "checkpoint_every"), ("--preview-every", "preview_every"),
                         ("--eval-limit", "eval_limit"), ("--device", "device")):
        shown = text[text.rindex(f"{option} {option.lstrip('-').replace('-', '_').upper()}"):]
        assert f"(default {defaults[name]})" in shown[:120], option
    assert f"(default {defaults['lr']:g})" in text and "(default 0.5 0.999)" in text


# ---------------------------------------------------------------- non-finite weights


def test_weights_turning_non_finite_stop_the_run_and_keep_the_last_good_checkpoint(tmp_path, monkeypatch):
    """What --lr 1e6 did: batch-norm's running_var became inf, the run said "done" and the model decoded
    blank images. Here the recalibration at the epoch end produces the inf."""
    import trainers.loop as loop

    real = loop.recalibrate_batchnorm

    def exploding(model, *args, **kwargs):
        done = real(model, *args, **kwargs)
        next(b for n, b in model.named_buffers() if n.endswith("running_var")).fill_(float("inf"))
        return done

    monkeypatch.setattr(loop, "recalibrate_batchnorm", exploding)
    run = tmp_path / "run"
    events = list(Trainer(config(run)).run())
    failed = events[-1]
    assert isinstance(failed, Failed) and not any(isinstance(e, Finished) for e in events)
    assert "running_var holds NaN or infinite values after the batch-norm recalibration" in failed.message
    assert f"the last good checkpoint is {run / 'last.ckpt'}, left as it was" in failed.message
    assert read_checkpoint(run / "last.ckpt").training["step"] == 2  # from before the epoch end
    latentlab.load(run / "last.ckpt")


def test_the_cli_exits_1_when_weights_become_non_finite(tmp_path, capsys, monkeypatch):
    import trainers.loop as loop

    real = loop.recalibrate_batchnorm

    def exploding(model, *args, **kwargs):
        done = real(model, *args, **kwargs)
        next(model.parameters()).data.fill_(float("nan"))
        return done

    monkeypatch.setattr(loop, "recalibrate_batchnorm", exploding)
    assert cli_main(train_cli(tmp_path / "run", "--max-steps", "3")) == 1
    assert "holds NaN or infinite values" in error_line(capsys)


# ---------------------------------------------------------------- unreadable images


def _photo_folder(folder: Path, count: int, broken: tuple[int, ...]) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / f"p{i:03d}.png"
        if i in broken:
            path.write_bytes(b"not a png")
        else:
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path)


def test_training_on_a_folder_with_broken_images_reports_and_lists_them(tmp_path, capsys):
    _photo_folder(tmp_path / "photos", 40, broken=(2, 5, 38))
    out = tmp_path / "run"
    argv = ["vae", "--data", f"folder:{tmp_path / 'photos'}?size=16", "--latent", "4", "--set", "base_channels=8",
            "--batch", "8", "--max-steps", "1", "--out", str(out), "--quiet"]
    assert cli_main(argv) == 0
    text = capsys.readouterr()
    assert "note: 2 unreadable images left out of the train split: p002.png, p005.png" in text.err + text.out
    assert "note: 1 unreadable image left out of the test split: p038.png" in text.err + text.out
    listing = (out / "skipped-images.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in listing] == ["train", "train", "test"]
    assert "p005.png: cannot decode image" in listing[1]
    capsys.readouterr()
    assert cli_main([*argv[:-3], "--out", str(tmp_path / "strict"), "--quiet", "--strict"]) == 2
    assert "refused under --strict" in error_line(capsys)


# ---------------------------------------------------------------- property-based: CLI options

_values = st.sampled_from(["0", "1", "-1", "2", "16", "1e6", "nan", "inf", "-inf", "x", "", "0.5", "cuda", "cpu",
                           "bogus", "auto", "cuda:7", "image_shape=[1,2]", "beta=nan", "beta=0.5", "=", "k"])
_option = st.one_of(
    st.tuples(st.sampled_from(["--epochs", "--batch", "--lr", "--seed", "--limit", "--max-steps", "--latent",
                               "--size", "--channels", "--checkpoint-every", "--keep-every", "--preview-every",
                               "--eval-limit", "--device", "--set", "--lr-schedule", "--likelihood"]), _values),
    st.tuples(st.sampled_from(["--data"]), st.sampled_from(["synthetic-faces", "nope", "folder:", "idx:/nonexistent",
                                                             "synthetic-faces?size=x", "celeba:/nowhere"])),
    st.tuples(st.sampled_from(["--strict", "--resume", "--quiet"])),
)


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=st.sampled_from(["vae", "ae", "nosuch", "gan"]), options=st.lists(_option, max_size=5))
def test_any_command_line_is_a_run_or_one_line_of_bad_input(tmp_path, monkeypatch, capsys, model, options):
    """Parsing and validation only (the run itself is stubbed out): exit 0 with a valid config, or
    exit 2 with one error line; never another exception."""
    capsys.readouterr()  # output of the previous example
    ran = []
    monkeypatch.setattr(cli, "run", lambda config, resume, quiet: ran.append(Trainer(config, resume=resume)) or 0)
    argv = [model, "--out", str(tmp_path / "out"), *[part for option in options for part in option]]
    try:
        status = cli_main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        assert exit_.code == 2
        return
    assert status in (0, 2)
    if status == 2:
        error_line(capsys)
    else:
        assert ran and ran[0].config.epochs >= 1 and np.isfinite(ran[0].config.lr)
    capsys.readouterr()


def test_history_and_checkpoint_saves_still_happen(tmp_path):
    """The checks added around saving leave a normal run as it was: checkpoints and a Finished event."""
    events = list(Trainer(config(tmp_path / "run")).run())
    assert [e.step for e in events if isinstance(e, CheckpointSaved)] == [2, 4]
    assert isinstance(events[-1], Finished) and os.path.exists(tmp_path / "run" / "history.jsonl")
