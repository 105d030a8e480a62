"""The chain study (latentlab.studies.chain_study): the report's structure, its modes, reproducibility,
reference rows, its chain being the window's; and the bench command."""

import json

import numpy as np
import pytest
import torch

from latentlab.analysis.frechet import fid_against
from latentlab.models import build_model
from latentlab.sampling.chain import MEAN_DECODE, transition_bias
from latentlab.studies.chain_study import chain_report, chain_states

SPEC = "synthetic-faces?size=16&n=300"


class PooledFeatures:
    """A stand-in feature map (no file needed): 4x4 average pooling, 48 numbers per 16x16 image."""

    name = "pooled-4x4 (test)"

    def __call__(self, images):
        x = np.asarray(images, dtype=np.float64)
        n, c, h, w = x.shape
        return x.reshape(n, c, 4, h // 4, 4, w // 4).mean(axis=(3, 5)).reshape(n, -1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import os

    from latentlab.data import load_dataset

    old = os.environ.get("LATENTLAB_CACHE_DIR")
    os.environ["LATENTLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return load_dataset(SPEC, split="test"), load_dataset(SPEC, split="train")
    finally:
        if old is None:
            del os.environ["LATENTLAB_CACHE_DIR"]
        else:
            os.environ["LATENTLAB_CACHE_DIR"] = old


def _model(name="vae"):
    torch.manual_seed(0)
    return build_model(name, {"image_shape": [3, 16, 16], "latent_dim": 4, "base_channels": 4})


def test_report_structure_steps_modes_and_references(data):
    held_out, train = data
    model = _model()
    model.train()
    report = chain_report(model, held_out, PooledFeatures(), n=24, seed=3, steps=[5, 0, 2], train=train)
    assert model.training  # the model's mode is restored
    assert report.steps == [0, 2, 5] and report.modes == ["mean", "stochastic"]
    assert [(r.mode, r.step) for r in report.rows] == [("mean", 0), ("mean", 2), ("mean", 5),
                                                        ("stochastic", 0), ("stochastic", 2), ("stochastic", 5)]
    assert report.feature_network == "pooled-4x4 (test)" and report.n == 24 and report.seed == 3
    assert report.n_held_out == len(held_out) == 30
    assert "IMQ" in report.kernel and "300" not in (report.density or "") and "270" in report.density
    for r in report.rows:
        assert np.isfinite([r.fd, r.latent_mmd, r.gap, r.log_p_hat, r.intensity, r.sharpness, r.z_norm]).all()
        assert 0.0 <= r.intensity <= 1.0 and len(r.channel_means) == 3
    # Both modes start from the same prior draws.
    assert report.row("mean", 0).fd == report.row("stochastic", 0).fd
    assert report.row("mean", 0).change == 0.0 and report.row("mean", 2).change > 0.0
    refs = report.references
    assert set(refs) == {"held_out", "reconstructions", "train_images", "p_hat"}
    x = held_out.batch(slice(0, 30)).numpy()
    assert refs["held_out"]["intensity"] == pytest.approx(float(x.mean()), rel=1e-6)
    assert refs["held_out"]["n"] == 30 and refs["held_out"]["gap"] is not None
    model.eval()
    with torch.no_grad():
        recon = model.decode(model.encode(torch.from_numpy(x)).mean).mean.numpy()
    assert refs["reconstructions"]["fd"] == pytest.approx(fid_against(PooledFeatures()(recon), PooledFeatures()(x)),
                                                          rel=1e-5)
    assert refs["train_images"]["n"] == 24
    best = report.best_steps()
    assert set(best) == {"mean", "stochastic"}
    assert set(best["mean"]) == {"fd", "latent_mmd", "gap", "log_p_hat", "intensity", "sharpness"}
    data_dict = json.loads(report.to_json())
    assert data_dict["feature_network"] == "pooled-4x4 (test)" and len(data_dict["rows"]) == 6
    text = report.format()
    assert "mode: mean" in text and "mode: stochastic" in text and "held-out images" in text


def test_same_seed_same_report_other_seed_other_starts(data):
    held_out, _ = data
    kwargs = dict(n=16, steps=[0, 1, 3], modes=["stochastic", MEAN_DECODE])
    a = chain_report(_model("dvae"), held_out, PooledFeatures(), seed=1, **kwargs)
    b = chain_report(_model("dvae"), held_out, PooledFeatures(), seed=1, **kwargs)
    c = chain_report(_model("dvae"), held_out, PooledFeatures(), seed=2, **kwargs)
    assert [r.__dict__ for r in a.rows] == [r.__dict__ for r in b.rows]
    assert a.row("stochastic", 0).fd != c.row("stochastic", 0).fd
    assert a.density is None and a.row("stochastic", 1).gap is None and a.notes  # no atlas, no train data
    assert "train_images" not in a.references


def test_gap_density_comes_from_the_atlas_when_there_is_one(data):
    held_out, _ = data
    model = _model()
    rng = np.random.default_rng(0)
    model.checkpoint_extras = {"atlas_codes": torch.from_numpy(rng.standard_normal((50, 4)).astype(np.float32))}
    report = chain_report(model, held_out, PooledFeatures(), n=8, steps=[0, 1], modes=["mean"])
    assert "50 training images" in report.density and "atlas" in report.density
    assert report.row("mean", 1).gap is not None


def test_hybrid_chain_decodes_means_and_samples_codes(data):
    model = _model()
    z0 = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    states = list(chain_states(model, z0, 2, MEAN_DECODE, torch.Generator().manual_seed(0)))
    assert [s[0] for s in states] == [0, 1, 2]
    model.eval()
    with torch.no_grad():
        x0 = model.decode(torch.from_numpy(z0)).mean
        z1 = model.encode(x0).sample(generator=torch.Generator().manual_seed(0))
    assert np.allclose(states[1][1], z1.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="unknown chain mode"):
        list(chain_states(model, z0, 1, "bogus", None))


def test_study_chain_with_zero_bias_is_latent_chain_and_the_bias_is_subtracted():
    from latentlab.sampling.chain import latent_chain

    model = _model("dvae")  # with a corruption: every random draw must come in the same order
    z0 = np.random.default_rng(1).standard_normal((7, 4)).astype(np.float32)
    for mode in ("mean", "stochastic", MEAN_DECODE):
        ref = list(latent_chain(model, z0, 3, mode=mode, generator=torch.Generator().manual_seed(5), batch_size=3))
        own = list(chain_states(model, z0, 3, mode, torch.Generator().manual_seed(5), batch_size=3,
                                bias=np.zeros(4, np.float32)))
        for a, b in zip(ref, own):
            assert np.allclose(a.z, b[1], atol=1e-6) and np.allclose(a.x, b[2], atol=1e-6)
    # A bias is subtracted after each transition: the mean chain of a model is a deterministic map
    # apart from the corruption, so use the plain VAE there.
    vae = _model()
    bias = np.full(4, 0.5, np.float32)
    plain = list(chain_states(vae, z0, 1, "mean", None))
    shifted = list(chain_states(vae, z0, 1, "mean", None, bias=bias))
    assert np.allclose(shifted[1][1], plain[1][1] - bias, atol=1e-5)


@pytest.mark.parametrize("debias", [False, True])
@pytest.mark.parametrize("mode", ["mean", "stochastic", MEAN_DECODE])
def test_the_study_and_the_window_run_the_same_chain(mode, debias):
    """One chain implementation: for the same start, mode and seed, the study's chain (`chain_states`,
    debiased by `transition_bias` as `chain_report` does) gives exactly the codes and decodes of the
    window's chain (`latent_chain` as the chain panel runs it, debiased by `ExplorerSession.chain_bias`).
    Up to 250 chains both draw in one batch, so the random draws come in the same order."""
    from latentlab.explorer.session import ExplorerSession
    from latentlab.sampling.chain import latent_chain

    model = _model("dvae")  # a corruption: every transition draws from the generator, in every mode
    model.train()           # both must switch to eval mode and back in the same way
    atlas = np.random.default_rng(4).standard_normal((40, 4)).astype(np.float32)
    session = ExplorerSession(model=model, path=None, meta={}, atlas_codes=atlas)
    z0 = session.prior_samples(12, seed=3)
    window_bias = session.chain_bias(mode) if debias else None
    study_bias = transition_bias(model, atlas, mode, torch.Generator().manual_seed(0)) if debias else None
    if debias:
        np.testing.assert_array_equal(window_bias, study_bias)

    window = latent_chain(session.model, z0, None, mode, torch.Generator().manual_seed(11), bias=window_bias)
    window_states = [next(window) for _ in range(4)]
    window.close()
    study_states = list(chain_states(model, z0, 3, mode, torch.Generator().manual_seed(11), bias=study_bias))
    assert [s[0] for s in study_states] == [w.step for w in window_states] == [0, 1, 2, 3]
    for (_, z, x, change), state in zip(study_states, window_states):
        np.testing.assert_array_equal(z, state.z)
        np.testing.assert_array_equal(x, state.x)
        np.testing.assert_array_equal(change, state.change)
    assert not np.array_equal(study_states[3][1], z0)
    assert model.training and all(m.training for m in model.modules())


def test_transition_bias_is_the_mean_move_of_one_step(data):
    held_out, train = data
    vae = _model()
    codes = np.random.default_rng(2).standard_normal((40, 4)).astype(np.float32)
    b = transition_bias(vae, codes, "mean")
    moved = list(chain_states(vae, codes, 1, "mean", None))[1][1]
    assert b.shape == (4,) and np.allclose(b, (moved - codes).mean(axis=0), atol=1e-5)
    report = chain_report(vae, held_out, PooledFeatures(), n=8, steps=[0, 2], modes=["mean", "stochastic"],
                          train=train, debias=True)
    assert set(report.debias) == {"mean", "stochastic"} and all(v > 0 for v in report.debias.values())
    assert "debiased" in report.format() and json.loads(report.to_json())["debias"] == report.debias
    # Step 0 is the prior draw either way; later steps differ from the plain chain.
    plain = chain_report(vae, held_out, PooledFeatures(), n=8, steps=[0, 2], modes=["mean"], train=train)
    assert plain.debias is None and plain.row("mean", 0).fd == report.row("mean", 0).fd
    assert plain.row("mean", 2).fd != report.row("mean", 2).fd
    with pytest.raises(ValueError, match="debias needs"):
        chain_report(vae, held_out, PooledFeatures(), n=8, steps=[0, 1], debias=True)


def test_bad_arguments_are_refused(data):
    held_out, _ = data
    with pytest.raises(ValueError, match="unknown chain mode"):
        chain_report(_model(), held_out, PooledFeatures(), n=4, modes=["fast"])
    with pytest.raises(ValueError, match="n must be"):
        chain_report(_model(), held_out, PooledFeatures(), n=1)


def test_bench_command_prints_tables_and_json(tmp_path, isolated_cache, capsys):
    from latentlab.bench.chain import main
    from latentlab.checkpoints import save_model

    model = _model()
    path = save_model(tmp_path / "m.ckpt", model, dataset={"spec": SPEC})
    features = save_model(tmp_path / "f.ckpt", build_model("ae", {"image_shape": [3, 16, 16], "latent_dim": 5,
                                                                   "base_channels": 4}))
    args = ["--checkpoint", str(path), "--features", str(features), "--n", "12", "--steps", "0,1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "mode: mean" in out and "mode: stochastic" in out and "f.ckpt" in out and "test split, 30 images" in out
    assert main(args + ["--json", "--modes", "mean"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 12 and report["modes"] == ["mean"] and report["steps"] == [0, 1]
    assert main(["--checkpoint", str(path), "--features", str(tmp_path / "none.ckpt")]) == 2
    assert "feature network not found" in capsys.readouterr().err
    # two feature spaces: one report each, the same chains scored twice
    torch.manual_seed(3)
    second = save_model(tmp_path / "g.ckpt", build_model("contrastive", {"image_shape": [3, 16, 16], "latent_dim": 6,
                                                                          "projection_dim": 4, "base_channels": 4}))
    assert main(args + ["--features", str(features), str(second), "--modes", "mean", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    first, other = both["feature_spaces"]
    assert "f.ckpt" in first["feature_network"] and "g.ckpt" in other["feature_network"]
    assert both["rows"] == first["rows"]
    assert [r["z_norm"] for r in first["rows"]] == [r["z_norm"] for r in other["rows"]]  # the same chains
    assert [r["fd"] for r in first["rows"]] != [r["fd"] for r in other["rows"]]


def test_p_hat_reference_row_and_chains_started_from_p_hat(data, tmp_path, isolated_cache, capsys):
    """The "P^ samples" row decodes seeded draws of the fitted P̂(Z); start="p_hat" starts the chains
    from exactly those draws (step 0 = that row), and the bench exposes it as --start p-hat."""
    from latentlab.analysis.density import sample_p_hat
    from latentlab.analysis.codes import model_p_hat

    held_out, train = data
    model = _model()
    prior_start_report = chain_report(model, held_out, PooledFeatures(), n=12, seed=2, steps=[0, 1], modes=["mean"],
                                      train=train)
    row = prior_start_report.references["p_hat"]
    assert row["n"] == 12 and row["fd"] > 0 and row["gap"] is not None
    assert "P^ samples" in prior_start_report.format()
    report = chain_report(model, held_out, PooledFeatures(), n=12, seed=2, steps=[0, 1], modes=["mean"], train=train,
                          start="p_hat")
    assert report.start == "p_hat" and "chains from draws of P^(Z)" in report.format()
    assert report.row("mean", 0).fd == pytest.approx(row["fd"])
    density = model_p_hat(model, train)[0]
    z1 = next(z for step, z, _, _ in chain_states(model, sample_p_hat(density, 12, 2), 1, "mean", None) if step == 1)
    assert report.row("mean", 1).z_norm == pytest.approx(float(np.linalg.norm(z1, axis=1).mean()), rel=1e-5)
    with pytest.raises(ValueError, match="start p_hat needs"):
        chain_report(model, held_out, PooledFeatures(), n=4, steps=[0], start="p_hat")
    with pytest.raises(ValueError, match="unknown start"):
        chain_report(model, held_out, PooledFeatures(), n=4, steps=[0], start="gan")

    from latentlab.bench.chain import main
    from latentlab.checkpoints import save_model

    path = save_model(tmp_path / "m.ckpt", model, dataset={"spec": SPEC})
    features = save_model(tmp_path / "f.ckpt", build_model("ae", {"image_shape": [3, 16, 16], "latent_dim": 5,
                                                                   "base_channels": 4}))
    assert main(["--checkpoint", str(path), "--features", str(features), "--n", "12", "--steps", "0,1",
                 "--modes", "mean", "--start", "p-hat", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["start"] == "p_hat" and out["references"]["p_hat"]["fd"] > 0
