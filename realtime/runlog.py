"""The JSONL run log: one JSON object per `Update`, one line each, flushed as it goes.

Besides updates it holds event lines, `{"event": ..., "message": ...}` (e.g. `no_source`,
`source_ok`, `gave_up`), which `read_jsonl` leaves out and `read_events` returns. A write that fails
(a full or read-only disk) never raises into the pipeline: the log stops, cuts the file back to its
last complete line, and keeps the reason in `error` for the session to report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from .update import Update


class JsonlLog:
    """Appends `update.to_json()` lines to `path` ('-' writes to standard output)."""

    def __init__(self, path: str | Path, stream: IO[str] | None = None) -> None:
        self.path = str(path)
        if stream is not None:
            self._file, self._owned = stream, False
        else:
            check_writable(self.path)
            self._file, self._owned = open(self.path, "w", encoding="utf-8"), True
        self.lines = 0
        self.error: str | None = None  # why the log stopped, when a write failed
        self._good = 0  # bytes of complete lines

    def __call__(self, update: Update) -> None:
        self._write(update.to_json())

    def event(self, kind: str, message: str, **fields) -> None:
        """A line that is not an update: what happened to the run (a source lost, giving up)."""
        self._write({"event": kind, "message": message, **fields})

    def _write(self, obj: dict) -> None:
        if self.error is not None:
            return
        line = json.dumps(obj, allow_nan=False) + "\n"
        try:
            self._file.write(line)
            self._file.flush()
        except (OSError, ValueError) as err:
            self.error = f"{self.path}: {getattr(err, 'strerror', None) or err}; the log stops at line {self.lines}"
            if self._owned:  # no cut-off last line: back to the last complete one
                try:
                    os.ftruncate(self._file.fileno(), self._good)
                except (OSError, ValueError):
                    pass
            return
        self._good += len(line.encode("utf-8"))
        self.lines += 1

    def close(self) -> None:
        if self._owned:
            try:
                self._file.close()
            except OSError as err:  # the last buffered bytes did not fit
                self.error = self.error or f"{self.path}: {err.strerror or err}"

    def __enter__(self) -> "JsonlLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_writable(path: str | Path) -> None:
    """A clear ValueError, before anything runs, for a log path that cannot be written: a folder, a
    missing parent folder (never created silently), a folder without write permission."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--jsonl {path} is a folder; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"--jsonl {path}: folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"--jsonl {path}: no permission to write there")


def _lines(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_jsonl(path: str | Path) -> list[dict]:
    """Every update of a run log, in order (event lines left out)."""
    return [obj for obj in _lines(path) if "event" not in obj]


def read_events(path: str | Path) -> list[dict]:
    """The event lines of a run log (`no_source`, `source_ok`, `gave_up`), in order."""
    return [obj for obj in _lines(path) if "event" in obj]
