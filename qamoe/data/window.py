"""The window: what the model sees of each modality. One rule, two callers.

The latest `WINDOW_S` seconds of frames, mean-pooled to at most `MAX_FRAMES` (`qamoe.dataset.pool_frames`),
and the last `MAX_WORDS` word vectors.

- live (`make_window`): at pipeline time `now`, the frames that started in (now - W, now]. A modality
  is missing when it has no usable frame there: no frames at all (silence, a dead or stalled device,
  ASR with no words), only frames the extractor marked missing (no face), or a newest usable frame
  older than the freshness limit (a face lost a second ago is lost now). Missing modalities are left
  out of the model's input, which QA-MoE reads exactly like a zeroed modality under Protocol I.
- a recorded clip (`last_window`, `media_features`): the window at the clip's end, when the speaker
  stops. The built data sets (`qamoe.extractors.datasets`) and `qamoe.realtime.Predictor` shape every clip this
  way, so a checkpoint trained on them reads a file like the live pipeline reads a speaker.

It sits in the data layer because the data sets, the extractors' builds, `Predictor` and the live
pipeline all need it (layers only look down: docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qamoe.dataset import pool_frames

WINDOW_S = 4.0  # seconds a window reaches back
MAX_FRAMES = 64  # longest sequence handed to the model per modality
MAX_WORDS = 64  # text frames (one per word) kept per clip
STILL_FACE_FRAMES = 15  # a still face (a photo) reaches the model as this many copies of its frame (1 s at 15 fps)


class Frame(Protocol):
    """A feature frame as the extractors emit it (`qamoe.extractors.base.FeatureFrame`)."""

    start: float
    end: float
    values: np.ndarray  # (d,)
    missing: bool


def words_of(text: str) -> list[str]:
    """The first MAX_WORDS words of a typed text (what a clean-transcript sample holds)."""
    return text.split()[:MAX_WORDS]


def last_window(values: np.ndarray, times: np.ndarray, dim: int) -> np.ndarray:
    """(T, dim) frames with (T, 2) start / end seconds -> the frames ending in the last WINDOW_S
    seconds, pooled to at most MAX_FRAMES, float32; (0, dim) when there is no frame."""
    if len(values) == 0:
        return np.zeros((0, dim), np.float32)
    keep = times[:, 1] >= times[-1, 1] - WINDOW_S
    return pool_frames(np.asarray(values[keep], np.float32), MAX_FRAMES)


def still_window(values: np.ndarray, frames: int = STILL_FACE_FRAMES) -> np.ndarray:
    """(d,) one still face's features -> (frames, d) float32 copies: how the model reads a photo."""
    return np.repeat(np.asarray(values, np.float32)[None], frames, axis=0)


def media_features(clip) -> dict[str, np.ndarray]:
    """A `ClipFeatures` -> {modality: (T, d) raw features} as the checkpoint reads them (T may be 0)."""
    return {
        "text": np.asarray(clip.features["text"][-MAX_WORDS:], np.float32),
        **{m: last_window(clip.features[m], clip.times[m], clip.features[m].shape[-1]) for m in ("audio", "vision")},
    }


@dataclass(frozen=True)
class ModalityWindow:
    """One modality's window.

    values: (T, d) float32 raw (not yet normalised) features, T >= 1, oldest first; None when missing.
    newest_end: end time (s) of the newest usable frame, None when missing.
    seen: number of frames in the window, usable or not; usable: how many were not marked missing.
    """

    values: np.ndarray | None
    newest_end: float | None
    seen: int
    usable: int

    @property
    def missing(self) -> bool:
        return self.values is None


def make_window(frames: list[Frame], dim: int, max_frames: int, fresh_after: float | None = None) -> ModalityWindow:
    """Stacks the usable frames (oldest first). The modality is missing when none is usable, or when
    the newest usable frame ended before `fresh_after` (s): a face lost a second ago is lost now,
    even though older frames with a face are still inside the window."""
    usable = [f for f in frames if not f.missing]
    if not usable or (fresh_after is not None and usable[-1].end < fresh_after):
        return ModalityWindow(None, None, len(frames), 0)
    values = np.stack([np.asarray(f.values, np.float32).reshape(dim) for f in usable])
    if not np.isfinite(values).all():  # a broken extractor frame must not poison the model
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return ModalityWindow(pool_frames(values, max_frames).astype(np.float32), usable[-1].end, len(frames), len(usable))
