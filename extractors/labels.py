"""Label tables: which clips to extract, their sentiment and their split.

`read_labels(path)` understands
- CMU-MOSI's `OpinionLevelSentiment.csv` (no header): start, end, video id, segment index, sentiment;
- CMU-MOSEI's `CMU_MOSEI_Labels.csv` (header file, index, start, end, ..., label7, split with
  0 train / 1 dev / 2 test / 3 unused, the last skipped);
- any CSV with a header naming `video_id` (or `video`, `file`), `label` (or `sentiment`, `label7`) and
  optionally `start`, `end`, `segment` (or `index`, `clip`), `split` (train/valid/test, dev=valid) and
  `text` (a transcript used instead of ASR).

Splits (`assign_splits`): the table's own split column when present; else the standard folds of
CMU-MOSI / CMU-MOSEI (`--folds FILE`, else `$QAMOE_SHARED_DATA/cmu-mosi|cmu-mosei/standard_folds.json`)
when most video ids are in them; else a deterministic hash of the video id (70/15/15), so no video
straddles two splits. A table in CMU-MOSI's own layout never
falls back to the hash: without its standard folds its results would be leaky and not comparable.

Refused with a `LabelsError` naming the line: a file that is not UTF-8 text, labels outside [-3, 3],
and rows that label the same stretch of the same video twice.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from qamoe.data.paths import shared_data_dir

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


LABEL_LIMIT = 3.0  # sentiment labels live in [-3, 3] (CMU-MOSI / MOSEI); anything beyond is a broken table


def _label(value: str, where: str) -> float:
    label = _num(value, "label", where)
    if abs(label) > LABEL_LIMIT:
        raise LabelsError(f"{where}: label {value.strip()!r} is outside [-{LABEL_LIMIT:g}, {LABEL_LIMIT:g}]")
    return label


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
    return read_labels_with_layout(path)[0]


def read_labels_with_layout(path: str | Path) -> tuple[list[ClipRecord], str]:
    """(records, layout) with layout "cmu-mosi" (no header) or "header"."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels table {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise LabelsError(f"{path}:{line}: not UTF-8 text (byte 0x{err.object[err.start]:02x}); save the table as UTF-8") from None
    except csv.Error as err:
        raise LabelsError(f"{path}: not a CSV table ({err})") from None
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
    return records, "header" if has_header else "cmu-mosi"


def _check_stretches(path: Path, records: list[ClipRecord]) -> None:
    """Without a segment column, two rows for the same stretch of the same video are one clip
    labelled twice (CMU-MOSI itself, with its segment numbers, does have such rows)."""
    stretches: dict[tuple, ClipRecord] = {}
    for r in records:
        key = (r.video_id, r.start, r.end)
        other = stretches.setdefault(key, r)
        if other is not r:
            span = "the whole video" if r.start is None and r.end is None else f"{r.start}-{r.end} s"
            verdict = f"with contradictory labels {other.label:g} and {r.label:g}" if other.label != r.label else "twice"
            raise LabelsError(
                f"{path}: video {r.video_id!r} ({span}) is labelled {verdict} (rows {other.segment} and {r.segment}); "
                "give each row its own segment start/end, or drop the duplicate"
            )


def _read_mosi(path: Path, rows: list[list[str]]) -> list[ClipRecord]:
    records = []
    for i, row in enumerate(rows, 1):
        where = f"{path}:{i}"
        if len(row) < 5:
            raise LabelsError(f"{where}: expected start,end,video_id,segment,label (CMU-MOSI layout), got {len(row)} fields")
        start, end = _num(row[0], "start", where), _num(row[1], "end", where)
        records.append(_record(where, row[2].strip(), row[3].strip(), start, end, _label(row[4], where)))
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
        records.append(_record(where, row[col_video].strip(), segment, start, end, _label(row[col_label], where), split, text))
    if col_seg is None:
        _check_stretches(path, records)
    return records




def hash_split(video_id: str) -> str:
    bucket = int(hashlib.sha256(video_id.encode()).hexdigest()[:8], 16) % 20
    return "train" if bucket < 14 else "valid" if bucket < 17 else "test"


def assign_splits(records: list[ClipRecord], folds: str | Path | None = None, *, require_folds: bool = False) -> str:
    """Fill `split` of every record in place; return how ("table", "folds:<file>", "hash").
    `require_folds` (a table in CMU-MOSI's layout): no silent hash fallback, a LabelsError instead.
    `folds="hash"` asks for the hash split explicitly."""
    if all(r.split for r in records):
        return "table"
    if folds is not None and str(folds) == "hash":
        for r in records:
            r.split = r.split or hash_split(r.video_id)
        return "hash"
    shared = shared_data_dir()
    candidates = ([Path(folds)] if folds else
                  [shared / d / "standard_folds.json" for d in ("cmu-mosi", "cmu-mosei")] if shared else [])
    videos = {r.video_id for r in records}
    for candidate in candidates:
        if not candidate.is_file():
            if folds:
                raise LabelsError(f"folds file {candidate} does not exist")
            continue
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise LabelsError(f"folds file {candidate} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise LabelsError(f"folds file {candidate} must map train/valid/test to lists of video ids")
        fold_of = {}
        for key, ids in data.items():
            split = _SPLIT_NAMES.get(str(key).lower())
            if split:
                fold_of.update({str(v): split for v in ids})
        known = videos & fold_of.keys()
        if folds or len(known) >= 0.5 * len(videos):
            unknown = sorted({r.video_id for r in records if not r.split and r.video_id not in fold_of})
            if unknown and require_folds:
                raise LabelsError(
                    f"{len(unknown)} video(s) of this CMU-MOSI table are not in the standard folds {candidate} "
                    f"(e.g. {unknown[0]!r}): give --folds a file that has them, or --folds hash"
                )
            for r in records:
                r.split = r.split or fold_of.get(r.video_id) or hash_split(r.video_id)
            return f"folds:{candidate}" + (f" ({len(unknown)} video(s) not in it: hash)" if unknown else "")
    if require_folds:
        where = folds or " or ".join(str(c) for c in candidates) or "$QAMOE_SHARED_DATA is unset"
        raise LabelsError(
            f"this table is in CMU-MOSI's layout but its standard folds ({where}) were not found or do not match: "
            "without them the splits would not be the standard ones (leaky, not comparable); "
            "give --folds standard_folds.json, add a split column, or pass --folds hash to split by video id anyway"
        )
    for r in records:
        r.split = r.split or hash_split(r.video_id)
    return "hash"


class MediaIndex(dict):
    """stem -> media file; `ambiguous` holds the stems with two equally good files (e.g. the same
    name in two subfolders), which `locate` refuses instead of picking one silently."""

    def __init__(self) -> None:
        super().__init__()
        self.ambiguous: dict[str, list[Path]] = {}


def index_media(root: str | Path) -> MediaIndex:
    """Media files under root by file stem (video preferred over audio-only for the same stem)."""
    root = Path(root)
    if not root.is_dir():
        raise LabelsError(f"videos folder {root} does not exist" + (" (it is a file)" if root.exists() else ""))
    audio_only = (".wav", ".flac", ".mp3")
    found = MediaIndex()
    for path in sorted(root.rglob("*")):
        ext = path.suffix.lower()
        if ext not in MEDIA_EXTENSIONS or not path.is_file():
            continue
        previous = found.get(path.stem)
        if previous is None or (previous.suffix.lower() in audio_only and ext not in audio_only):
            found[path.stem] = path
            found.ambiguous.pop(path.stem, None)
        elif (previous.suffix.lower() in audio_only) == (ext in audio_only):
            found.ambiguous.setdefault(path.stem, [previous]).append(path)
    return found


def locate(record: ClipRecord, media: dict[str, Path]) -> tuple[Path | None, float | None, float | None]:
    """(file, start, end) for a clip: the full video with the clip's times, else a pre-cut segment file
    (`<video>_<segment>`, as in CMU-MOSI's Raw/Video/Segmented) read whole."""
    ambiguous = getattr(media, "ambiguous", {})
    stems = (record.video_id,) if record.video_id in media else (record.video_id, f"{record.video_id}_{record.segment}")
    for stem in stems:
        if stem in ambiguous:
            raise LabelsError(
                f"clip {record.clip_id}: {len(ambiguous[stem])} media files are named {stem}: "
                f"{', '.join(str(p) for p in ambiguous[stem])}; keep one or rename the others"
            )
    if record.video_id in media:
        return media[record.video_id], record.start, record.end
    cut = media.get(f"{record.video_id}_{record.segment}")
    if cut is not None:
        return cut, None, None
    return None, None, None
