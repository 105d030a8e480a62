"""`python -m latentlab.bench quality`: FD of prior samples, with and without chain steps, per model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentlab.models import build_model

SPEC = "synthetic-faces?size=16&n=60"


def _save(tmp_path, name: str, family: str, **extra):
    from latentlab.checkpoints import save_model

    torch.manual_seed(len(name))
    model = build_model(family, {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 8, **extra}).eval()
    return save_model(tmp_path / f"{name}.ckpt", model, dataset={"spec": SPEC}), model


def _features(tmp_path):
    from latentlab.checkpoints import save_model

    torch.manual_seed(1)
    return save_model(tmp_path / "f.ckpt", build_model("ae", {"image_shape": [3, 16, 16], "latent_dim": 5,
                                                              "base_channels": 4}))


def test_table_has_every_model_the_floor_and_no_chain_for_a_gan(tmp_path, isolated_cache, capsys):
    from latentlab.bench.quality import main

    vae, _ = _save(tmp_path, "a-vae", "vae")
    gan, _ = _save(tmp_path, "a-gan", "gan")
    args = ["--checkpoints", str(vae), str(gan), "--features", str(_features(tmp_path)), "--n", "16",
            "--chain-steps", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "a-vae" in out and "a-gan" in out and "training images (floor)" in out and "+2 mean" in out
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in report["rows"]}
    assert rows["a-gan"]["fd_chain"] is None and rows["a-gan"]["fd_reconstruction"] is None
    assert rows["a-vae"]["fd_chain"] > 0 and rows["a-vae"]["fd_reconstruction"] > 0
    assert report["floor"] >= 0 and report["n"] == 16
    assert main(args + ["--split", "train"]) == 0          # choosing settings without the held-out faces
    assert "train split (38 images)" in capsys.readouterr().out   # 54 training faces less the floor's 16


def test_zero_chain_steps_give_the_prior_figure_and_the_seed_is_shared(tmp_path, isolated_cache):
    from latentlab.analysis.frechet import FeatureNetwork
    from latentlab.bench.quality import score_model
    from latentlab.data import load_dataset

    _, model = _save(tmp_path, "m", "wae")
    features = FeatureNetwork.load(_features(tmp_path))
    held = load_dataset(SPEC, split="test").as_tensor().float().div(255.0).numpy()
    held_features = features(held)
    row = score_model(model, "m", held_features, held, features, n=12, seed=3, chain_steps=0, mode="mean")
    assert row.fd_chain == pytest.approx(row.fd_prior)
    again = score_model(model, "m", held_features, held, features, n=12, seed=3, chain_steps=1, mode="mean")
    other = score_model(model, "m", held_features, held, features, n=12, seed=4, chain_steps=1, mode="mean")
    assert again.fd_prior == row.fd_prior and other.fd_prior != row.fd_prior
    assert np.isfinite(again.fd_chain) and again.fd_chain != again.fd_prior


def test_a_model_not_matching_the_feature_network_is_skipped_with_a_note(tmp_path, isolated_cache, capsys):
    from latentlab.bench.quality import main

    vae, _ = _save(tmp_path, "ok", "vae")
    from latentlab.checkpoints import save_model

    gray = save_model(tmp_path / "gray.ckpt", build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 4,
                                                                   "base_channels": 8}), dataset={"spec": SPEC})
    assert main(["--checkpoints", str(vae), str(gray), "--features", str(_features(tmp_path)), "--n", "8"]) == 0
    captured = capsys.readouterr()
    assert "skipping gray.ckpt" in captured.err and "ok" in captured.out


def test_p_hat_column_for_models_with_codes_and_seeds_average(tmp_path, isolated_cache, capsys):
    """The P̂ column: FD of decoded draws of the model's own P̂(Z) (here fitted to the codes of the
    training images, the test models carry no atlas); none for the GAN; --seeds averages the prior
    and P̂ columns and lists each seed."""
    from latentlab.bench.quality import main

    vae, _ = _save(tmp_path, "a-vae", "vae")
    gan, _ = _save(tmp_path, "a-gan", "gan")
    args = ["--checkpoints", str(vae), str(gan), "--features", str(_features(tmp_path)), "--n", "16",
            "--chain-steps", "1"]
    assert main(args + ["--seeds", "0", "1", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in report["rows"]}
    assert report["seeds"] == [0, 1, 2] and "Gaussian mixture" in report["p_hat"]
    vae_row, gan_row = rows["a-vae"], rows["a-gan"]
    assert gan_row["fd_p_hat"] is None and len(gan_row["fd_prior_per_seed"]) == 3
    assert len(vae_row["fd_p_hat_per_seed"]) == 3 and len(set(vae_row["fd_p_hat_per_seed"])) == 3
    assert "p_hat_clusters" in vae_row and gan_row["p_hat_clusters"] is None   # 6 held-out faces: no k-means
    assert vae_row["fd_p_hat"] == pytest.approx(np.mean(vae_row["fd_p_hat_per_seed"]))
    assert vae_row["fd_prior"] == pytest.approx(np.mean(vae_row["fd_prior_per_seed"]))
    assert main(args + ["--seed", "1", "--json"]) == 0    # one seed: the same figures as that seed above
    single = {row["model"]: row for row in json.loads(capsys.readouterr().out)["rows"]}["a-vae"]
    assert single["fd_p_hat"] == pytest.approx(vae_row["fd_p_hat_per_seed"][1])
    assert single["fd_prior"] == pytest.approx(vae_row["fd_prior_per_seed"][1])
    assert main(args + ["--seeds", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert "P̂(Z)" in out and "vs prior" in out and "per seed (prior | P̂(Z)):" in out
    assert main(args + ["--split", "train"]) == 0          # 38 faces to compare with: diversity figures too
    assert "diversity of the P̂(Z) samples" in capsys.readouterr().out


def test_p_hat_bench_scores_each_candidate_density_against_the_prior(tmp_path, isolated_cache, capsys):
    """`bench p-hat`: the prior row, then one row per candidate density fitted to the model's atlas."""
    from conftest import make_tiny_bundle

    from latentlab.bench.p_hat import main

    model = make_tiny_bundle(tmp_path, latent_dim=4, atlas_size=40, faces=80)
    args = ["--checkpoints", str(model), "--features", str(_features(tmp_path)), "--n", "12",
            "--candidates", "1:full:draws,3:diag:means", "--seeds", "0", "1"]
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["density"] for row in report["rows"]] == ["prior", "1 full, draws", "3 diag, means"]
    assert all(len(row["fd_per_seed"]) == 2 and row["fd"] > 0 for row in report["rows"])
    assert report["split"] == "train"
    assert main(args) == 0 and "vs prior" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(args[:-5] + ["--candidates", "10:spherical:draws"])
    from latentlab.checkpoints import save_model

    torch.manual_seed(2)
    second = save_model(tmp_path / "g.ckpt", build_model("contrastive", {"image_shape": [3, 16, 16], "latent_dim": 6,
                                                                          "projection_dim": 4, "base_channels": 4}))
    assert main(args[:2] + ["--features", str(_features(tmp_path)), str(second)] + args[4:] + ["--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert len(both["feature_spaces"]) == 2 and both["rows"] == both["feature_spaces"][0]["rows"]
    assert "g.ckpt" in both["feature_spaces"][1]["features"]


def test_two_feature_spaces_are_scored_side_by_side(tmp_path, isolated_cache, capsys):
    from latentlab.bench.quality import main
    from latentlab.checkpoints import save_model

    vae, _ = _save(tmp_path, "a-vae", "vae")
    first = _features(tmp_path)
    torch.manual_seed(2)
    second = save_model(tmp_path / "g.ckpt", build_model("contrastive", {"image_shape": [3, 16, 16], "latent_dim": 6,
                                                                          "projection_dim": 4, "base_channels": 4}))
    args = ["--checkpoints", str(vae), "--features", str(first), str(second), "--n", "16", "--chain-steps", "1"]
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    spaces = report["feature_spaces"]
    assert [s["features"].split(" ")[0] for s in spaces] == ["f.ckpt", "g.ckpt"]
    assert report["rows"] == spaces[0]["rows"] and report["floor"] == spaces[0]["floor"]
    assert spaces[0]["rows"][0]["fd_prior"] != spaces[1]["rows"][0]["fd_prior"]  # two spaces, two figures
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("training images (floor)") == 2 and "side by side, each FD divided by its space's floor" in out
    ratio = spaces[1]["rows"][0]["fd_prior"] / spaces[1]["floor"]
    assert f"{ratio:8.1f}" in out.split("side by side")[1]


def test_every_shipped_feature_network_is_listed_default_first():
    from latentlab.analysis.frechet import DEFAULT_FEATURE_NETWORK, shipped_feature_networks

    shipped = shipped_feature_networks()
    assert shipped and shipped[0] == DEFAULT_FEATURE_NETWORK
    assert all(p.suffix == ".ckpt" for p in shipped)


def test_feature_spaces_bench_prints_blur_and_reconstructions_against_each_floor(tmp_path, isolated_cache, capsys):
    from latentlab.bench.feature_spaces import main

    vae, _ = _save(tmp_path, "a-vae", "vae")
    assert main(["--checkpoint", str(vae), "--features", str(_features(tmp_path)), "--n", "12",
                 "--sigmas", "0.5,2"]) == 0
    out = capsys.readouterr().out
    assert "training faces (floor)" in out and "(   1.0x)" in out
    assert "blurred, σ = 0.5 px" in out and "blurred, σ = 2 px" in out and "reconstructions (vae)" in out
    with pytest.raises(SystemExit):  # a σ of 0 is refused by argparse
        main(["--checkpoint", str(vae), "--sigmas", "0"])


def test_mode_default_runs_each_models_measured_chain_setting(tmp_path, isolated_cache, capsys, monkeypatch):
    from latentlab.bench.quality import main
    from latentlab.explorer.chain_defaults import TABLE_FORMAT, TABLE_VERSION

    vae, _ = _save(tmp_path, "a-vae", "vae")
    table = tmp_path / "defaults.json"
    table.write_text(json.dumps({"format": TABLE_FORMAT, "version": TABLE_VERSION, "models": {
        "a-vae.ckpt": {"family": "vae", "mode": "stochastic", "debias": False, "steps": 2, "improves": True}}}))
    monkeypatch.setattr("latentlab.explorer.chain_defaults.TABLE_PATH", table)
    args = ["--checkpoints", str(vae), "--features", str(_features(tmp_path)), "--n", "16", "--json"]
    assert main(args + ["--mode", "default"]) == 0
    measured = json.loads(capsys.readouterr().out)["rows"][0]
    assert measured["chain_setting"] == "stochastic x2"
    assert main(args + ["--mode", "stochastic", "--chain-steps", "2"]) == 0
    given = json.loads(capsys.readouterr().out)["rows"][0]
    assert given["fd_chain"] == pytest.approx(measured["fd_chain"])  # the same chain, the same figure
    assert main(args + ["--mode", "stochastic", "--chain-steps", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["fd_chain"] != pytest.approx(measured["fd_chain"])
