"""Model families (one file each) sharing the protocol in `base.py`, found by name in the registry."""

from latentlab.models.autoencoder import Autoencoder, AutoencoderConfig
from latentlab.models.base import ConvModelConfig, LatentVariableModel
from latentlab.models.dvae import DenoisingVAE, DenoisingVAEConfig
from latentlab.models.registry import (
    MODELS,
    available_models,
    build_model,
    config_from_dict,
    config_to_dict,
    entry,
)
from latentlab.models.vae import VAE, VAEConfig

__all__ = [
    "MODELS", "Autoencoder", "AutoencoderConfig", "ConvModelConfig", "DenoisingVAE", "DenoisingVAEConfig",
    "LatentVariableModel", "VAE", "VAEConfig", "available_models", "build_model", "config_from_dict",
    "config_to_dict", "entry",
]
