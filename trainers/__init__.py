"""How each model family is fitted: the training loop, fitting schemes and the `latentlab-train` CLI."""
