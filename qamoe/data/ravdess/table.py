"""The RAVDESS table: its constants, the clips listed in labels.csv, the OpenFace action units and
the folds by actor."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qamoe.data import paths
from qamoe.dataset import SPLITS, DataError

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")  # codes 01..08
POSITIVE = ("happy", "calm")  # binary valence, as in the data README (neutral, surprised left out)
NEGATIVE = ("sad", "angry", "fearful", "disgust")
DEFAULT_FOLDS = "1-14:15-17:18-20"  # train : valid : test actors
SNR_SWEEP = (None, 20.0, 10.0, 5.0, 0.0, -5.0)  # None = clean
NOISE_KINDS = ("white", "pink", "babble")
TEXT_SOURCES = ("statement", "asr")
TASKS = ("sentiment", "emotion")
BABBLE_TALKERS = 4
DIMS = {"text": 384, "audio": 44, "vision": 35}
VOICE_DIM = 8  # voice-emotion log-probabilities appended to every audio frame with voice=True
ASR_MODEL = "tiny.en"  # the Whisper model whose transcripts the "asr" text views hold (part of their cache key)
VOICE_FORMAT = 1  # the "voice" views: mean and std of the Whisper encoder states over the clip's utterances
FORMAT = 1
BUILD = "python -m qamoe.extractors.datasets.ravdess"


def default_cache() -> Path:
    return paths.cache_root() / "ravdess"


def default_data() -> Path:
    """$QAMOE_SHARED_DATA/ravdess (a DataError naming --data when absent)."""
    return paths.default_data("ravdess")


@dataclass(frozen=True)
class Clip:
    id: str
    path: Path  # absolute
    actor: int
    sex: str
    emotion: str
    intensity: str
    statement: str
    repetition: int
    sentiment: float

    @property
    def emotion_index(self) -> int:
        return EMOTIONS.index(self.emotion)

    @property
    def valence(self) -> int | None:
        """1 positive, 0 negative, None for neutral and surprised (left out of the binary view)."""
        return 1 if self.emotion in POSITIVE else 0 if self.emotion in NEGATIVE else None


def read_labels(root: str | Path) -> list[Clip]:
    root = Path(root)
    path = root / "labels.csv"
    if not path.is_file():
        raise DataError(f"{path} not found: --data must be a RAVDESS folder (labels.csv, audio/Actor_NN/*.flac, openface-au.csv)")
    needed = ("id", "path", "actor", "emotion", "statement", "sentiment")
    clips = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        absent = [c for c in needed if c not in (reader.fieldnames or [])]
        if absent:
            raise DataError(f"{path}: columns {absent} are absent (found {reader.fieldnames})")
        for line, row in enumerate(reader, start=2):
            try:
                emotion = row["emotion"].strip()
                if emotion not in EMOTIONS:
                    raise ValueError(f"unknown emotion {emotion!r}")
                sentiment = float(row["sentiment"])
                if not np.isfinite(sentiment):
                    raise ValueError("sentiment is not finite")
                clips.append(Clip(
                    id=row["id"].strip(), path=(root / row["path"].strip()).resolve(), actor=int(row["actor"]),
                    sex=(row.get("sex") or "").strip(), emotion=emotion, intensity=(row.get("intensity") or "").strip(),
                    statement=row["statement"].strip(), repetition=int(row.get("repetition") or 0), sentiment=sentiment,
                ))
            except (ValueError, TypeError, AttributeError) as exc:
                raise DataError(f"{path} line {line}: {exc}") from None
    if not clips:
        raise DataError(f"{path} lists no clip")
    ids = [c.id for c in clips]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: clip ids repeat")
    return clips


def read_action_units(root: str | Path) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """id -> (35,) float32 and the column names; an absent file gives {} (vision missing everywhere)."""
    path = Path(root) / "openface-au.csv"
    if not path.is_file():
        return {}, ()
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        columns = [i for i, h in enumerate(header) if h.startswith("AU") and h[-2:] in ("_r", "_c")]
        if "id" not in header or len(columns) != DIMS["vision"]:
            raise DataError(f"{path}: expected id and {DIMS['vision']} AUxx_r / AUxx_c columns, found {len(columns)}")
        id_col = header.index("id")
        out = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                values = np.array([float(row[i]) for i in columns], np.float32)
            except (ValueError, IndexError) as exc:
                raise DataError(f"{path} line {line}: {exc}") from None
            if np.isfinite(values).all():
                out[row[id_col].strip()] = values
    return out, tuple(header[i] for i in columns)


def parse_folds(text: str | None) -> dict[str, set[int]]:
    """"1-14:15-17:18-20" -> {"train": {1..14}, "valid": {15, 16, 17}, "test": {18, 19, 20}}."""
    text = text or DEFAULT_FOLDS
    parts = text.split(":")
    if len(parts) != 3:
        raise DataError(f"folds must be TRAIN:VALID:TEST actor lists (e.g. {DEFAULT_FOLDS} or 1-12,19:13-16:17,18,20), got {text!r}")
    folds = {}
    for split, part in zip(SPLITS, parts):
        actors: set[int] = set()
        for item in part.split(","):
            item = item.strip()
            try:
                lo, _, hi = item.partition("-")
                lo_i, hi_i = int(lo), int(hi or lo)
            except ValueError:
                raise DataError(f"folds {text!r}: {item!r} is not an actor number or range") from None
            if hi_i < lo_i:
                raise DataError(f"folds {text!r}: empty range {item!r}")
            actors |= set(range(lo_i, hi_i + 1))
        folds[split] = actors
    for a, b in ((0, 1), (0, 2), (1, 2)):
        common = folds[SPLITS[a]] & folds[SPLITS[b]]
        if common:
            raise DataError(f"folds {text!r}: actors {sorted(common)} are in both {SPLITS[a]} and {SPLITS[b]}")
    return folds


def split_clips(clips: list[Clip], folds: str | None = None, all_clips: bool = False) -> dict[str, list[Clip]]:
    if all_clips:
        return {s: list(clips) for s in SPLITS}
    actors = parse_folds(folds)
    out = {s: [c for c in clips if c.actor in actors[s]] for s in SPLITS}
    for s in SPLITS:
        if not out[s]:
            raise DataError(f"no clip of actors {sorted(actors[s])} ({s}) in the folder; choose other folds "
                            "(--folds TRAIN:VALID:TEST) or evaluate every clip with --split all")
    return out
