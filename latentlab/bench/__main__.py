"""`python -m latentlab.bench NAME [options]`; NAME is one of the benchmarks listed by --help."""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "train-loop": ("latentlab.bench.train_loop", "training-loop throughput vs a bare PyTorch loop"),
    "data-load": ("latentlab.bench.data_load",
                  "cold vs cached decoding of an image dataset; --sizes: peak RSS against dataset size"),
    "chain-speed": ("latentlab.bench.chain_speed", "latent-chain steps/s vs bare decode+encode; chain panel redraws/s"),
    "drag": ("latentlab.bench.drag", "handle-move -> pixels latency vs the bare decoder forward"),
    "heartbeat": ("latentlab.bench.heartbeat", "event-loop stalls (10 ms heartbeat) while training runs"),
    "launch": ("latentlab.bench.launch", "time from launch to the first painted window"),
    "chain": ("latentlab.bench.chain", "the latent chain's effect on sample quality, per step and mode"),
    "chain-defaults": ("latentlab.bench.chain_defaults",
                       "each model's default chain setting: every mode +/- debias scored on training faces"),
    "chained-path": ("latentlab.bench.chained_path",
                     "an interpolation before / after k chain steps on every point, as a two-strip PNG"),
    "modes": ("latentlab.bench.modes", "2-D ring of 8 Gaussians: modes covered by the GAN with vs without Su's regulariser"),
    "pixels": ("latentlab.bench.pixels", "pixel-model sampling: naive vs fast (activation caching) speedup"),
    "pixel-models": ("latentlab.bench.pixel_models", "test bits/dim of PixelCNN, Gated PixelCNN, Row LSTM on one budget"),
    "p-hat": ("latentlab.bench.p_hat",
              "which density for P̂(Z): FD of decoded samples of candidate mixtures vs the prior"),
    "quality": ("latentlab.bench.quality",
                "Fréchet distance of every bundled CelebA model's prior and P̂(Z) samples, +/- chain"),
    "feature-spaces": ("latentlab.bench.feature_spaces",
                       "how each FD feature space sees blur: blurred faces and reconstructions vs its floor"),
    "scale": ("latentlab.bench.scale", "large atlases (3k-200k codes): launch, drag, hover, pan/zoom fps, peak RSS"),
    "directions": ("latentlab.bench.directions",
                   "attribute directions: group-mean vs logistic-regression normal, how often a factor flips"),
    "nearest": ("latentlab.bench.nearest",
                "memorisation: samples' nearest-training distances vs held-out faces', per CelebA model"),
    "soak": ("latentlab.bench.soak", "the real window busy for --minutes N: RSS, threads and errors over time"),
    "lock": ("latentlab.bench.lock",
             "a worker's decode while the main thread paints with Qt, runs Python or numpy (the interpreter lock)"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHES:
        print("usage: python -m latentlab.bench NAME [options]\n\nbenchmarks:")
        for name, (_, text) in BENCHES.items():
            print(f"  {name:12s} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(BENCHES[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
