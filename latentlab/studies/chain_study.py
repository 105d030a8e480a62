"""Does the latent Markov chain improve samples? Figures per chain step and mode, against held-out data.

`chain_report` starts n chains from the prior (z_0 ~ N(0, I), a seeded torch.Generator; or, with
``start="p_hat"``, from seeded draws of the model's fitted P̂(Z), `analysis.density.sample_p_hat`), runs the
latent chain (`latentlab.sampling.chain`, Creswell et al. 2016) to the largest requested step and,
at each requested step t, measures:

- ``fd``: the Fréchet distance (Heusel et al. 2017; `latentlab.analysis.frechet`) between the
  decodes E[x | z_t] and the held-out images, in the feature space φ of a network trained in this
  project (by default the shipped CelebA autoencoder's 128-d encoder code). Not an Inception FID:
  only comparable with the same network, sample sizes and seed, which the report records.
  ``fd_mean`` is its first term ||μ1 - μ2||² alone (the rest is the covariance term), to tell a
  shift of the average sample (colour, brightness) from a change of spread (diversity).
- ``latent_mmd``: the unbiased MMD² (`mmd_unbiased`) between z_t and the posterior means E[z | x]
  of the held-out images, with the WAE multi-scale IMQ kernel Σ_s C_s / (C_s + ||a - b||²),
  C_s = 2 · D · s, s ∈ {.1, .2, .5, 1, 2, 5, 10} (prior variance 1).
- ``gap``: the mean gap score log P(z_t) - log P̂(z_t) in nats, with P̂(Z) the explorer's estimate
  (`analysis.codes.model_p_hat`: `analysis.density.fit_p_hat`, a 10-component full-covariance
  Gaussian mixture fitted by EM, seed 0, to draws z ~ Q(z|x) of the model's atlas, else to the
  posterior means of the first 3000 training images); and
  ``log_p_hat``, its second term alone, mean log P̂(z_t). Read them together: the gap also falls
  when codes move out to where the prior is small (large ||z||), which is no improvement; a code
  that lands where the data's codes lie has a log P̂ near the held-out codes' own.
- ``intensity`` and ``sharpness``: the decodes' mean pixel value and mean variance of the Laplacian
  of the luminance (`image_stats`), to compare with the held-out images' own.
- diagnostics for why figures move: ``z_norm`` (mean ||z_t||), ``z_mean_norm`` (||mean of z_t||),
  ``channel_means`` (the decodes' mean R, G, B), ``change`` (mean RMS pixel change of the
  decodes from step t-1 to t).

Reference rows (``references``): the held-out images themselves (intensity, sharpness, gap score
of their posterior means); their reconstructions decode(E[z | x]) (FD: what the decoder reaches
from codes of real faces, a lower reference for the chain); and, when training images are given,
n training images against the held-out ones (FD and latent MMD of two real samples: the floor the
finite sample sizes allow); and, when P̂(Z) is known, n decoded draws of it (seed `seed`): sampling the
fitted density instead of running a chain (ex-post density estimation, Ghosh et al. 2020).

Modes: every mode of the chain itself (`latentlab.sampling.chain.TRANSITION_MODES`): the window's
"mean" and "stochastic" (`CHAIN_MODES`), plus the diagnostic hybrid "mean-decode" (`MEAN_DECODE`:
x = E[x | z_t], z_{t+1} ~ Q(z | x̃)): re-encode the decoder's mean image, as the reference
implementations do, but sample the code. It differs from "stochastic" only in leaving out the
Bernoulli pixel sampling, which is what darkens the bundled VAE's stochastic chain
(docs/chain-study.md); it is not better than no chain at all. Every chain here is
`sampling.chain.latent_chain`, the window's chain: the same transition, eval mode and draw order,
so the same seed and mode give the same codes in both.

Debiased chain (``debias=True``; `sampling.chain.transition_bias`): z_{t+1} = T(z_t) - b with
b = mean over training codes z of (T(z) - z), measured once per mode. If P̂(Z) were the chain's
stationary distribution b would be 0; for the bundled CelebA VAE one stochastic transition moves
the codes' mean by ||b|| ≈ 1.1 toward darker faces, and subtracting it turns that chain from the
worst option into the best one measured for this VAE (Fréchet distance about 8% below step 0
after 2 steps; figures in docs/chain-study.md). It did not help the denoising VAE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from latentlab.analysis.codes import (
    atlas_codes,
    decode_means,
    image_array,
    model_p_hat,
    posterior_means,
    reconstructions,
)
from latentlab.analysis.density import StandardNormal, gap_score, sample_p_hat
from latentlab.analysis.frechet import fid_against
from latentlab.analysis.image_stats import mean_intensity, mmd_unbiased, sharpness
from latentlab.models.mmd import IMQ_SCALES
from latentlab.sampling.chain import (
    CHAIN_MODES,
    TRANSITION_MODES,
    latent_chain,
    model_device,
    prior_start,
    transition_bias,
)

DEFAULT_STEPS = (0, 1, 2, 5, 10)
DEFAULT_MODES = CHAIN_MODES
#: the modes a report may hold; their order fixes each mode's generator seed (see `chain_report`)
REPORT_MODES = TRANSITION_MODES
CHAIN_STARTS = ("prior", "p_hat")
KERNEL_DESCRIPTION = ("IMQ, multi-scale: sum over C = 2*D*s, s in {" + ", ".join(f"{s:g}" for s in IMQ_SCALES)
                      + "} of C / (C + ||a-b||^2) (prior variance 1); unbiased MMD^2")

FeatureFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class StepFigures:
    """The figures of one mode at one step (see the module docstring for each)."""

    mode: str
    step: int
    fd: float
    fd_mean: float
    latent_mmd: float
    gap: float | None
    log_p_hat: float | None
    intensity: float
    sharpness: float
    z_norm: float
    z_mean_norm: float
    change: float
    channel_means: list[float]


@dataclass
class ChainReport:
    """Everything `chain_report` measured, with what is needed to reproduce and compare it."""

    model: str
    feature_network: str
    n: int
    n_held_out: int
    seed: int
    steps: list[int]
    modes: list[str]
    kernel: str
    density: str | None
    rows: list[StepFigures]
    references: dict[str, dict[str, Any]]
    debias: dict[str, float] | None = None  # mode -> ||b|| when the debiased chain ran
    start: str = "prior"                    # where the chains start: "prior" or "p_hat"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def row(self, mode: str, step: int) -> StepFigures:
        for r in self.rows:
            if r.mode == mode and r.step == step:
                return r
        raise KeyError(f"no row for mode {mode!r}, step {step}")

    def best_steps(self) -> dict[str, dict[str, int]]:
        """Per mode, the step whose figure is best: lowest FD and latent MMD; intensity, sharpness,
        gap and log P̂ closest to the held-out images' (a gap lower than the data codes' own is
        no better: it also comes from codes far out where the prior is small)."""
        held = self.references["held_out"]
        out: dict[str, dict[str, int]] = {}
        for mode in self.modes:
            rows = [r for r in self.rows if r.mode == mode]
            best = {"fd": min(rows, key=lambda r: r.fd).step,
                    "latent_mmd": min(rows, key=lambda r: r.latent_mmd).step,
                    "intensity": min(rows, key=lambda r: abs(r.intensity - held["intensity"])).step,
                    "sharpness": min(rows, key=lambda r: abs(r.sharpness - held["sharpness"])).step}
            if held.get("gap") is not None and all(r.gap is not None for r in rows):
                best["gap"] = min(rows, key=lambda r: abs(r.gap - held["gap"])).step
                best["log_p_hat"] = min(rows, key=lambda r: abs(r.log_p_hat - held["log_p_hat"])).step
            out[mode] = best
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best_steps"] = self.best_steps()
        return data

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format(self) -> str:
        """Readable tables: one per mode, then the reference rows."""
        lines = [f"model: {self.model}",
                 f"features: {self.feature_network}",
                 f"n = {self.n} chains from {'draws of P^(Z)' if self.start == 'p_hat' else 'the prior'}, "
                 f"seed {self.seed}; held-out images: {self.n_held_out}",
                 f"latent MMD: {self.kernel}",
                 f"gap: mean log P(z) - log P^(z) in nats; log P^: mean log P^(z); "
                 f"P^ = {self.density or 'not available'}",
                 "FD (mean): the ||mu1 - mu2||^2 part of FD; intensity: mean pixel value; "
                 "sharpness: variance of the Laplacian of the luminance (x1000)",
                 ""]
        header = f"{'step':>6} {'FD':>9} {'(mean)':>7} {'latent MMD':>11} {'gap':>8} {'log P^':>8} {'intensity':>10} " \
                 f"{'sharpness':>10} {'mean |z|':>9} {'RGB means':>17}"
        held = self.references["held_out"]
        best = self.best_steps()
        for mode in self.modes:
            if self.debias is not None:
                lines.append(f"mode: {mode}, debiased: z_(t+1) = T(z_t) - b, ||b|| = {self.debias[mode]:.2f}")
            else:
                lines.append(f"mode: {mode}")
            lines.append(header)
            for r in (r for r in self.rows if r.mode == mode):
                lines.append(f"{r.step:>6d} {r.fd:>9.2f} {r.fd_mean:>7.2f} {r.latent_mmd:>11.4f} {_fmt(r.gap, 8, 2)} "
                             f"{_fmt(r.log_p_hat, 8, 1)} {r.intensity:>10.3f} {1e3 * r.sharpness:>10.3f} "
                             f"{r.z_norm:>9.2f} {_rgb(r.channel_means):>17}")
            lines.append("  best step: " + ", ".join(f"{k} {v}" for k, v in best[mode].items()))
            lines.append("")
        lines.append("references")
        lines.append(f"{'':>17} {'FD':>9} {'(mean)':>7} {'latent MMD':>11} {'gap':>8} {'log P^':>8} {'intensity':>10} "
                     f"{'sharpness':>10} {'mean |z|':>9} {'RGB means':>17}")
        labels = {"held_out": "held-out images", "reconstructions": "reconstructions",
                  "train_images": "train images", "p_hat": "P^ samples"}
        for key, label in labels.items():
            ref = self.references.get(key)
            if ref is None:
                continue
            lines.append(f"{label:>17} {_fmt(ref.get('fd'), 9, 2)} {_fmt(ref.get('fd_mean'), 7, 2)} "
                         f"{_fmt(ref.get('latent_mmd'), 11, 4)} "
                         f"{_fmt(ref.get('gap'), 8, 2)} {_fmt(ref.get('log_p_hat'), 8, 1)} "
                         f"{_fmt(ref.get('intensity'), 10, 3)} "
                         f"{_fmt(_scaled(ref.get('sharpness')), 10, 3)} {_fmt(ref.get('z_norm'), 9, 2)} "
                         f"{_rgb(ref.get('channel_means')):>17}")
        lines.append(f"(held-out: {held['n']} images; FD and MMD of the held-out images against themselves are 0)")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


def _scaled(value: float | None) -> float | None:
    return None if value is None else 1e3 * value


def _fmt(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _rgb(values: Sequence[float] | None) -> str:
    return "-" if not values else "/".join(f"{v:.3f}" for v in values)


# ----------------------------------------------------------------------------------- figures


def _image_figures(x: np.ndarray) -> dict[str, Any]:
    return {"intensity": float(mean_intensity(x).mean()), "sharpness": float(sharpness(x).mean()),
            "channel_means": [float(v) for v in x.mean(axis=(0, 2, 3))]}


def _mean_term(a: np.ndarray, b: np.ndarray) -> float:
    """||mean(a) - mean(b)||²: the part of the Fréchet distance due to the means alone."""
    d = np.asarray(a, np.float64).mean(axis=0) - np.asarray(b, np.float64).mean(axis=0)
    return float(d @ d)


def _z_figures(z: np.ndarray) -> dict[str, float]:
    z = np.asarray(z, dtype=np.float64)
    return {"z_norm": float(np.linalg.norm(z, axis=1).mean()), "z_mean_norm": float(np.linalg.norm(z.mean(axis=0)))}


# ------------------------------------------------------------------------------- the chains


def chain_states(model: Any, z0: np.ndarray, max_step: int, mode: str, generator: torch.Generator | None,
                 batch_size: int = 250, bias: np.ndarray | None = None,
                 ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(step, z_t, decoder means x_t, RMS change) for steps 0..max_step of `latent_chain` in `mode`
    (any of `REPORT_MODES`), with its `bias` subtracted after every transition,
    z_{t+1} = T(z_t) - bias (see `sampling.chain.transition_bias`)."""
    for state in latent_chain(model, z0, max_step, mode=mode, generator=generator, batch_size=batch_size, bias=bias):
        yield state.step, state.z, state.x, state.change


# ------------------------------------------------------------------------------------ report


def chain_report(model: Any, held_out: Any, features: FeatureFn, n: int = 1000, seed: int = 0,
                 steps: Sequence[int] = DEFAULT_STEPS, modes: Sequence[str] = DEFAULT_MODES,
                 train: Any = None, gap_codes: np.ndarray | None = None, feature_name: str | None = None,
                 model_name: str | None = None, batch_size: int = 250, debias: bool = False,
                 progress: Callable[[str], None] | None = None, start: str = "prior") -> ChainReport:
    """Measure the chain's effect on samples; see the module docstring for every figure.

    model: a latent-variable model with an encoder (VAE, DVAE, AE...).
    held_out: held-out images: an ImageDataset (e.g. ``load_dataset(spec, split="test")``) or
        float [M, C, H, W] in [0, 1]; all of them are used.
    features: φ, images float [N, C, H, W] in [0, 1] -> [N, F] (a `FeatureNetwork`, or any
        function; its ``.name`` is recorded, or `feature_name`).
    train: optional training images (ImageDataset or array): the "train images" reference row uses
        their first n, and the gap density their first 3000 posterior means when `gap_codes` is
        None and the model has no atlas.
    gap_codes: posterior means of training images for P̂(Z) (default: the model's atlas codes).
        Without any of the three, the gap column is None.
    debias: run the debiased chain z_{t+1} = T(z_t) - b instead, with b = `transition_bias` of
        each mode measured on those same training codes (so it needs one of the three).
    start: "prior" (the default) or "p_hat": the chains start from `sample_p_hat(P̂, n, seed)`, the
        draws of the "P^ samples" reference row (so it needs one of the three, too).
    The chains start from `prior_start` with ``torch.Generator().manual_seed(seed)``; each mode's
    chain draws from its own generator seeded with ``seed + 1 + index of the mode in
    REPORT_MODES``, so a report is reproducible and the modes share their starting points (the
    debiasing b draws from a generator seeded with ``seed + 100``).
    """
    steps = sorted({int(s) for s in steps})
    if not steps or steps[0] < 0:
        raise ValueError(f"steps must be non-negative integers, got {steps}")
    for mode in modes:
        if mode not in REPORT_MODES:
            raise ValueError(f"unknown chain mode {mode!r}; choose from {', '.join(REPORT_MODES)}")
    if n < 2:
        raise ValueError(f"n must be >= 2 (the Fréchet distance and the MMD need two samples), got {n}")
    if start not in CHAIN_STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {', '.join(CHAIN_STARTS)}")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    notes: list[str] = []
    device = model_device(model)

    # Held-out data: images, features, codes.
    say("encoding the held-out images")
    held_images = image_array(held_out)
    if len(held_images) < 2:
        raise ValueError(f"need at least 2 held-out images, got {len(held_images)}")
    held_features = np.asarray(features(held_images), dtype=np.float64)
    held_codes = posterior_means(model, held_images, batch_size)

    # P̂(Z) for the gap scores: fitted exactly as the window's gap map does.
    if gap_codes is None and atlas_codes(model) is None and train is not None:
        say("encoding training images for P^(Z)")
    density, density_text, codes = model_p_hat(model, train, gap_codes, batch_size)
    if density is None:
        notes.append("no atlas and no training images: gap scores not computed")
        if debias or start == "p_hat":
            raise ValueError(f"{'debias' if debias else 'start p_hat'} needs codes of training images: a model "
                             "with an atlas, train or gap_codes")
    prior = StandardNormal(int(model.latent_dim))

    def mean_gap(z: np.ndarray) -> float | None:
        return None if density is None else float(np.mean(gap_score(z, prior, density)))

    def mean_log_p_hat(z: np.ndarray) -> float | None:
        return None if density is None else float(np.mean(density.log_prob(np.asarray(z, dtype=np.float64))))

    # References.
    say("reference rows")
    references: dict[str, dict[str, Any]] = {}
    references["held_out"] = {"n": len(held_images), **_image_figures(held_images), "gap": mean_gap(held_codes),
                              "log_p_hat": mean_log_p_hat(held_codes), **_z_figures(held_codes)}
    recon = reconstructions(model, held_images, batch_size)
    recon_features = features(recon)
    references["reconstructions"] = {"n": len(recon), "fd": fid_against(recon_features, held_features),
                                     "fd_mean": _mean_term(recon_features, held_features),
                                     "latent_mmd": None, **_image_figures(recon)}
    if train is not None:
        train_images = image_array(train, n)
        if len(train_images) >= 2:
            train_codes = posterior_means(model, train_images, batch_size)
            train_features = features(train_images)
            references["train_images"] = {
                "n": len(train_images), "fd": fid_against(train_features, held_features),
                "fd_mean": _mean_term(train_features, held_features),
                "latent_mmd": mmd_unbiased(train_codes, held_codes, kernel="imq"),
                "gap": mean_gap(train_codes), "log_p_hat": mean_log_p_hat(train_codes),
                **_image_figures(train_images), **_z_figures(train_codes)}

    p_hat_z = None if density is None else sample_p_hat(density, n, seed)
    if p_hat_z is not None:
        say("P^ samples")
        p_hat_x = decode_means(model, p_hat_z, batch_size)
        p_hat_features = features(p_hat_x)
        references["p_hat"] = {
            "n": n, "fd": fid_against(p_hat_features, held_features),
            "fd_mean": _mean_term(p_hat_features, held_features),
            "latent_mmd": mmd_unbiased(p_hat_z, held_codes, kernel="imq"), "gap": mean_gap(p_hat_z),
            "log_p_hat": mean_log_p_hat(p_hat_z), **_image_figures(p_hat_x), **_z_figures(p_hat_z)}

    # The chains.
    if start == "p_hat":
        z0 = p_hat_z
    else:
        z0 = prior_start(model, n, torch.Generator(device=device).manual_seed(seed))
    rows: list[StepFigures] = []
    wanted = set(steps)
    biases: dict[str, float] | None = {} if debias else None
    for mode in modes:
        generator = torch.Generator(device=device).manual_seed(seed + 1 + REPORT_MODES.index(mode))
        bias = None
        if debias:
            say(f"{mode} chain: measuring the transition bias on {len(codes)} training codes")
            bias = transition_bias(model, codes, mode, torch.Generator(device=device).manual_seed(seed + 100),
                                   batch_size)
            biases[mode] = float(np.linalg.norm(bias))
        for step, z, x, change in chain_states(model, z0, steps[-1], mode, generator, batch_size, bias):
            if step not in wanted:
                continue
            say(f"{mode} chain, step {step}")
            feats = np.asarray(features(x), dtype=np.float64)
            img = _image_figures(x)
            rows.append(StepFigures(
                mode=mode, step=step, fd=fid_against(feats, held_features), fd_mean=_mean_term(feats, held_features),
                latent_mmd=mmd_unbiased(z, held_codes, kernel="imq"), gap=mean_gap(z), log_p_hat=mean_log_p_hat(z),
                intensity=img["intensity"], sharpness=img["sharpness"], **_z_figures(z),
                change=float(np.mean(change)), channel_means=img["channel_means"]))

    name = feature_name or getattr(features, "name", None) or getattr(features, "__name__", "features")
    return ChainReport(
        model=model_name or type(model).__name__, feature_network=str(name), n=int(n),
        n_held_out=len(held_images), seed=int(seed), steps=steps, modes=list(modes), kernel=KERNEL_DESCRIPTION,
        density=density_text, rows=rows, references=references, debias=biases, start=start,
        seconds=time.perf_counter() - started, notes=notes)


def fd_ratios_by_setting(model: Any, compared: np.ndarray, floor_images: np.ndarray, feature_spaces: Sequence[FeatureFn],
                         n: int = 500, seed: int = 0, steps: Sequence[int] = DEFAULT_STEPS,
                         modes: Sequence[str] = REPORT_MODES, debias_options: Sequence[bool] = (False, True),
                         batch_size: int = 250, progress: Callable[[str], None] | None = None,
                         ) -> dict[tuple[str, bool, int], dict[str, float]]:
    """{(mode, debias, step): {feature space name: FD / floor}} for n chains from the prior: each
    (mode, debias) chain runs once and its decodes are scored in every space, against `compared`
    images, the floor being `floor_images` against the same. Seeds as in `chain_report` (so its
    figures agree); debiasing subtracts b measured on the model's atlas codes, which it needs."""
    say = progress or (lambda _msg: None)
    steps = sorted({int(s) for s in steps})
    device = model_device(model)
    compared_features = [np.asarray(space(compared), np.float64) for space in feature_spaces]
    floors = [fid_against(np.asarray(space(floor_images), np.float64), target)
              for space, target in zip(feature_spaces, compared_features)]
    names = [str(getattr(space, "name", f"space {i}")) for i, space in enumerate(feature_spaces)]
    codes = atlas_codes(model)  # what debiasing measures b on (chain_report's codes for a bundled model)
    z0 = prior_start(model, n, torch.Generator(device=device).manual_seed(seed))
    out: dict[tuple[str, bool, int], dict[str, float]] = {}
    for debias in debias_options:
        if debias and codes is None:
            raise ValueError("debiasing needs the model's atlas codes (bundle it with an atlas)")
        for mode in modes:
            bias = (transition_bias(model, codes, mode, torch.Generator(device=device).manual_seed(seed + 100),
                                    batch_size) if debias else None)
            generator = torch.Generator(device=device).manual_seed(seed + 1 + REPORT_MODES.index(mode))
            for step, _z, x, _change in chain_states(model, z0, steps[-1], mode, generator, batch_size, bias):
                if step in steps:
                    say(f"{mode}{' + debias' if debias else ''}, step {step}")
                    out[(mode, debias, step)] = {
                        name: fid_against(np.asarray(space(x), np.float64), target) / floor
                        for name, space, target, floor in zip(names, feature_spaces, compared_features, floors)}
    return out


__all__ = [
    "CHAIN_STARTS",
    "DEFAULT_MODES",
    "DEFAULT_STEPS",
    "REPORT_MODES",
    "ChainReport",
    "StepFigures",
    "chain_report",
    "chain_states",
    "fd_ratios_by_setting",
]
