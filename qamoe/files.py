"""Atomic file writes: a file appears under its real name complete, or not at all.

Everything is written to a hidden temporary file beside the target (same folder, so the rename
cannot cross file systems), flushed to disk, then renamed over the target. A crash, a full disk or
an exception mid-write leaves the old file (or none) and removes the temporary one, so a reader or a
resumed build never mistakes a half-written file for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterator

import numpy as np


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # ".tmp", never the real suffix: a reader globbing "*.json" or "*.npz" must not see a file in progress
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path for a writer that wants a file name (safetensors), renamed onto `path` when
    the block ends normally and removed when it raises. Nest two to replace two files only after both
    are complete (the inner one is renamed first). np.savez would add ".npz" to the temporary name:
    give it an `atomic_open` handle instead."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as err:
        if err.filename is None:  # a write or flush that failed (a full disk) names no file: name the target
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """`open(path, mode)` that writes to a temporary file and renames it onto `path` on success."""
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle
        handle.flush()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj, *, indent: int = 2, sort_keys: bool = False) -> None:
    """JSON (NaN and infinity written as JavaScript literals, as `json` does) with a final newline."""
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, allow_nan=True) + "\n")


def atomic_write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """`np.savez(path, **arrays)` (uncompressed, read back with allow_pickle=False), atomically."""
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes (read in 1 MiB blocks), remembered per process by path, size
    and modification time: a file that changes is read again, one that does not is read once."""
    stat = os.stat(path)
    return _file_digest(str(path), stat.st_size, stat.st_mtime_ns, algorithm)


@lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
