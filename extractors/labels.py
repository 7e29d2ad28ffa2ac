"""Label tables: which clips to extract, their sentiment and their split.

`read_labels(path)` understands
- CMU-MOSI's `OpinionLevelSentiment.csv` (no header): start, end, video id, segment index, sentiment;
- CMU-MOSEI's `CMU_MOSEI_Labels.csv` (header file, index, start, end, ..., label7, split with
  0 train / 1 dev / 2 test / 3 unused, the last skipped);
- any CSV with a header naming `video_id` (or `video`, `file`), `label` (or `sentiment`, `label7`) and
  optionally `start`, `end`, `segment` (or `index`, `clip`), `split` (train/valid/test, dev=valid) and
  `text` (a transcript used instead of ASR).

Splits (`assign_splits`): the table's own split column when present; else the standard folds of
CMU-MOSI / CMU-MOSEI (`standard_folds.json`) when most video ids are in them; else a deterministic hash
of the video id (70/15/15), so no video straddles two splits.
"""

from __future__ import annotations

import math

import csv
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

SPLITS = ("train", "valid", "test")
_SPLIT_NAMES = {"train": "train", "valid": "valid", "val": "valid", "dev": "valid", "validation": "valid",
                "test": "test", "0": "train", "1": "valid", "2": "test"}
MEDIA_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".flv", ".mpg", ".mpeg", ".wav", ".flac", ".mp3")


class LabelsError(ValueError):
    """A labels table that cannot be used; the message names the file, line and problem."""


@dataclass
class ClipRecord:
    video_id: str
    segment: str
    start: float | None  # seconds in the video; None = from the beginning
    end: float | None  # None = to the end
    label: float
    split: str | None = None
    text: str | None = None

    @property
    def clip_id(self) -> str:
        """MMSA-style id, e.g. `03bSnISJMiM$_$11`."""
        return f"{self.video_id}$_${self.segment}"

    @property
    def file_stem(self) -> str:
        """A file-system-safe, collision-free name for this clip's files."""
        raw = f"{self.video_id}__{self.segment}"
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", raw)
        if safe != raw:
            safe += "-" + hashlib.sha1(raw.encode()).hexdigest()[:8]
        return safe

    def to_json(self) -> dict:
        return asdict(self)


def _num(value: str, what: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise LabelsError(f"{where}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise LabelsError(f"{where}: {what} {value!r} is not a finite number")
    return number


def _record(where: str, video: str, segment: str, start, end, label: float, split=None, text=None) -> ClipRecord:
    if not video:
        raise LabelsError(f"{where}: the video id is empty")
    if start is not None and end is not None and end < start:  # CMU-MOSI has a zero-length segment: kept, extraction reports it
        raise LabelsError(f"{where}: segment ends ({end}) before it starts ({start})")
    return ClipRecord(video, segment, start, end, label, split, text)


def read_labels(path: str | Path) -> list[ClipRecord]:
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels table {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise LabelsError(f"labels table {path} is empty")
    first = [c.strip() for c in rows[0]]
    try:
        float(first[0])
        has_header = False
    except ValueError:
        has_header = True
    records = _read_with_header(path, first, rows[1:]) if has_header else _read_mosi(path, rows)
    if not records:
        raise LabelsError(f"labels table {path} has no usable rows")
    seen = set()
    for r in records:
        if r.clip_id in seen:
            raise LabelsError(f"{path}: clip {r.clip_id} appears twice")
        seen.add(r.clip_id)
    return records


def _read_mosi(path: Path, rows: list[list[str]]) -> list[ClipRecord]:
    records = []
    for i, row in enumerate(rows, 1):
        where = f"{path}:{i}"
        if len(row) < 5:
            raise LabelsError(f"{where}: expected start,end,video_id,segment,label (CMU-MOSI layout), got {len(row)} fields")
        start, end = _num(row[0], "start", where), _num(row[1], "end", where)
        records.append(_record(where, row[2].strip(), row[3].strip(), start, end, _num(row[4], "label", where)))
    return records


def _pick(header: list[str], *names: str) -> int | None:
    lowered = [h.lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _read_with_header(path: Path, header: list[str], rows: list[list[str]]) -> list[ClipRecord]:
    col_video = _pick(header, "video_id", "video", "file", "vid")
    col_label = _pick(header, "label", "sentiment", "label7", "score")
    if col_video is None or col_label is None:
        raise LabelsError(f"{path}: header {header} needs a video column (video_id/video/file) and a label column (label/sentiment/label7)")
    col_start, col_end = _pick(header, "start"), _pick(header, "end")
    col_seg = _pick(header, "segment", "index", "clip", "clip_id")
    col_split, col_text = _pick(header, "split", "mode", "fold"), _pick(header, "text", "transcript")
    records = []
    for i, row in enumerate(rows, 2):
        where = f"{path}:{i}"
        row = row + [""] * (len(header) - len(row))
        split = None
        if col_split is not None and row[col_split].strip():
            key = row[col_split].strip().lower()
            if key == "3":  # CMU-MOSEI: unused
                continue
            if key not in _SPLIT_NAMES:
                raise LabelsError(f"{where}: unknown split {row[col_split]!r} (use train/valid/test)")
            split = _SPLIT_NAMES[key]
        start = _num(row[col_start], "start", where) if col_start is not None and row[col_start].strip() else None
        end = _num(row[col_end], "end", where) if col_end is not None and row[col_end].strip() else None
        segment = row[col_seg].strip() if col_seg is not None and row[col_seg].strip() else str(i - 1)
        text = row[col_text] if col_text is not None and row[col_text].strip() else None
        records.append(_record(where, row[col_video].strip(), segment, start, end, _num(row[col_label], "label", where), split, text))
    return records


def shared_data_dir() -> Path:
    """`../shared/data` next to the project (override with QAMOE_SHARED_DATA)."""
    env = os.environ.get("QAMOE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def hash_split(video_id: str) -> str:
    bucket = int(hashlib.sha256(video_id.encode()).hexdigest()[:8], 16) % 20
    return "train" if bucket < 14 else "valid" if bucket < 17 else "test"


def assign_splits(records: list[ClipRecord], folds: str | Path | None = None) -> str:
    """Fill `split` of every record in place; return how ("table", "folds:<file>", "hash")."""
    if all(r.split for r in records):
        return "table"
    candidates = [Path(folds)] if folds else [shared_data_dir() / d / "standard_folds.json" for d in ("cmu-mosi", "cmu-mosei")]
    videos = {r.video_id for r in records}
    for candidate in candidates:
        if not candidate.is_file():
            if folds:
                raise LabelsError(f"folds file {candidate} does not exist")
            continue
        data = json.loads(candidate.read_text())
        fold_of = {}
        for key, ids in data.items():
            split = _SPLIT_NAMES.get(str(key).lower())
            if split:
                fold_of.update({str(v): split for v in ids})
        known = videos & fold_of.keys()
        if folds or len(known) >= 0.5 * len(videos):
            for r in records:
                r.split = r.split or fold_of.get(r.video_id) or hash_split(r.video_id)
            return f"folds:{candidate}"
    for r in records:
        r.split = r.split or hash_split(r.video_id)
    return "hash"


def index_media(root: str | Path) -> dict[str, Path]:
    """Media files under root by file stem (video preferred over audio-only for the same stem)."""
    root = Path(root)
    if not root.is_dir():
        raise LabelsError(f"videos folder {root} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        ext = path.suffix.lower()
        if ext not in MEDIA_EXTENSIONS or not path.is_file():
            continue
        previous = found.get(path.stem)
        if previous is None or (previous.suffix.lower() in (".wav", ".flac", ".mp3") and ext not in (".wav", ".flac", ".mp3")):
            found[path.stem] = path
    return found


def locate(record: ClipRecord, media: dict[str, Path]) -> tuple[Path | None, float | None, float | None]:
    """(file, start, end) for a clip: the full video with the clip's times, else a pre-cut segment file
    (`<video>_<segment>`, as in CMU-MOSI's Raw/Video/Segmented) read whole."""
    if record.video_id in media:
        return media[record.video_id], record.start, record.end
    cut = media.get(f"{record.video_id}_{record.segment}")
    if cut is not None:
        return cut, None, None
    return None, None, None
