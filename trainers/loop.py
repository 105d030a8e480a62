"""The training loop: one generator of events that the CLI and the app both drive.

    for event in Trainer(config).run(): ...

The loop checks `request_stop()` between steps, so a stop (Ctrl+C in the CLI, Cancel in the app)
always lands on a step boundary and writes a resumable checkpoint. A resumed run continues exactly:
model, optimiser and scheduler states, epoch, step, position within the epoch and the RNG state are
restored, and the data order of every epoch is a pure function of (seed, epoch), so the resumed run
computes the same updates as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from latentlab.analysis import held_out_metrics
from latentlab.checkpoints import Checkpoint, read_checkpoint, write_checkpoint
from latentlab.checkpoints.model_io import model_from_checkpoint, model_meta
from latentlab.data import ImageDataset, load_dataset
from latentlab.errors import ConfigError, DataError, SaveError
from latentlab.fileio import atomic_write, check_writable_folder, describe_os_error, remove_stale_parts
from latentlab.models import build_model
from trainers import distributed
from trainers.batchnorm import CALIBRATION_IMAGES, recalibrate_batchnorm
from trainers.config import TrainConfig
from trainers.pretrain import pretrain_encoder
from trainers.events import CheckpointSaved, EpochEnd, Event, Failed, Finished, Preview, Step
from trainers.schemes import NonFiniteLoss, make_scheme

CHECKPOINT_NAME = "last.ckpt"
HISTORY_NAME = "history.jsonl"
SKIPPED_NAME = "skipped-images.txt"  # the images a folder: / celeba: dataset could not decode
HISTORY_EVERY = 50         # steps between averaged history records
PREVIEW_SAMPLES = 16
PREVIEW_RECONSTRUCTIONS = 8
PREVIEW_CODES = 256        # images encoded for the live latent map


def checkpoint_path(out: str | os.PathLike) -> Path:
    return Path(out) / CHECKPOINT_NAME


class Trainer:
    """Fits `config.model` on `config.data`, writing `last.ckpt` and `history.jsonl` under `config.out`.

    resume=True continues from `out/last.ckpt` (epochs / max_steps may be raised for the new run);
    without it, an `out` folder that already holds a run is refused rather than overwritten.
    `data_progress(done, total)` reports image decoding while the dataset is prepared.
    """

    def __init__(self, config: TrainConfig, resume: bool = False,
                 data_progress: Callable[[int, int], None] | None = None) -> None:
        config.validate()
        self.config = config
        self.resume = resume
        self.data_progress = data_progress
        self._stop_requested = False
        self.notes: list[str] = []
        self.failed = False   # a Failed event ended the run
        self.unsaved = False  # ... because a save failed: the model in memory is newer than any checkpoint

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step (thread-safe: a plain flag)."""
        self._stop_requested = True

    # ------------------------------------------------------------------ set-up
    def _prepare(self) -> None:
        cfg = self.config
        self.ctx = distributed.setup(cfg.device)
        self.out = Path(cfg.out)
        self.ckpt_path = checkpoint_path(self.out)
        resume_from = None
        if self.resume:
            if not self.ckpt_path.exists():
                raise ConfigError(f"{self.ckpt_path}: nothing to resume (no checkpoint in {self.out})")
            resume_from = read_checkpoint(self.ckpt_path)
            if resume_from.training is None:
                raise ConfigError(f"{self.ckpt_path}: holds no training state, so it cannot be resumed")
        elif self.ckpt_path.exists():
            raise ConfigError(f"{self.out} already holds a run ({self.ckpt_path}); choose another output folder, "
                              f"or continue that run (latentlab-train --resume --out {self.out})")
        if self.ctx.is_main:  # before any work: a file in the way or a read-only disk fails now, not at step 500
            check_writable_folder(self.out)
            for name in (CHECKPOINT_NAME, HISTORY_NAME):
                remove_stale_parts(self.out / name)  # left by a run killed mid-save
        self.train_set = load_dataset(cfg.data, split="train", limit=cfg.limit, strict=cfg.strict,
                                      progress=self.data_progress if self.ctx.is_main else None)
        self.held_out = self._load_held_out()
        self._report_skipped()
        if resume_from is not None:
            self.model = model_from_checkpoint(resume_from)
            if list(self.model.image_shape) != list(self.train_set.image_shape):
                raise ConfigError(f"{self.ckpt_path}: model was trained on images {tuple(self.model.image_shape)}, "
                                  f"but {cfg.data} gives {tuple(self.train_set.image_shape)}")
        else:
            torch.manual_seed(cfg.seed)
            model_config = {**cfg.model_config, "image_shape": list(self.train_set.image_shape)}
            self.model = build_model(cfg.model, model_config)
        self.model.to(self.ctx.device).train()
        self.images = self.train_set.as_tensor()
        if resume_from is None:
            self._pretrain_encoder()
        self.module = self.model
        if self.ctx.distributed:
            device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            # Each phase of an adversarial step leaves the other group's parameters without gradients.
            adversarial = getattr(self.model, "scheme", None) == "adversarial"
            self.module = DistributedDataParallel(self.model, device_ids=device_ids,
                                                  find_unused_parameters=adversarial)
        self.sampler = DistributedSampler(range(len(self.train_set)), num_replicas=self.ctx.world_size,
                                          rank=self.ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True)
        self.batch_size = min(cfg.batch_size, len(self.sampler))
        if self.batch_size < 2:
            raise DataError(f"{cfg.data}: only {len(self.train_set)} training images; need at least "
                            f"{2 * self.ctx.world_size}")
        self.steps_per_epoch = len(self.sampler) // self.batch_size
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.scheme = make_scheme(self.model, cfg, self.total_steps)
        self.epoch, self.step, self.step_in_epoch = 0, 0, 0
        self.history: list[dict[str, Any]] = []
        self.elapsed = 0.0
        if resume_from is not None:
            self._restore(resume_from.training, resume_from.meta)
        # Autoregressive models have no prior to decode; sampling them pixel by pixel is too slow for a
        # periodic preview, so they train without previews (their held-out bits/dim is still reported).
        # A feature network has no decoder at all.
        self.previews = not getattr(self.model, "is_autoregressive", False) and getattr(self.model, "has_decoder", True)
        self.preview_z = None if not self.previews else self.model.prior.sample(
            PREVIEW_SAMPLES, generator=torch.Generator().manual_seed(cfg.seed), device=self.ctx.device)
        preview_source = self.held_out if self.held_out is not None else self.train_set
        self.preview_x = preview_source.batch(np.arange(min(PREVIEW_CODES, len(preview_source))))

    def _pretrain_encoder(self) -> None:
        """The encoder pre-training some adversarial autoencoders ask for (trainers/pretrain.py).
        Every rank runs it identically (same seed, same draws), before DDP wraps the model."""
        steps = getattr(self.model, "encoder_pretrain_steps", lambda: 0)()
        if steps > 0:
            taken, loss = pretrain_encoder(self.model, self.images, steps, self.ctx.device, self.config.lr,
                                           tuple(self.config.betas))
            self.notes.append(f"encoder pre-trained for {taken} steps (moment-matching loss {loss:.3g})")

    def _load_held_out(self) -> ImageDataset | None:
        if not self.ctx.is_main or self.config.eval_limit <= 0:
            return None
        try:
            held_out = load_dataset(self.config.data, split="test", limit=self.config.eval_limit,
                                    strict=self.config.strict)
        except DataError as err:
            self.notes.append(f"no held-out evaluation: {err}")
            return None
        if len(held_out) == 0:
            self.notes.append(f"no held-out evaluation: {self.config.data} has an empty test split")
            return None
        return held_out

    def _report_skipped(self) -> None:
        """Images the dataset could not decode were left out: say how many and which (first few) in
        the notes, and write the full list to the run folder."""
        lines = []
        for split, dataset in (("train", self.train_set), ("test", self.held_out)):
            skipped = dataset.skipped if dataset is not None else []
            if skipped:
                first = ", ".join(os.path.basename(entry.split(": ", 1)[0]) for entry in skipped[:3])
                more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
                self.notes.append(f"{len(skipped)} unreadable image{'s' if len(skipped) > 1 else ''} left out of the "
                                  f"{split} split: {first}{more} (full list: {self.out / SKIPPED_NAME})")
                lines += [f"{split}\t{entry}\n" for entry in skipped]
        if lines and self.ctx.is_main:
            atomic_write(self.out / SKIPPED_NAME, lambda tmp: tmp.write_text("".join(lines)))

    def _restore(self, training: dict[str, Any], meta: dict[str, Any]) -> None:
        scheme_state, stored_lr = training["scheme"], meta.get("train_config", {}).get("lr")
        if stored_lr is not None and stored_lr != self.config.lr:  # --lr given with --resume
            scheme_state = _with_learning_rate(scheme_state, stored_lr, self.config.lr)
            self.notes.append(f"learning rate {stored_lr:g} -> {self.config.lr:g} from step {training['step']} "
                              "(this resumed run no longer repeats the original one exactly)")
        self.scheme.load_state_dict(scheme_state)
        self.epoch, self.step = training["epoch"], training["step"]
        self.step_in_epoch = training["step_in_epoch"]
        self.elapsed = training.get("elapsed", 0.0)
        self.history = list(meta.get("history", []))
        rng = training["rng"]
        torch.set_rng_state(rng["torch"])
        random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
        np.random.set_state((rng["numpy"][0], np.asarray(rng["numpy"][1], dtype=np.uint32), *rng["numpy"][2:]))
        if torch.cuda.is_available() and rng.get("cuda") is not None:
            torch.cuda.set_rng_state_all(rng["cuda"])

    # ------------------------------------------------------------------ the loop
    def run(self) -> Iterator[Event]:
        """Prepare, then train until done, stopped or failed, yielding events along the way."""
        self._prepare()
        clean = False
        try:
            failed = False
            for event in self._train():
                failed = failed or isinstance(event, Failed)
                yield event
            # A Failed event ends _train normally, but the other ranks may never reach a barrier.
            clean = not failed
        finally:
            distributed.teardown(self.ctx, clean=clean)

    def _train(self) -> Iterator[Event]:
        cfg, ctx = self.config, self.ctx
        reduce = ctx.mean if ctx.distributed else None
        self.last_saved = self.ckpt_path if self.resume else None
        ema_rate, window = None, []
        epoch_sums: dict[str, float] = {}
        epoch_count = 0
        while self.step < self.total_steps:
            self.sampler.set_epoch(self.epoch)
            order = torch.tensor(list(iter(self.sampler)), dtype=torch.long)
            while self.step_in_epoch < self.steps_per_epoch and self.step < self.total_steps:
                if self._stop_requested:
                    self._calibrate()
                    yield from self._save()
                    if ctx.is_main and not self.failed:
                        yield Finished(self.step, self.epoch, "stopped", self.last_saved)
                    return
                start = time.perf_counter()
                idx = order[self.step_in_epoch * self.batch_size:(self.step_in_epoch + 1) * self.batch_size]
                x = torch.from_numpy(self.train_set.take(idx)).to(ctx.device, non_blocking=True).float().div_(255.0)
                try:
                    losses = self.scheme.step(self.module, x, reduce)
                except NonFiniteLoss as err:
                    where = (f"the last good checkpoint is {self.last_saved}" if self.last_saved
                             else "no checkpoint was written yet")
                    yield Failed(self.step, self.epoch,
                                 f"training stopped at step {self.step + 1} (epoch {self.epoch + 1}): {err}; {where}. "
                                 "Try a lower learning rate.", self.last_saved)
                    return
                self.step += 1
                self.step_in_epoch += 1
                seconds = time.perf_counter() - start
                self.elapsed += seconds
                rate = x.shape[0] * ctx.world_size / max(seconds, 1e-9)
                ema_rate = rate if ema_rate is None else 0.9 * ema_rate + 0.1 * rate
                for k, v in losses.items():
                    epoch_sums[k] = epoch_sums.get(k, 0.0) + v
                epoch_count += 1
                window.append(losses)
                if ctx.is_main:
                    yield Step(self.step, self.epoch, self.total_steps, losses, ema_rate)
                    if len(window) >= HISTORY_EVERY:
                        self.history.append({"kind": "train", "step": self.step, "epoch": self.epoch,
                                             **_mean_of(window), "images_per_sec": round(ema_rate, 2)})
                        window = []
                    if self.previews and self.step % cfg.preview_every == 0:
                        yield self._preview()
                epoch_done = self.step_in_epoch >= self.steps_per_epoch
                if epoch_done or self.step >= self.total_steps:
                    self._calibrate()  # before evaluating and before the run's final checkpoint
                    if (failure := self._non_finite_failure("after the batch-norm recalibration")) is not None:
                        yield failure
                        return
                if epoch_done:
                    if ctx.is_main:
                        train_means = {k: v / epoch_count for k, v in epoch_sums.items()}
                        held_out = self.evaluate()
                        self.history.append({"kind": "epoch", "step": self.step, "epoch": self.epoch,
                                             "train": train_means, "held_out": held_out})
                        yield EpochEnd(self.epoch, self.step, train_means, held_out)
                    epoch_sums, epoch_count = {}, 0
                    self.epoch += 1
                    self.step_in_epoch = 0
                if epoch_done or self.step % cfg.checkpoint_every == 0 or self.step >= self.total_steps \
                        or self._keeps(self.step):
                    yield from self._save()
                    if self.failed:
                        return
                if epoch_done:
                    break
        reason = "completed" if self.step >= cfg.epochs * self.steps_per_epoch else "max-steps"
        if ctx.is_main:
            yield Finished(self.step, self.epoch, reason, self.last_saved)

    # ------------------------------------------------------------------ helpers
    def _calibrate(self) -> None:
        """Precise batch-norm statistics from the first training images (see trainers/batchnorm.py)."""
        calibration = np.arange(min(CALIBRATION_IMAGES, len(self.train_set)))
        recalibrate_batchnorm(self.model, torch.from_numpy(self.train_set.take(calibration)), self.batch_size,
                              self.ctx.device, seed=self.config.seed)

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics (see `latentlab.analysis.metrics`); empty when there is no held-out split."""
        if self.held_out is None:
            return {}
        return held_out_metrics(self.model, self.held_out, self.ctx.device, seed=self.config.seed)

    @torch.no_grad()
    def _preview(self) -> Preview:
        self.model.eval()
        samples = self.model.decode(self.preview_z).mean
        x = self.preview_x.to(self.ctx.device)
        shown = x[:PREVIEW_RECONSTRUCTIONS]
        if not getattr(self.model, "has_encoder", True):  # a GAN: samples only
            self.model.train()
            return Preview(self.step, _to_uint8(samples), _to_uint8(shown[:0]), None)
        codes = self.model.encode(x).mean
        recon = self.model.decode(codes[:PREVIEW_RECONSTRUCTIONS]).mean
        self.model.train()
        return Preview(self.step, _to_uint8(samples), _to_uint8(torch.cat([shown, recon])),
                       codes.float().cpu().numpy())

    def _non_finite_failure(self, when: str) -> Failed | None:
        """A Failed event when a weight or buffer is NaN or infinite (e.g. --lr 1e6 sending batch-norm's
        running_var to inf): such a model decodes blank images, so it must never be saved as a result."""
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                self.failed = True
                where = (f"the last good checkpoint is {self.last_saved}, left as it was" if self.last_saved
                         else "no checkpoint was written yet")
                return Failed(self.step, self.epoch,
                              f"training stopped at step {self.step} (epoch {self.epoch + 1}): {name} holds NaN or "
                              f"infinite values {when}; {where}. Try a lower learning rate.", self.last_saved)
        return None

    def save_to(self, folder: str | os.PathLike) -> Path:
        """Write the model and training state held in memory to `folder` (after a save that failed, e.g.
        on a full disk) as a resumable run; `--resume --out folder` continues it. Raises SaveError."""
        check_writable_folder(folder)
        self.out, self.ckpt_path, self.config.out = Path(folder), checkpoint_path(folder), str(folder)
        self.failed = False
        for event in self._save():
            if isinstance(event, Failed):
                raise SaveError(event.message)
        self.unsaved = False
        return self.ckpt_path

    def _save(self) -> Iterator[Event]:
        """Write the resumable checkpoint and the history file (rank 0 only). A failed write (disk
        full, read-only) ends the run with a Failed event; the previous checkpoint is kept and the model
        stays in memory (`save_to` writes it elsewhere)."""
        if (failure := self._non_finite_failure("before saving")) is not None:
            yield failure
            return
        if not self.ctx.is_main:
            return
        training = {
            "scheme": self.scheme.state_dict(),
            "epoch": self.epoch, "step": self.step, "step_in_epoch": self.step_in_epoch,
            "elapsed": self.elapsed, "rng": _rng_state(),
        }
        meta = model_meta(
            self.model,
            dataset=self.train_set.describe(),
            preprocessing=self.train_set.preprocessing,
            train_config=self.config.to_dict(),
            history=self.history,
            metrics=self._latest_metrics(),
            progress={"epoch": self.epoch, "step": self.step, "total_steps": self.total_steps},
        )
        checkpoint = Checkpoint(meta=meta, state_dict=self.model.state_dict(), training=training)
        try:
            remove_stale_parts(self.ckpt_path)
            write_checkpoint(self.ckpt_path, checkpoint)
            if self._keeps(self.step):
                write_checkpoint(self.out / f"step-{self.step:06d}.ckpt", checkpoint)
            _write_jsonl(self.out / HISTORY_NAME, self.history)
        except (SaveError, OSError) as err:
            self.failed = self.unsaved = True
            kept = (f"the previous checkpoint {self.last_saved} is kept as it was" if self.last_saved
                    else "no checkpoint was written before")
            text = str(err) if isinstance(err, SaveError) else f"{self.out}: {describe_os_error(err)}"
            yield Failed(self.step, self.epoch, f"training stopped at step {self.step}: {text}; {kept}; the model "
                         "trained so far is still in memory and can be saved elsewhere", self.last_saved)
            return
        self.last_saved = self.ckpt_path
        yield CheckpointSaved(self.step, self.epoch, self.ckpt_path)

    def _keeps(self, step: int) -> bool:
        """Whether `step` is one whose checkpoint is kept beside last.ckpt (TrainConfig.keep_every)."""
        return self.config.keep_every is not None and step % self.config.keep_every == 0

    def _latest_metrics(self) -> dict[str, Any]:
        for record in reversed(self.history):
            if record["kind"] == "epoch" and record["held_out"]:
                return {"held_out": record["held_out"], "epoch": record["epoch"], "split": "test"}
        return {}


def _with_learning_rate(state: dict[str, Any], old: float, new: float) -> dict[str, Any]:
    """The scheme's stored optimiser and scheduler states with the learning rate `old` replaced by
    `new` (where a schedule has moved the rate, it moves by the same factor). Groups that train at a
    rate of their own (a model's phase_lr) are left as they were."""
    factor = new / old
    optimizers = []
    for optimizer in state["optimizers"]:
        groups = []
        for group in optimizer["param_groups"]:
            group = dict(group)
            if math.isclose(float(group.get("initial_lr", group["lr"])), old, rel_tol=1e-9):
                group["lr"] = float(group["lr"]) * factor
                if "initial_lr" in group:
                    group["initial_lr"] = new
            groups.append(group)
        optimizers.append({**optimizer, "param_groups": groups})
    schedulers = []
    for scheduler in state["schedulers"]:
        hits = [math.isclose(float(b), old, rel_tol=1e-9) for b in scheduler.get("base_lrs", [])]
        moved = dict(scheduler)
        if "base_lrs" in scheduler:
            moved["base_lrs"] = [new if hit else b for b, hit in zip(scheduler["base_lrs"], hits)]
        if "_last_lr" in scheduler:
            moved["_last_lr"] = [float(v) * factor if hit else v for v, hit in zip(scheduler["_last_lr"], hits)]
        schedulers.append(moved)
    return {**state, "optimizers": optimizers, "schedulers": schedulers}


def _mean_of(window: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(w[k] for w in window) / len(window) for k in window[0]}


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def _rng_state() -> dict[str, Any]:
    """Every RNG the step touches, in forms torch.load(weights_only=True) accepts."""
    py_version, py_state, py_gauss = random.getstate()
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *[_plain(v) for v in np_state[2:]]],
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Atomic write of the history, one JSON object per line."""
    text = "".join(json.dumps(record, default=_json_number) + "\n" for record in records)
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"not JSON-able: {value!r}")
