"""One file per model: tensors plus JSON-able metadata, loaded without ever executing code.

File layout (a `torch.save` zip archive, read back with `torch.load(weights_only=True)`, whose
unpickler only admits tensors and plain containers — a pickle carrying code is refused):

    {"format": "latentlab-checkpoint", "format_version": 1,
     "meta": "<JSON text>",          # model, config, dataset, preprocessing, history, metrics, versions
     "state_dict": {name: tensor},   # optionally stored as float16 ("storage_dtype" in meta)
     "extras": {name: tensor} | absent,  # e.g. the latent atlas of a bundled model
     "training": {...} | absent}     # optimiser/scheduler states, epoch, step, RNG: what --resume needs

Writes go to a temporary file in the same folder, then `os.replace`: a crash never leaves a
half-written checkpoint where a good one was.
"""

from __future__ import annotations

from latentlab.checkpoints.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Checkpoint,
    library_versions,
    read_checkpoint,
    write_checkpoint,
)
from latentlab.checkpoints.model_io import load_model, model_from_checkpoint, save_model

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "Checkpoint", "library_versions", "load_model", "model_from_checkpoint",
    "read_checkpoint", "save_model", "write_checkpoint",
]
