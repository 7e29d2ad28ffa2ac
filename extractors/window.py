"""The live window: the latest W seconds of one modality's features, or "missing".

Frames are pooled down to the model's maximum length with `qamoe.dataset.pool_frames`, the same
rule offline datasets are loaded with.

A modality is missing in a window when it has no usable frame there: no frames at all (silence, a
dead or stalled device, ASR with no words) or only frames the extractor marked missing (no face).
Missing modalities are left out of the model's input dict, which QA-MoE reads exactly like a
zeroed modality under Protocol I.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamoe.dataset import pool_frames

from .base import FeatureFrame


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


def make_window(frames: list[FeatureFrame], dim: int, max_frames: int, fresh_after: float | None = None) -> ModalityWindow:
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
