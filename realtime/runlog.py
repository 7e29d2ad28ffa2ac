"""The JSONL run log: one JSON object per `Update`, one line each, flushed as it goes."""

from __future__ import annotations

import json
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
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._file, self._owned = open(self.path, "w", encoding="utf-8"), True
        self.lines = 0

    def __call__(self, update: Update) -> None:
        self._file.write(json.dumps(update.to_json(), allow_nan=False) + "\n")
        self._file.flush()
        self.lines += 1

    def close(self) -> None:
        if self._owned:
            self._file.close()

    def __enter__(self) -> "JsonlLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_jsonl(path: str | Path) -> list[dict]:
    """Every update of a run log, in order."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
