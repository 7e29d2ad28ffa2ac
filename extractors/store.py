"""Writing `qamoe-extract` output: one .npz + .json per clip (see `qamoe.data.extracted` for the layout).

Writes are atomic (temporary file, then rename) and the .json goes last, so an interrupted run leaves
no half-written clip that a rerun would mistake for a finished one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from qamoe.data.extracted import FORMAT, MODALITIES, VERSION

from .clip import ClipFeatures
from .labels import ClipRecord


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: dict) -> None:
    _atomic_write(path, lambda h: h.write(json.dumps(data, indent=1, sort_keys=True).encode()))


def is_done(out: Path, record: ClipRecord) -> bool:
    return (out / "clips" / f"{record.file_stem}.json").is_file() and (out / "clips" / f"{record.file_stem}.npz").is_file()


def write_manifest(out: Path, description: dict, extra: dict) -> None:
    """Create manifest.json, or check that an existing one describes the same features (a folder
    without finished clips may change settings)."""
    manifest = {"format": FORMAT, "version": VERSION, **description, **extra}
    path = out / "manifest.json"
    finished = any((out / "clips").glob("*.json")) if (out / "clips").is_dir() else False
    if path.is_file() and finished:
        old = json.loads(path.read_text())
        if old.get("modalities") != manifest["modalities"] or old.get("config") != manifest["config"]:
            raise RuntimeError(
                f"{path} was written with other extractor settings ({old.get('config')}); "
                f"resuming with {manifest['config']} would mix features: use another --out folder"
            )
        return
    write_json(path, manifest)


def write_clip(out: Path, record: ClipRecord, source: Path, feats: ClipFeatures) -> None:
    arrays = {}
    for m in MODALITIES:
        arrays[m] = feats.features[m].astype(np.float32)
        arrays[f"{m}_times"] = feats.times[m].astype(np.float64)
    stem = record.file_stem
    _atomic_write(out / "clips" / f"{stem}.npz", lambda h: np.savez(h, **arrays))
    meta = {
        "clip": record.to_json(),
        "clip_id": record.clip_id,
        "source": str(source),
        "lengths": {m: int(len(feats.features[m])) for m in MODALITIES},
        "frames_seen": {m: int(v) for m, v in feats.frames_seen.items()},
        "missing": feats.missing,
        "words": [[round(w.start, 3), round(w.end, 3), w.text, round(w.confidence, 4)] for w in feats.words],
        "warnings": feats.warnings,
    }
    write_json(out / "clips" / f"{stem}.json", meta)
    failed = out / "failed" / f"{stem}.json"
    if failed.exists():
        failed.unlink()


def write_failure(out: Path, record: ClipRecord, reason: str) -> None:
    write_json(out / "failed" / f"{record.file_stem}.json", {"clip": record.to_json(), "clip_id": record.clip_id, "reason": reason})
