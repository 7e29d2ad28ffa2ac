"""The on-disk shards `qamoe-extract` writes: one .npz + .json per clip (`qamoe.data.extracted` reads
them and documents the layout).

Writes are atomic (`qamoe.files`: temporary file, then rename) and the .json goes last, so an
interrupted run leaves no half-written clip that a rerun would mistake for a finished one.

Every clip is keyed by content: `settings_key` (the extractor settings and feature layout) and
`features_key` (that, plus the media file's SHA-256, the clip's start/end and its given transcript).
A rerun reuses a clip only when both keys match, and rewrites just its label and split when only those
changed; the folder never holds clips made with other settings than its manifest's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from qamoe.data.extracted import FORMAT, MODALITIES, VERSION
from qamoe.files import atomic_write_json, atomic_write_npz, file_digest

from .clip import ClipFeatures
from .labels import ClipRecord


def write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data, indent=1, sort_keys=True)


def digest(obj) -> str:
    """SHA-256 of a JSON-able object (sorted keys), as hex."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


class MediaDigests:
    """SHA-256 of media files, cached in OUT/media-digests.json by (path, size, mtime) so a rerun
    does not read every video again; a file changed in place gets a new digest."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / "media-digests.json"
        try:
            self.cache = json.loads(self.path.read_text()) if self.path.is_file() else {}
        except (OSError, ValueError):
            self.cache = {}
        if not isinstance(self.cache, dict):
            self.cache = {}
        self.changed = False

    def __call__(self, media: Path) -> str:
        st = media.stat()
        key = str(Path(media).resolve())
        entry = self.cache.get(key)
        if isinstance(entry, dict) and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            return entry["sha256"]
        digest = file_digest(media, "sha256")
        self.cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        self.changed = True
        return digest

    def save(self) -> None:
        if self.changed:
            write_json(self.path, self.cache)


def features_key(media_sha256: str, start, end, transcript, settings_key: str) -> str:
    return digest({"media": media_sha256, "start": start, "end": end, "text": transcript, "settings": settings_key})


def read_meta(out: Path, stem: str) -> dict | None:
    """A finished clip's .json (None when absent, unreadable or without its .npz)."""
    path = out / "clips" / f"{stem}.json"
    if not path.is_file() or not (out / "clips" / f"{stem}.npz").is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def remove_clip(out: Path, stem: str) -> None:
    """Drop a clip (json first, so a crash in between never leaves a json without its npz)."""
    for suffix in (".json", ".npz"):
        (out / "clips" / f"{stem}{suffix}").unlink(missing_ok=True)


def relabel(out: Path, record: ClipRecord, meta: dict) -> None:
    """Same features, new label / split / row: rewrite only the clip's .json."""
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    meta["clip"] = record.to_json()
    meta["clip_id"] = record.clip_id
    write_json(out / "clips" / f"{record.file_stem}.json", meta)


def is_done(out: Path, record: ClipRecord) -> bool:
    return (out / "clips" / f"{record.file_stem}.json").is_file() and (out / "clips" / f"{record.file_stem}.npz").is_file()


def read_manifest_if_any(out: Path) -> dict | None:
    try:
        old = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def write_manifest(out: Path, description: dict, extra: dict) -> None:
    """(Re)write manifest.json with the current settings and labels table; clips made with other
    settings are removed by the caller first (see `settings_key` in each clip's .json)."""
    write_json(out / "manifest.json", {"format": FORMAT, "version": VERSION, **description, **extra})


def write_clip(out: Path, record: ClipRecord, source: Path, feats: ClipFeatures, keys: dict | None = None) -> None:
    arrays = {}
    for m in MODALITIES:
        arrays[m] = feats.features[m].astype(np.float32)
        arrays[f"{m}_times"] = feats.times[m].astype(np.float64)
    stem = record.file_stem
    atomic_write_npz(out / "clips" / f"{stem}.npz", arrays)
    meta = {
        "clip": record.to_json(),
        "clip_id": record.clip_id,
        "source": str(source),
        "lengths": {m: int(len(feats.features[m])) for m in MODALITIES},
        "frames_seen": {m: int(v) for m, v in feats.frames_seen.items()},
        "missing": feats.missing,
        "words": [[round(w.start, 3), round(w.end, 3), w.text, round(w.confidence, 4)] for w in feats.words],
        "warnings": feats.warnings,
        **(keys or {}),  # settings_key, features_key
    }
    write_json(out / "clips" / f"{stem}.json", meta)
    failed = out / "failed" / f"{stem}.json"
    if failed.exists():
        failed.unlink()


def write_failure(out: Path, record: ClipRecord, reason: str) -> None:
    write_json(out / "failed" / f"{record.file_stem}.json", {"clip": record.to_json(), "clip_id": record.clip_id, "reason": reason})
