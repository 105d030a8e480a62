"""What ships with the app: the bundled checkpoints (`models/`) and the feature network (`features/`).

In the repository they live in the top-level `resources/` folder; an installed wheel (`pip install .`)
carries that folder as the package data `latentlab/bundled/` (see setup.py). A checkout, run in place
or installed with `pip install -e .`, has no `latentlab/bundled/` and uses `resources/` beside the
package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _resources_root() -> Path:
    shipped = files("latentlab") / "bundled"  # an installed wheel: a real folder in site-packages
    if isinstance(shipped, Path) and shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[1] / "resources"  # a checkout (in place, or `pip install -e .`)


RESOURCES = _resources_root()
MODELS = RESOURCES / "models"
FEATURES = RESOURCES / "features"
DEFAULT_MODEL = "vae-celeba.ckpt"


def bundled_models() -> list[Path]:
    """The bundled checkpoints, default first, then by name."""
    if not MODELS.is_dir():
        return []
    found = sorted(MODELS.glob("*.ckpt"))
    return sorted(found, key=lambda p: (p.name != DEFAULT_MODEL, p.name))


def default_model() -> Path | None:
    models = bundled_models()
    return models[0] if models else None


def bundled_pixel_models() -> list[Path]:
    """The bundled checkpoints of autoregressive (pixel-by-pixel) models, by name."""
    from latentlab.checkpoints.model_io import holds_autoregressive_model

    return sorted(path for path in bundled_models() if holds_autoregressive_model(path))
