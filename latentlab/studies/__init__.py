"""Studies: measurements that answer one question each with the library's parts, for the benches
and the docs; the explorer window uses none of them.

- `chain_study`: does the latent Markov chain (`latentlab.sampling.chain`) improve samples? Figures per
  chain step and mode against held-out data (`python -m latentlab.bench chain`, docs/chain-study.md).
- `mode_coverage`: the 2-D ring of 8 Gaussians, VEEGAN's mode metrics and a small MLP GAN with Su's
  regulariser (`python -m latentlab.bench modes`, docs/mode-coverage.md).

Studies sit above `models`, `sampling`, `analysis` and `trainers` and import nothing from the
window (`explorer`, `services`, `ui`) or the benches.
"""
