"""The explorer's Qt-free state: a loaded model with its latent atlas, and the maths the window shows."""

from latentlab.explorer.session import ExplorerSession

__all__ = ["ExplorerSession"]
