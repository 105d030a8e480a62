"""The Chain tab: latent Markov chains stepped or played (`panel.ChainPanel`) with their live curves
(`plots.ChainPlots`); the runs themselves are `latentlab.explorer.chain_runs`."""
