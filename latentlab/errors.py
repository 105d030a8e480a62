"""Errors that carry a message meant for the user (CLI prints it, the app shows it in the window).

Every error names the file (or spec) and the problem; none of them should surface as a traceback.
"""

from __future__ import annotations


class LatentLabError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing sentence."""


class DataError(LatentLabError):
    """A dataset spec, file or image that cannot be read as asked."""


class CheckpointError(LatentLabError):
    """A file that is not a LatentLab checkpoint, is damaged, or does not fit the model."""


class ConfigError(LatentLabError):
    """A model name or configuration value that is not valid."""


class TrainingError(LatentLabError):
    """A training run that had to stop (non-finite loss, bad resume state, ...)."""


class SaveError(LatentLabError):
    """A file or folder that cannot be written (read-only, disk full, a file where a folder should be).

    Kept apart from the other errors so a training run can tell "the save failed, the model is still
    in memory and can be saved elsewhere" from "the run itself went wrong"."""


class SessionError(LatentLabError):
    """A saved session (.llsession and its array file) that cannot be read, or does not fit its model."""


class ExportError(LatentLabError):
    """A file that could not be written (unwritable folder, unsupported format, no frames, no encoder...)."""
