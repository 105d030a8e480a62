"""Which attribute direction flips a generating factor of the synthetic faces more reliably: the
difference of group means (White 2016) or a linear classifier's normal (logistic regression, as
InterFaceGAN's SVM, Shen et al. 2020)? (`explorer.directions`; `python -m latentlab.bench directions`.)

Protocol, for each factor f (binarised by `explorer.directions.label_groups` / `in_group_b`: the
higher of two categories, or above the atlas's median):

1. Both directions are estimated exactly as the window does (`direction_from_label`) from the
   model's atlas (its encoded training faces) and their labels.
2. A judge decides whether a decoded face has f. It is a small convolutional network, one logit per
   factor, trained (`train_judge`) on *reconstructions* decode(E[z|x]) of training faces that are
   not in the atlas, with the factors that generated them as targets. Reconstructions, not the
   rendered faces, because what it judges are decodes (blurred as the decoder blurs); an image
   classifier, not a classifier of re-encoded codes, because a linear classifier in code space would
   share the very assumption (a linear boundary in code space) that one of the two methods makes,
   and would favour it. Its accuracy on reconstructions of held-out faces is reported beside it.
3. Held-out faces that lack f (by their generating factor *and* by the judge on their
   reconstruction) are moved to z + t·v/‖v‖ for each t; the flip rate is the share the judge then
   says have f. "Others" is the mean, over the other factors judged, of the share whose judged label
   changed from t = 0: a direction that flips f by changing everything else too is worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from latentlab.analysis.codes import decode_means, posterior_means, reconstructions
from latentlab.explorer.directions import METHODS, direction_from_label, in_group_b


class Judge(nn.Module):
    """Images pooled to 32x32 (decodes are blurred anyway; 4x less work than 64x64), three stride-2
    convolutions with batch-norm, and one logit per factor."""

    def __init__(self, channels: int, factors: int) -> None:
        super().__init__()
        widths = (channels, 32, 64, 128)
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(32)]
        for c_in, c_out in pairwise(widths):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(128 * 4 * 4, factors)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_judge(images: np.ndarray, targets: np.ndarray, epochs: int = 6, batch: int = 64,
                seed: int = 0) -> Judge:
    """Fit a `Judge` to float images [N, C, H, W] in [0, 1] and bool targets [N, F] (binary
    cross-entropy, Adam lr 1e-3)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n, channels = images.shape[:2]
    judge = Judge(channels, targets.shape[1])
    optimiser = torch.optim.Adam(judge.parameters(), lr=1e-3)
    x_all, y_all = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(targets, dtype=torch.float32)
    judge.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            index = order[start:start + batch]
            loss = nn.functional.binary_cross_entropy_with_logits(judge(x_all[index]), y_all[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return judge.eval()


@torch.no_grad()
def judged(judge: Judge, images: np.ndarray, batch: int = 250) -> np.ndarray:
    """bool [N, F]: the judge's verdict (logit > 0) per image and factor."""
    out = [judge(torch.as_tensor(images[s:s + batch], dtype=torch.float32)) > 0 for s in range(0, len(images), batch)]
    return torch.cat(out).numpy()


@dataclass(frozen=True)
class FlipRow:
    factor: str
    method: str
    t: float
    flipped: float        # share of the faces lacking the factor that the judge says have it after the move
    others_changed: float  # mean share of the other judged factors whose verdict changed
    faces: int            # faces moved (held-out, lacking the factor by label and by judge)


@dataclass(frozen=True)
class DirectionReport:
    rows: list[FlipRow]
    judge_accuracy: dict[str, float]   # on reconstructions of the held-out faces
    cosines: dict[str, float]          # cos(group-mean, classifier) per factor
    strips: list[tuple[str, np.ndarray]]  # (caption, uint8 [T, C, H, W]) one face moved, per factor and method


def direction_flips(model, atlas_codes: np.ndarray, atlas_labels: dict[str, np.ndarray], judge_images: np.ndarray,
                    judge_labels: dict[str, np.ndarray], held_images: np.ndarray, held_labels: dict[str, np.ndarray],
                    factors: Sequence[str], steps: Sequence[float], epochs: int = 6, seed: int = 0,
                    log=print) -> DirectionReport:
    """The study above. Images are uint8 [N, C, H, W]; labels map factor -> [N]."""
    factors = list(factors)
    targets = lambda labels: np.stack([in_group_b(labels[f], atlas_labels[f]) for f in factors], axis=1)
    log(f"reconstructing {len(judge_images)} training faces for the judge")
    judge_x = reconstructions(model, judge_images.astype(np.float32) / 255.0)
    log(f"training the judge ({epochs} epochs)")
    judge = train_judge(judge_x, targets(judge_labels), epochs=epochs, seed=seed)
    held_x = held_images.astype(np.float32) / 255.0
    held_codes = posterior_means(model, held_x)
    held_truth = targets(held_labels)
    at_start = judged(judge, decode_means(model, held_codes))
    accuracy = {f: float((at_start[:, i] == held_truth[:, i]).mean()) for i, f in enumerate(factors)}
    log("judge accuracy on held-out reconstructions: " + ", ".join(f"{f} {a:.1%}" for f, a in accuracy.items()))

    rows, cosines, strips = [], {}, []
    for i, factor in enumerate(factors):
        off = np.flatnonzero(~held_truth[:, i] & ~at_start[:, i])
        others = [j for j in range(len(factors)) if j != i]
        vectors = {}
        for method in METHODS:
            direction = direction_from_label(factor, method, atlas_codes, atlas_labels[factor], factor)
            vectors[method] = direction.unit
            strip_t = [0.0, *steps]
            strips.append((f"{factor}, {method}", np.concatenate(
                [_to_uint8(decode_means(model, direction.moved(held_codes[off[:1]], t))) for t in strip_t])))
            for t in steps:
                verdict = judged(judge, decode_means(model, direction.moved(held_codes[off], t)))
                changed = (verdict[:, others] != at_start[off][:, others]).mean() if others else 0.0
                rows.append(FlipRow(factor, method, float(t), float(verdict[:, i].mean()), float(changed), len(off)))
                log(f"{factor:12s} {method:10s} t={t:<4g} flipped {rows[-1].flipped:6.1%}  others changed "
                    f"{rows[-1].others_changed:6.1%}  ({len(off)} faces)")
        cosines[factor] = float(vectors["group-mean"] @ vectors["classifier"])
    return DirectionReport(rows, accuracy, cosines, strips)


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
