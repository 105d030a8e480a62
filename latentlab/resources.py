"""What ships with the app: bundled checkpoints under `resources/models/` at the repository root."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
MODELS = RESOURCES / "models"
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
