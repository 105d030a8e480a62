"""A saved explorer session: what the window shows, written to a versioned JSON file and a side array file.

`NAME.llsession` is JSON: ``{"format": "latentlab-session", "version": 1, "saved_by": LatentLab version,
"arrays": {"file": "NAME.llsession.npz", "id": UUID}, "session": {...}, "directions": [...]}``.
Every array (the handle's code z, the interpolation's ends, the chains' codes, the Pixels dock's image
to complete, attribute directions) lives in `NAME.llsession.npz`; the JSON refers to one as
``{"array": KEY}``, and the archive holds the same UUID under ``_session_id``, so a JSON file next to
the arrays of another save is refused rather than restored wrong. Reading uses `json` and
`np.load(allow_pickle=False)` only: opening a session never runs code. Both files are written with
`fileio.atomic_write` (arrays first), so a failed save leaves the previous one whole.

The model is kept as its absolute path and as a path relative to the session file, so a folder moved
with both still opens; `resolve_model` says where the model is, or None (the window then asks).

`directions` is a list of named latent directions: ``{"name", "vector": row of the "directions"
array [K, D], "origin": {...}}`` (how the direction was made, plain JSON). They travel as
`explorer.directions.AttributeDirection` objects through `SavedSession.directions` and are checked
and restored like any other array.

Nothing here imports Qt; the window's side (collecting and applying widget state) is `latentlab.ui.sessions`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.errors import SaveError, SessionError
from latentlab.explorer.directions import AttributeDirection, DirectionError
from latentlab.fileio import atomic_write, describe_os_error, regular_file_problem
from latentlab.version import __version__

FORMAT = "latentlab-session"
VERSION = 1
SUFFIX = ".llsession"
ARRAYS_SUFFIX = ".npz"
ID_KEY = "_session_id"
DIRECTIONS_KEY = "directions"
MAX_JSON_BYTES = 16 * 2**20  # a session's JSON is a few kilobytes; anything this large is not one
AXES = ("pca", "a_to_b", "narrowest")


@dataclass
class ModelFile:
    """Where the session's model was: its absolute path, and the same file relative to the session."""

    path: str
    relative: str | None = None


@dataclass
class Endpoint:
    """One end of the interpolation: its code [D] and the caption it had."""

    z: np.ndarray
    label: str = ""


@dataclass
class MapSettings:
    axes: str = "pca"             # one of AXES
    colour: str = "single colour"  # the colour combo's text: "single colour" or an atlas label
    gaps: bool = True


@dataclass
class InterpolationSettings:
    a: Endpoint | None = None
    b: Endpoint | None = None
    mode: str = "slerp"
    steps: int = 10
    chain_steps: int = 0
    chain_mode: str = "mean"
    t: float = 0.0


@dataclass
class ChainSettings:
    """The chain panel's settings and, when chains ran, their codes [N, D] at `step`."""

    chains: int = 16
    seed: int = 0
    start: str = "prior"
    mode: str = "mean"
    debias: bool = False
    speed: int = 5
    fast: bool = False
    pause_after: int = 0  # Play pauses by itself at this step (0: never)
    codes: np.ndarray | None = None
    step: int = 0


@dataclass
class PixelSettings:
    """The Pixels dock: shown or not, where, its model and settings, and the image it completes."""

    visible: bool = False
    area: str = "right"
    model: str | None = None
    count: int = 4
    seed: int = 0
    mode: str = "fast"
    task: str = "generate"
    rows: int = 0
    known_image: np.ndarray | None = None  # uint8 [C, H, W]
    known_caption: str = ""
    speed: int = 200  # sub-pixels per second
    fast: bool = False


@dataclass
class CompareSettings:
    """The Compare window: open or not, the compared checkpoints and its settings."""

    open: bool = False
    models: list[str] = field(default_factory=list)
    mode: str = "samples"
    count: int = 8
    seed: int = 0
    source: str = "prior"
    chain: bool = False
    chain_steps: int = 5
    ends: str = "samples"
    a: int = 1
    b: int = 2
    path_seed: int = 1
    path_mode: str = "slerp"
    steps: int = 10
    t: float = 0.0


@dataclass
class SavedSession:
    """Everything a session restores. Arrays are float32 codes of `latent_dim` values (the Pixels
    image is uint8); `check_latent_dim` tells whether they fit a model."""

    model: ModelFile
    latent_dim: int
    z: np.ndarray | None = None
    caption: str = ""
    map: MapSettings = field(default_factory=MapSettings)
    interpolation: InterpolationSettings = field(default_factory=InterpolationSettings)
    chain: ChainSettings = field(default_factory=ChainSettings)
    pixels: PixelSettings = field(default_factory=PixelSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)
    tab: int = 0  # the window's tab shown under the face (0 Interpolate, 1 Chain, 2 Train)
    directions: list[AttributeDirection] = field(default_factory=list)

    def latent_problems(self, latent_dim: int) -> list[str]:
        """What does not fit a latent space of `latent_dim` values (empty when everything does)."""
        codes = [("the handle's code z", self.z, 1), ("endpoint A", _z(self.interpolation.a), 1),
                 ("endpoint B", _z(self.interpolation.b), 1), ("the chains' codes", self.chain.codes, 2)]
        codes += [(f"direction {d.name!r}", d.vector, 1) for d in self.directions]
        problems = []
        for name, array, ndim in codes:
            if array is not None and (array.ndim != ndim or array.shape[-1] != latent_dim):
                problems.append(f"{name} has shape {list(array.shape)}")
        return problems

    def check_latent_dim(self, latent_dim: int, path: str | os.PathLike, model: str = "the model") -> None:
        """Raise SessionError naming `path` when an array does not fit `latent_dim`."""
        problems = self.latent_problems(latent_dim)
        if problems:
            raise SessionError(f"{path}: the session's codes do not fit {model}'s latent space of {latent_dim} "
                               f"values: {'; '.join(problems)}")


def _z(endpoint: Endpoint | None) -> np.ndarray | None:
    return None if endpoint is None else endpoint.z


# ---------------------------------------------------------------------- paths
def session_path(path: str | os.PathLike) -> Path:
    """`path` with the .llsession suffix (added when missing)."""
    path = Path(path).expanduser()
    return path if path.name.endswith(SUFFIX) else path.with_name(path.name + SUFFIX)


def arrays_path(path: str | os.PathLike) -> Path:
    """The side array file of session `path`: NAME.llsession.npz beside it."""
    path = Path(path)
    return path.with_name(path.name + ARRAYS_SUFFIX)


def resolve_model(session: SavedSession, path: str | os.PathLike) -> Path | None:
    """The session's model file: its recorded absolute path, else the same file relative to the session
    file at `path` (both moved together), else None (it has moved: ask the user)."""
    candidates = [Path(session.model.path)]
    if session.model.relative:
        candidates.append(Path(path).resolve().parent / session.model.relative)
    return next((c.resolve() for c in candidates if c.is_file()), None)


# ---------------------------------------------------------------------- writing
def write_session(session: SavedSession, path: str | os.PathLike) -> Path:
    """Write `session` to `path` (.llsession added when missing) and its arrays beside it, each file
    atomically; raises SaveError naming the file when it cannot be written. Returns the JSON's path."""
    path = session_path(path).resolve()
    side = arrays_path(path)
    session_id = uuid.uuid4().hex
    arrays: dict[str, np.ndarray] = {ID_KEY: np.array(session_id)}
    fields = {f.name for f in dataclasses.fields(SavedSession)} - {"directions", "model"}
    body = {name: _encode(getattr(session, name), name, arrays) for name in sorted(fields)}
    try:
        relative = os.path.relpath(Path(session.model.path).resolve(), path.parent)
    except ValueError:  # another drive (Windows)
        relative = None
    body["model"] = {"path": str(Path(session.model.path).resolve()), "relative": relative}
    if session.directions:
        arrays[DIRECTIONS_KEY] = np.stack([np.asarray(d.vector, np.float32).reshape(-1) for d in session.directions])
    document = {"format": FORMAT, "version": VERSION, "saved_by": f"LatentLab {__version__}",
                "arrays": {"file": side.name, "id": session_id}, "session": body,
                "directions": [{"name": d.name, "vector": i, "origin": d.origin}
                               for i, d in enumerate(session.directions)]}
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise SaveError(f"{path}: the session cannot be written as JSON ({err})") from None
    for target, write in ((side, lambda tmp: _write_npz(tmp, arrays)),
                          (path, lambda tmp: tmp.write_text(text, encoding="utf-8"))):
        try:
            atomic_write(target, write)
        except OSError as err:
            raise SaveError(f"{target}: cannot write the session ({describe_os_error(err)})") from None
    return path


def _write_npz(tmp: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as handle:  # a file object: np.savez would add ".npz" to a name
        np.savez(handle, **arrays)


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """A field as JSON: dataclasses as objects, arrays stored in `arrays` under `key` and referred to."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"array": key}
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", arrays) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_encode(item, f"{key}.{i}", arrays) for i, item in enumerate(value)]
    return value


# ---------------------------------------------------------------------- reading
def read_session(path: str | os.PathLike) -> SavedSession:
    """Read a session written by `write_session`. Every problem (no such file, not JSON, not a session,
    a newer format version, the array file missing, damaged or from another save, a field of the wrong
    kind, arrays of inconsistent sizes) raises SessionError naming the file."""
    path = Path(path).expanduser()
    document = _read_json(path)
    side = _side_file(document, path)
    arrays = _read_arrays(side, document["arrays"]["id"], path)
    body = document.get("session")
    if not isinstance(body, dict):
        raise SessionError(f"{path}: the session file has no \"session\" object")
    try:
        session = _decode_dataclass(SavedSession, {**body, "directions": []}, arrays, "session")
        session.directions = _decode_directions(document.get("directions", []), arrays)
    except _FieldError as err:
        raise SessionError(f"{path}: {err}") from None
    if session.latent_dim < 1:
        raise SessionError(f"{path}: latent_dim must be at least 1, got {session.latent_dim}")
    session.check_latent_dim(session.latent_dim, path, "the session's own record of the model")
    image = session.pixels.known_image
    if image is not None and (image.ndim != 3 or image.dtype != np.uint8):
        raise SessionError(f"{path}: the Pixels image to complete must be uint8 [C, H, W], "
                           f"got {image.dtype} {list(image.shape)}")
    if session.map.axes not in AXES:
        raise SessionError(f"{path}: unknown map axes {session.map.axes!r} (one of {', '.join(AXES)})")
    return session


def _read_json(path: Path) -> dict:
    problem = regular_file_problem(path)
    if problem is not None:
        raise SessionError(f"{path}: {problem}")
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise SessionError(f"{path}: too large to be a LatentLab session ({path.stat().st_size:,} bytes)")
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SessionError(f"{path}: cannot read the session ({describe_os_error(err)})") from None
    except UnicodeDecodeError:
        raise SessionError(f"{path}: is not a LatentLab session (not UTF-8 text; a session is a JSON file)") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise SessionError(f"{path}: is damaged or not a LatentLab session (JSON error at line {err.lineno}, "
                           f"column {err.colno}: {err.msg})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise SessionError(f"{path}: is not a LatentLab session (format {found!r}, expected {FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError(f"{path}: has no valid format version ({version!r})")
    if version > VERSION:
        raise SessionError(f"{path}: was saved by a newer LatentLab (session format version {version}; this "
                           f"version reads up to {VERSION}); update LatentLab to open it")
    return document


def _side_file(document: dict, path: Path) -> Path:
    reference = document.get("arrays")
    if (not isinstance(reference, dict) or not isinstance(reference.get("file"), str)
            or not isinstance(reference.get("id"), str)):
        raise SessionError(f"{path}: the session file does not say where its arrays are (\"arrays\": "
                           "{\"file\", \"id\"})")
    name = reference["file"]
    if Path(name).name != name or not name:  # only a file beside the session, never a path elsewhere
        raise SessionError(f"{path}: its array file must be a name beside it, got {name!r}")
    return path.parent / name


def _read_arrays(side: Path, session_id: str, path: Path) -> dict[str, np.ndarray]:
    problem = regular_file_problem(side)
    if problem == "no such file":
        raise SessionError(f"{path}: its array file {side} is missing (keep {side.name} beside the session file)")
    if problem is not None:
        raise SessionError(f"{side}: {problem}")
    try:
        with np.load(side, allow_pickle=False) as archive:
            arrays = {key: np.array(archive[key]) for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise SessionError(f"{side}: the session's array file is damaged or not a NumPy archive "
                           f"({describe_os_error(err)})") from None
    stored = arrays.pop(ID_KEY, None)
    if stored is None or stored.shape != () or str(stored) != session_id:
        raise SessionError(f"{side}: belongs to another save than {path.name} (saved over separately?); "
                           "save the session again")
    return arrays


class _FieldError(Exception):
    """A field of the JSON that is missing, of the wrong kind, or refers to an array the archive lacks."""


def _decode_dataclass(cls: type, data: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if not isinstance(data, dict):
        raise _FieldError(f"{where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise _FieldError(f"{where} has unknown entries: {', '.join(unknown)}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _decode(hints[f.name], data[f.name], arrays, f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _FieldError(f"{where}.{f.name} is missing")
    return cls(**values)


def _decode(hint: Any, value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """`value` (parsed JSON) as type `hint`, or _FieldError saying what `where` should have been."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _decode(options[0], value, arrays, where)
    if hint is np.ndarray:
        return _array(value, arrays, where)
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value, arrays, where)
    if origin is list:
        if not isinstance(value, list):
            raise _FieldError(f"{where} must be a list, got {type(value).__name__}")
        (item,) = typing.get_args(hint)
        return [_decode(item, v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    checks = {bool: lambda v: isinstance(v, bool), int: lambda v: isinstance(v, int) and not isinstance(v, bool),
              float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
              str: lambda v: isinstance(v, str), dict: lambda v: isinstance(v, dict)}
    if not checks[hint](value):
        kinds = {bool: "true or false", int: "an integer", float: "a finite number", str: "text", dict: "an object"}
        raise _FieldError(f"{where} must be {kinds[hint]}, got {value!r}"[:300])
    return float(value) if hint is float else value


def _array(value: Any, arrays: dict[str, np.ndarray], where: str) -> np.ndarray:
    if not (isinstance(value, dict) and set(value) == {"array"} and isinstance(value["array"], str)):
        raise _FieldError(f"{where} must refer to an array as {{\"array\": NAME}}, got {value!r}"[:300])
    key = value["array"]
    if key not in arrays:
        raise _FieldError(f"{where} refers to array {key!r}, which the array file does not hold")
    return _numeric(arrays[key], where)


def _numeric(array: np.ndarray, where: str) -> np.ndarray:
    """Codes as float32 (finite); images stay uint8."""
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind not in "fiu":
        raise _FieldError(f"{where} must be numbers, got an array of {array.dtype}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise _FieldError(f"{where} holds NaN or infinite values")
    return array


def _decode_directions(entries: Any, arrays: dict[str, np.ndarray]) -> list[AttributeDirection]:
    if not isinstance(entries, list):
        raise _FieldError("directions must be a list")
    if not entries:
        return []
    if DIRECTIONS_KEY not in arrays:
        raise _FieldError(f"the session lists {len(entries)} directions but its array file holds no "
                          f"{DIRECTIONS_KEY!r} array")
    vectors = _numeric(arrays[DIRECTIONS_KEY], "directions")
    if vectors.ndim != 2:
        raise _FieldError(f"the directions array must be [K, D], got shape {list(vectors.shape)}")
    directions = []
    for i, entry in enumerate(entries):
        where = f"directions[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "vector", "origin"}:
            raise _FieldError(f"{where} must be {{\"name\", \"vector\", \"origin\"}}, got {entry!r}"[:300])
        name, row, origin = entry["name"], entry["vector"], entry["origin"]
        if not isinstance(name, str) or not isinstance(origin, dict):
            raise _FieldError(f"{where}: the name must be text and the origin an object")
        if not isinstance(row, int) or isinstance(row, bool) or not 0 <= row < len(vectors):
            raise _FieldError(f"{where}.vector must be a row of the directions array (0..{len(vectors) - 1}), "
                              f"got {row!r}")
        try:
            directions.append(AttributeDirection(name, vectors[row].copy(), origin))
        except DirectionError as err:
            raise _FieldError(f"{where}: {err}") from None
    return directions
