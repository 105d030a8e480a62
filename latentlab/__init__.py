"""LatentLab: explore the latent spaces of generative models.

`latentlab.load(path)` returns a ready model (eval mode) from a checkpoint file;
`latentlab.explore(model, data)` opens the explorer window on a model in memory.
Model families of other packages arrive through the `latentlab.models` entry points (docs/plugins.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentlab.version import __version__

if TYPE_CHECKING:
    from torch import nn

__all__ = ["__version__", "explore", "load"]


def load(path, map_location: str = "cpu") -> nn.Module:
    """Load a LatentLab checkpoint into a ready model in eval mode (never executes code from the file)."""
    from latentlab.checkpoints import load_model

    return load_model(path, map_location=map_location)


def explore(model: nn.Module, data=None, *, block: bool = True, name: str | None = None, atlas_size: int = 3000):
    """Open the explorer window on an in-memory `model` (any model following the protocol of
    latentlab/models/base.py: a built-in family, a plugin's, or a class of your own; docs/plugins.md).

    data: the atlas of encoded images the latent map shows as P̂(Z): None (none), a dataset spec
    such as "fashion-mnist:~/data/fashion" (its first `atlas_size` training images), an
    ImageDataset, or images [N, C, H, W] as an array or tensor (uint8, or floats in [0, 1]).
    The window works on a CPU copy of the model in eval mode; yours is left as it was.

    block=True (from a script): returns None when the window is closed. block=False: shows the
    window and returns it (the MainWindow) at once; something else runs the Qt event loop, e.g. a
    notebook after `%gui qt`. Raises LatentLabError when the model or data does not fit, or when
    there is no display."""
    from latentlab.ui.explore import explore as open_window

    return open_window(model, data, block=block, name=name, atlas_size=atlas_size)
