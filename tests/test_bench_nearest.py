"""`python -m latentlab.bench nearest` on tiny arguments: a tiny model on generated faces."""

from __future__ import annotations

import json

import pytest

from latentlab.bench.__main__ import BENCHES
from latentlab.bench.nearest import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DATA = "synthetic-faces?size=16&n=200"


def test_the_bench_is_registered():
    assert BENCHES["nearest"][0] == "latentlab.bench.nearest"


def test_the_bench_prints_every_column_for_a_tiny_model(tiny_checkpoint, capsys):
    assert main(["--checkpoints", str(tiny_checkpoint), "--data", DATA, "--n", "12", "--held-out", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["train"] == 180 and out["held_out"] == 10 and out["n"] == 12
    (row,) = out["rows"]
    assert row["model"] == "tiny" and row["reference"] == "held-out reconstructions"
    for column in ("prior", "p_hat", "train_reconstructions", "prior_vs_photos"):
        assert row[column]["count"] == 12 and 0 <= row[column]["copy_rate"] <= 1 and row[column]["median_ratio"] > 0
    assert 0 < row["copy_threshold"] <= row["reference_median"]

    assert main(["--checkpoints", str(tiny_checkpoint), "--data", DATA, "--n", "12", "--held-out", "10"]) == 0
    text = capsys.readouterr().out
    assert "tiny" in text and "held-out reconstructions" in text and "copy rate" in text


def test_the_search_comparison_agrees(tiny_checkpoint, capsys):
    assert main(["--checkpoints", str(tiny_checkpoint), "--data", DATA, "--compare-search"]) == 0
    assert "same distances: True" in capsys.readouterr().out


def test_a_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert main(["--checkpoints", str(tmp_path / "none.ckpt"), "--data", DATA, "--n", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nearest: error:") and "none.ckpt" in err
