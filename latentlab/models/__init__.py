"""Model families (one file each) sharing the protocol in `base.py`, found by name in the registry;
installed packages add their own through the `latentlab.models` entry points (docs/plugins.md)."""

from latentlab.models.aae import AAE, AAEConfig
from latentlab.models.ali import ALI, ALIConfig
from latentlab.models.autoencoder import Autoencoder, AutoencoderConfig
from latentlab.models.base import AdversarialModel, ConvModelConfig, LatentVariableModel
from latentlab.models.contrastive import ContrastiveConfig, ContrastiveEncoder
from latentlab.models.dvae import DenoisingVAE, DenoisingVAEConfig
from latentlab.models.gan import GAN, GANConfig
from latentlab.models.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from latentlab.models.pixelcnn import AutoregressiveModel, MaskedConv2d, PixelCNN, PixelCNNConfig
from latentlab.models.pixelrnn import RowLSTMConfig, RowLSTMPixelRNN
from latentlab.models.registry import (
    MODELS,
    PLUGIN_GROUP,
    available_models,
    build_model,
    config_from_dict,
    config_to_dict,
    entry,
    load_plugins,
    plugin_errors,
    register,
)
from latentlab.models.vae import VAE, VAEConfig
from latentlab.models.wae import WAE, WAEGAN, WAEConfig, WAEGANConfig

__all__ = [
    "AAE",
    "ALI",
    "GAN",
    "MODELS",
    "PLUGIN_GROUP",
    "VAE",
    "WAE",
    "WAEGAN",
    "AAEConfig",
    "ALIConfig",
    "AdversarialModel",
    "Autoencoder",
    "AutoencoderConfig",
    "AutoregressiveModel",
    "ContrastiveConfig",
    "ContrastiveEncoder",
    "ConvModelConfig",
    "DenoisingVAE",
    "DenoisingVAEConfig",
    "GANConfig",
    "GatedPixelCNN",
    "GatedPixelCNNConfig",
    "LatentVariableModel",
    "MaskedConv2d",
    "PixelCNN",
    "PixelCNNConfig",
    "RowLSTMConfig",
    "RowLSTMPixelRNN",
    "VAEConfig",
    "WAEConfig",
    "WAEGANConfig",
    "available_models",
    "build_model",
    "config_from_dict",
    "config_to_dict",
    "entry",
    "load_plugins",
    "plugin_errors",
    "register",
]
