"""Feature shards written by `qamoe-extract` (`qamoe.extractors.shards`), and `load_extracted(path)`
that turns them into a `MultimodalDataset`.

Layout of an extraction folder (no pickle anywhere):

```
manifest.json          {"format": "qamoe-extracted", "version": 1,
                        "modalities": {name: {"dim", "frame_rate", "feature_names"}}, "config": {...}}
clips/<stem>.npz       per clip, allow_pickle=False: `<m>` (T_m, d_m) float32 valid frames and
                       `<m>_times` (T_m, 2) float64 start/end seconds, for m in text, audio, vision
clips/<stem>.json      per clip: "clip" {video_id, segment, start, end, label, split, text},
                       "clip_id", "lengths", "frames_seen", "missing" {m: reason}, "words", "warnings";
                       written last, so its presence means the clip is complete
failed/<stem>.json     clips that could not be extracted, with the reason (retried on a rerun)
summary.json           counts of the last run
```

A modality with no valid frame in a clip (no face, no words, no audio track) becomes a single zero
frame with length 1 in the data set; `load_missing(path)` tells which samples those are.
Sequences longer than `max_frames[m]` (default text 100, audio 500, vision 250 frames) are
shortened by averaging consecutive frames into that many bins (`qamoe.dataset.pool_frames`), so one
long clip cannot blow up the padded arrays; shorter sequences are left as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData, pool_frames

FORMAT = "qamoe-extracted"
VERSION = 1
MODALITIES = ("text", "audio", "vision")
DEFAULT_MAX_FRAMES = {"text": 100, "audio": 500, "vision": 250}


def read_manifest(path: str | Path) -> dict:
    root = Path(path)
    manifest = root / "manifest.json"
    if not root.is_dir():
        raise DataError(f"extracted data folder {root} does not exist (run qamoe-extract --out {root} first)")
    if not manifest.is_file():
        raise DataError(f"{root} has no manifest.json: not a qamoe-extract output folder")
    try:
        data = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{manifest} is not valid JSON: {exc}") from exc
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DataError(f"{manifest}: format {data.get('format')!r} version {data.get('version')!r}, expected {FORMAT!r} {VERSION}")
    return data


def _records(root: Path) -> list[dict]:
    records = []
    for meta_path in sorted((root / "clips").glob("*.json")):
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{meta_path} is not valid JSON ({exc}); delete it and rerun qamoe-extract") from exc
        meta["_npz"] = meta_path.with_suffix(".npz")
        records.append(meta)
    return records


def load_extracted(path, *, max_frames: dict[str, int] | None = None) -> MultimodalDataset:
    """An extraction folder -> MultimodalDataset (modalities text, audio, vision; labels in [-3, 3])."""
    root = Path(path)
    manifest = read_manifest(root)
    caps = {**DEFAULT_MAX_FRAMES, **(max_frames or {})}
    dims = {m: int(manifest["modalities"][m]["dim"]) for m in MODALITIES if m in manifest.get("modalities", {})}
    if set(dims) != set(MODALITIES):
        raise DataError(f"{root}/manifest.json describes modalities {sorted(dims)}, expected {list(MODALITIES)}")
    records = _records(root)
    if not records:
        raise DataError(f"{root} holds no extracted clips (clips/*.json); did qamoe-extract fail on every clip? see {root}/failed/")
    by_split: dict[str, list[tuple[str, float, dict[str, np.ndarray]]]] = {s: [] for s in SPLITS}
    for meta in records:
        clip = meta.get("clip", {})
        split, clip_id = clip.get("split"), meta.get("clip_id")
        if split not in by_split:
            raise DataError(f"clip {clip_id}: split {split!r} is not one of {SPLITS}")
        label = float(clip.get("label", np.nan))
        if not np.isfinite(label) or not -3.0 <= label <= 3.0:
            raise DataError(f"clip {clip_id}: label {clip.get('label')!r} is not a number in [-3, 3]")
        if not meta["_npz"].is_file():
            raise DataError(f"clip {clip_id}: {meta['_npz']} is missing; delete its .json and rerun qamoe-extract")
        try:
            with np.load(meta["_npz"], allow_pickle=False) as arrays:
                feats = {m: np.asarray(arrays[m], np.float32) for m in MODALITIES}
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"clip {clip_id}: cannot read {meta['_npz']} ({exc}); delete it and its .json and rerun") from exc
        for m in MODALITIES:
            if feats[m].ndim != 2 or feats[m].shape[1] != dims[m]:
                raise DataError(f"clip {clip_id}: {m} features have shape {feats[m].shape}, manifest says (T, {dims[m]})")
            feats[m] = pool_frames(np.nan_to_num(feats[m], nan=0.0, posinf=0.0, neginf=0.0), caps[m])
        by_split[split].append((clip_id, label, feats))
    splits = {}
    for split, items in by_split.items():
        if not items:
            raise DataError(
                f"{root}: split {split!r} has no clips ({', '.join(f'{s} {len(v)}' for s, v in by_split.items())}); "
                "give the labels table a split column or use more videos"
            )
        items.sort(key=lambda item: item[0])
        splits[split] = SplitData(
            {m: ModalityData.from_sequences([feats[m] for _, _, feats in items], dims[m]) for m in MODALITIES},
            np.array([label for _, label, _ in items], np.float32),
            [clip_id for clip_id, _, _ in items],
        )
    return MultimodalDataset(name=f"extracted:{root.name}", splits=splits)


def load_missing(path) -> dict[str, dict[str, np.ndarray]]:
    """split -> modality -> (N,) bool, True where the clip had no valid frame (ordered as load_extracted)."""
    root = Path(path)
    read_manifest(root)
    rows: dict[str, list[tuple[str, dict]]] = {s: [] for s in SPLITS}
    for meta in _records(root):
        rows.setdefault(meta["clip"]["split"], []).append((meta["clip_id"], meta.get("missing", {})))
    out = {}
    for split, items in rows.items():
        items.sort(key=lambda item: item[0])
        out[split] = {m: np.array([m in missing for _, missing in items], bool) for m in MODALITIES}
    return out
