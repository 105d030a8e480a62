"""LatentLab: explore the latent spaces of generative models.

`latentlab.load(path)` returns a ready model (eval mode) from a checkpoint file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from torch import nn


def load(path, map_location: str = "cpu") -> nn.Module:
    """Load a LatentLab checkpoint into a ready model in eval mode (never executes code from the file)."""
    from latentlab.checkpoints import load_model

    return load_model(path, map_location=map_location)
