"""Reading and writing the checkpoint container (see the package docstring for the layout)."""

from __future__ import annotations

import json
import os
import pickle
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from latentlab.errors import CheckpointError, SaveError
from latentlab.fileio import atomic_write, describe_os_error, regular_file_problem

FORMAT_NAME = "latentlab-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """The parsed contents of a checkpoint file."""

    meta: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    training: dict[str, Any] | None = None
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. the latent atlas
    path: Path | None = field(default=None, compare=False)

    @property
    def model_name(self) -> str:
        return self.meta["model"]


def library_versions() -> dict[str, str]:
    import numpy

    from latentlab.version import __version__

    return {"latentlab": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def write_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint, half: bool = False) -> Path:
    """Atomically write `checkpoint` to `path` (temporary file + rename).

    half=True stores floating-point weights as float16 (for small bundled files); they are cast
    back to float32 on load.
    """
    path = Path(path)
    meta = dict(checkpoint.meta)
    meta["format_version"] = FORMAT_VERSION
    meta.setdefault("versions", library_versions())
    state = checkpoint.state_dict
    extras = checkpoint.extras
    if half:
        state, extras = _to_half(state), _to_half(extras)
        meta["storage_dtype"] = "float16"
    payload: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps(meta),  # fails here, before touching disk, if meta is not JSON-able
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in state.items()},
    }
    if extras:
        payload["extras"] = {k: v.detach().cpu().contiguous() for k, v in extras.items()}
    if checkpoint.training is not None:
        payload["training"] = checkpoint.training
    try:
        return atomic_write(path, lambda tmp: torch.save(payload, tmp), fsync=True)
    except (OSError, RuntimeError) as err:
        # PyTorch's zip writer reports a full disk as "[enforce fail ...] unexpected pos"; say it plainly.
        raise SaveError(f"{path}: could not save the checkpoint: {describe_os_error(err)} "
                        "(any earlier file of that name is unchanged)") from None


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read and validate a checkpoint file; every problem becomes a CheckpointError naming the file."""
    path = Path(path)
    check_readable_file(path)
    if not _is_zip(path):
        raise CheckpointError(_not_zip_reason(path))
    verify_archive(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: refused to load: the file holds Python objects other than tensors and plain data, "
            f"which could run code when unpickled ({first_line})"
        ) from None
    except Exception as err:  # noqa: BLE001 - a damaged archive can make the unpickler raise anything
        raise CheckpointError(f"{path}: damaged or truncated file ({_short(err)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a LatentLab checkpoint (a PyTorch file without LatentLab metadata)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} is newer than this LatentLab reads ({FORMAT_VERSION}); "
            "upgrade LatentLab"
        )
    try:
        meta = json.loads(payload["meta"])
        state_dict = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged metadata ({_short(err)})") from None
    if not isinstance(meta, dict) or "model" not in meta or not isinstance(state_dict, dict):
        raise CheckpointError(f"{path}: damaged metadata (no model name or weights)")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise CheckpointError(f"{path}: damaged weights (expected named tensors)")
    check_finite(state_dict, path)
    extras = payload.get("extras") or {}
    if not isinstance(extras, dict) or not all(isinstance(v, torch.Tensor) for v in extras.values()):
        raise CheckpointError(f"{path}: damaged extras (expected named tensors)")
    if meta.get("storage_dtype") == "float16":
        state_dict, extras = _to_float(state_dict), _to_float(extras)
    return Checkpoint(meta=meta, state_dict=state_dict, training=payload.get("training"), extras=extras, path=path)



def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Only the metadata of a checkpoint: the weights are memory-mapped, not read, so this is cheap
    for listing files. Raises CheckpointError naming the file on any problem."""
    path = Path(path)
    check_readable_file(path)
    if not _is_zip(path):
        raise CheckpointError(f"{path}: not a LatentLab checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        meta = json.loads(payload["meta"]) if payload.get("format") == FORMAT_NAME else None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, KeyError, TypeError,
            AttributeError, ValueError) as err:
        raise CheckpointError(f"{path}: damaged or not a LatentLab checkpoint ({_short(err)})") from None
    if not isinstance(meta, dict) or "model" not in meta:
        raise CheckpointError(f"{path}: not a LatentLab checkpoint (no model metadata)")
    return meta


def check_readable_file(path: Path) -> None:
    """Refuse anything but a readable regular file before opening it: a FIFO named x.ckpt would
    block the first read forever (and freeze the window), a device could stream without end."""
    problem = regular_file_problem(path)
    if problem is not None:
        suffix = ", so not a checkpoint" if problem.startswith("not a regular file") else ""
        problem = "is a folder, not a checkpoint file" if problem.startswith("is a folder") else problem
        raise CheckpointError(f"{path}: {problem}{suffix}")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read ({describe_os_error(err)})") from None


def verify_archive(path: Path) -> None:
    """Check every member of the zip against its stored CRC-32 (torch.load does not, so flipped
    bytes inside a weight tensor would load silently), and that PyTorch wrote the archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
                raise CheckpointError(f"{path}: not a LatentLab checkpoint (a zip archive, but not one PyTorch wrote)")
            bad = archive.testzip()
    except CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 - zipfile raises many kinds of errors on damaged archives
        raise CheckpointError(f"{path}: damaged or truncated file ({_short(err)})") from None
    if bad is not None:
        part = bad.split("/", 1)[-1]  # the archive's first folder is the temporary name it was written under
        raise CheckpointError(f"{path}: damaged file: part {part} fails its checksum (the file changed after it "
                              "was saved: a disk or copy error)")


def check_finite(tensors: dict[str, torch.Tensor], path: Path | str) -> None:
    """Refuse NaN or infinite weights and buffers, naming the first such tensor: a model holding them
    decodes black or white images, and nothing downstream would say why."""
    for name, tensor in tensors.items():
        # max |x| is NaN or infinite exactly when some element is (amax propagates NaN): one reduction,
        # a tenth of the time of isfinite's full boolean copy (which only runs to count the bad ones).
        if (tensor.is_floating_point() or tensor.is_complex()) and tensor.numel() > 0 \
                and not bool(torch.isfinite(tensor.abs().amax())):
            count = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(f"{path}: tensor {name} holds {count} NaN or infinite value"
                                  f"{'s' if count != 1 else ''} (of {tensor.numel()}); the weights are unusable "
                                  "(the training run that wrote them diverged)")


def _is_zip(path: Path) -> bool:
    """zipfile.is_zipfile, except that a damaged ZIP64 end record (one flipped byte near the end of a
    checkpoint) raises BadZipFile from inside it rather than returning False; found by the fuzz test."""
    try:
        return zipfile.is_zipfile(path)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as err:
        raise CheckpointError(f"{path}: damaged or truncated file ({_short(err)})") from None


def _to_half(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}


def _to_float(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def _not_zip_reason(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        return f"{path}: damaged or truncated checkpoint (the archive's directory is missing)"
    if head[:1] == b"\x80":
        return (f"{path}: refused to load: a raw pickle file, not a LatentLab checkpoint "
                "(raw pickles can run code when loaded)")
    return f"{path}: not a LatentLab checkpoint (not a PyTorch zip archive)"


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
