"""Atomic file writes: a crash or a full disk never leaves a half-written file where a good one was."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any worker thread
    # exists, so no thread ever creates a file while the process umask is briefly 0.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextmanager
def atomic_file(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """A temporary file beside `path` to write, renamed onto `path` when the block ends normally.

    When the block raises (a failed write, or a generator writing frame by frame that is closed
    before its end: GeneratorExit) the temporary file is removed and the old file, if any, is
    untouched. The result gets the usual permissions (0666 less the umask) rather than mkstemp's
    private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], fsync: bool = False) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it onto `path` (`atomic_file`)."""
    with atomic_file(path, fsync) as tmp:
        write(tmp)
    return Path(path)


def stale_parts(path: str | os.PathLike) -> list[Path]:
    """The temporary files `atomic_write(path, ...)` leaves when its process is killed mid-write."""
    path = Path(path)
    try:
        return sorted(path.parent.glob(f".{glob_escape(path.name)}.*.part"))
    except OSError:
        return []


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Delete the leftovers of killed writes of `path` (a kill -9 cannot run atomic_write's cleanup);
    only the caller knows that no other write of `path` is in progress. Returns what was removed."""
    removed = []
    for part in stale_parts(path):
        try:
            part.unlink()
            removed.append(part)
        except OSError:
            pass
    return removed


def check_writable_folder(folder: str | os.PathLike, what: str = "output folder") -> Path:
    """Create `folder` if needed and prove a file can be written in it, before any long work starts.

    Raises SaveError naming the folder and the reason: a file in the way (the folder itself or one
    of its parents), a read-only file system, no permission, no space.
    """
    from latentlab.errors import SaveError

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SaveError(f"{folder}: is a file, not a folder; choose another {what}")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SaveError(f"{folder}: cannot be created because {parent} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise SaveError(f"{folder}: cannot write the {what} ({describe_os_error(err)})") from None
    return folder


def describe_os_error(err: BaseException) -> str:
    """Plain words for a failed write: "no space left on device" for ENOSPC and for the message
    PyTorch's zip writer gives when the disk fills ("unexpected pos ..."), else the OS's own text."""
    import errno

    if isinstance(err, OSError) and err.errno == errno.ENOSPC or "unexpected pos" in str(err):
        return "no space left on device"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower() if err.strerror[:1].isupper() and err.strerror[1:2].islower() else err.strerror
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def regular_file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be opened as a plain file ("no such file", "is a folder", "not a regular file
    (a named pipe)", "cannot read (...)"), or None when it is a regular file. Uses os.stat, which never
    blocks: opening a named pipe or a device could block for ever or never end. Each caller raises
    its own error type with this text."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as err:
        return f"cannot read ({describe_os_error(err)})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                 (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
        return f"not a regular file ({next((name for test, name in kinds if test(mode)), 'not a plain file')})"
    return None
