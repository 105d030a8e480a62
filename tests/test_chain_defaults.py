"""Measured chain defaults: the Gate's pause after n steps, choosing a setting from FD ratios, the
table the window reads (own row, family row, not measured, unreadable), the bench that writes it, and
the chain panel opening a model on its default and pausing there."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from conftest import make_tiny_bundle

from latentlab.bench.chain_defaults import choose
from latentlab.explorer.chain_defaults import NOT_MEASURED, TABLE_FORMAT, TABLE_VERSION, chain_default, load_table
from latentlab.services.gate import Gate


class Puller:
    """A worker pulling turns from a Gate, as the chain's loop does; records each turn's number."""

    def __init__(self, gate: Gate) -> None:
        self.gate, self.granted = gate, []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.gate.wait_turn(time.monotonic() - 1.0):
            self.granted.append(self.gate.granted)
            time.sleep(0.001)

    def settled(self, wait: float = 0.3) -> list[int]:
        time.sleep(wait)
        return list(self.granted)


def test_gate_pauses_by_itself_after_n_transitions_once():
    gate = Gate(0.0)
    gate.pause_after(3)
    worker = Puller(gate)
    gate.play()
    assert worker.settled() == [1, 2, 3]  # then it waits: paused at step 3
    gate.step()
    assert worker.settled() == [1, 2, 3, 4]  # Step goes on past it
    gate.play()  # and Play again runs on: the pause fired once
    time.sleep(0.2)
    gate.pause()
    assert len(worker.settled()) > 10
    gate.stop()
    worker.thread.join(2)
    assert not worker.thread.is_alive()


def test_gate_without_pause_after_plays_on():
    gate = Gate(0.0)
    gate.pause_after(0)  # 0: never
    worker = Puller(gate)
    gate.play()
    time.sleep(0.2)
    gate.stop()
    worker.thread.join(2)
    assert len(worker.granted) > 10


def _ratios(best: tuple[str, bool, int], start: float = 3.0) -> dict:
    out = {}
    for mode in ("mean", "stochastic"):
        for debias in (False, True):
            for step in (0, 1, 2):
                value = start if step == 0 else start + 0.5 * step
                out[(mode, debias, step)] = {"a": value, "b": value}
    out[best] = {"a": 2.0, "b": 2.5}
    return out


def test_choose_takes_the_lowest_geometric_mean_at_a_step_of_at_least_one():
    entry = choose("vae", _ratios(("stochastic", True, 2)))
    assert (entry["mode"], entry["debias"], entry["steps"]) == ("stochastic", True, 2)
    assert entry["score"] == pytest.approx(np.sqrt(2.0 * 2.5)) and entry["improves"] is True
    assert entry["score_step0"] == pytest.approx(3.0)
    worse = choose("vae", _ratios(("mean", False, 1), start=1.0))  # every step >= 1 is worse than step 0
    assert worse["improves"] is False and worse["steps"] >= 1


def _table(tmp_path, models: dict) -> dict:
    path = tmp_path / "chain-defaults.json"
    path.write_text(json.dumps({"format": TABLE_FORMAT, "version": TABLE_VERSION, "models": models}))
    return load_table(path)


def test_lookup_by_model_then_family_then_not_measured(tmp_path):
    entry = {"family": "vae", "mode": "stochastic", "debias": True, "steps": 2, "improves": True,
             "score": 2.1, "score_step0": 2.5}
    table = _table(tmp_path, {"vae-celeba.ckpt": entry,
                              "wae-mmd-celeba.ckpt": {**entry, "family": "wae", "mode": "mean", "debias": False}})
    own = chain_default("/somewhere/vae-celeba.ckpt", "vae", table)
    assert (own.mode, own.debias, own.pause_after, own.improves) == ("stochastic", True, 2, True)
    assert "this model" in own.source and "2.10" in own.describe() and "2.50" in own.describe()
    family = chain_default("/runs/my-vae/last.ckpt", "vae", table)
    assert family.mode == "stochastic" and "bundled vae-celeba.ckpt" in family.source and "not this model" in family.source
    other = chain_default("/runs/ae/last.ckpt", "ae", table)
    assert other == NOT_MEASURED and "not measured" in other.describe()


def test_an_unreadable_or_foreign_table_is_ignored(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert load_table(bad) == {}
    assert load_table(tmp_path / "missing.json") == {}
    bad.write_text(json.dumps({"format": "something else", "version": 1, "models": {}}))
    assert load_table(bad) == {}
    table = _table(tmp_path, {"x.ckpt": {"family": "vae", "mode": "teleport", "debias": False, "steps": 1}})
    assert table == {}  # an unknown mode is dropped, not offered


def test_the_shipped_table_names_a_valid_setting_for_every_bundled_encoder_model():
    from latentlab.checkpoints import load_model
    from latentlab.resources import bundled_models

    table = load_table()
    checked = 0
    for path in bundled_models():
        model = load_model(path)
        if not path.name.endswith("-celeba.ckpt") or not getattr(model, "has_encoder", False):
            continue  # the chain needs an encoder; the table covers the CelebA latent models
        assert path.name in table, f"{path.name} has no measured chain default"
        assert table[path.name]["family"] == model.registry_name
        checked += 1
    assert checked >= 6


def test_bench_writes_a_table_the_window_reads(tmp_path, isolated_cache, capsys):
    from latentlab.bench.chain_defaults import main
    from latentlab.checkpoints import save_model
    from latentlab.models import build_model

    bundle = make_tiny_bundle(tmp_path, latent_dim=4, atlas_size=50, faces=3600)
    features = save_model(tmp_path / "f.ckpt", build_model("ae", {"image_shape": [3, 16, 16], "latent_dim": 5,
                                                                   "base_channels": 4}))
    out = tmp_path / "defaults.json"
    other = {"family": "wae", "mode": "mean", "debias": False, "steps": 1, "improves": False}
    out.write_text(json.dumps({"format": TABLE_FORMAT, "version": TABLE_VERSION, "models": {"other.ckpt": other}}))
    args = ["--checkpoints", str(bundle), "--features", str(features), "--n", "16", "--steps", "0,1,2",
            "--write", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "stochastic + debias" in printed and "default:" in printed
    table = load_table(out)
    entry = table[bundle.name]
    assert table["other.ckpt"] == other  # models not measured in this run keep their rows
    assert entry["family"] == "vae" and entry["steps"] in (1, 2)
    assert len(entry["table"]) == 3 * 2 * 3  # modes x debias x steps
    assert chain_default(bundle, "vae", table).pause_after == entry["steps"]
    with pytest.raises(SystemExit):  # step 0, the prior samples, is what a setting must beat
        main(["--checkpoints", str(bundle), "--steps", "1,2"])
    assert "must include 0" in capsys.readouterr().err
