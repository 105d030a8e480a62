"""Reader for the IDX format of MNIST / Fashion-MNIST (optionally gzipped).

Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d`` big-endian
uint32 sizes, then the data in C order.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from latentlab.data.source import check_regular_file
from latentlab.errors import DataError

_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    check_regular_file(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        return raw
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: damaged or truncated gzip file ({err})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file into an array (uint8 for images and labels); checks header and length.

    ``ndim`` (3 for image files, 1 for label files) is checked when given.
    """
    path = Path(path)
    data = _read_bytes(path)
    if 0 < len(data) < 4 and data[:2] == b"\x00\x00"[:len(data)]:
        raise DataError(f"{path}: truncated IDX file: {len(data)} bytes, shorter than its header")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        magic = data[:4].hex() or "empty file"
        raise DataError(f"{path}: not an IDX file (bad magic number {magic})")
    dtype, dims_count = _TYPES[data[2]], data[3]
    if ndim is not None and dims_count != ndim:
        raise DataError(f"{path}: expected an IDX file with {ndim} dimensions, this one has {dims_count}")
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX file: {len(data)} bytes, shorter than its {header}-byte header")
    dims = struct.unpack(f">{dims_count}I", data[4:header])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "has extra bytes at the end"
        raise DataError(
            f"{path}: IDX file {problem}: dimensions {'x'.join(map(str, dims))} need "
            f"{expected} bytes of data, the file holds {actual}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
