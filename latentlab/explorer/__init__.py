"""The explorer's Qt-free state: a loaded model with its latent atlas, and the maths the window shows.

`session.ExplorerSession` (a model, its atlas, decode / encode, P̂(Z)); `map_layers` (what a latent
map shows: projection, points, gap heat map); and the work the views run on workers, as plain
generators and functions: `chain_runs` (latent chains), `pixel_runs` (autoregressive drawing) and
`compare_decodes` (the Compare window's decodes). Nothing here imports Qt (tests check it).
"""

from latentlab.explorer.session import ExplorerSession

__all__ = ["ExplorerSession"]
