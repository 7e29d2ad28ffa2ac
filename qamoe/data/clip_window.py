"""One clip's features shaped like the live window at the end of an utterance.

The built data sets (`qamoe.extractors.datasets`) turn every extracted clip into what the live
pipeline would hand the model when the speaker stops: the audio and vision frames of the last
`WINDOW_S` seconds, mean-pooled to at most `MAX_FRAMES` frames (`qamoe.dataset.pool_frames`, the
live window's rule), and the last `MAX_WORDS` word vectors. `qamoe.Predictor` shapes a media file the
same way, so a checkpoint trained on these data sets reads a file like the clips it was trained on.
"""

from __future__ import annotations

import numpy as np

from qamoe.dataset import pool_frames

MAX_WORDS = 64  # text frames (one per word) kept per clip
MAX_FRAMES = 64  # the live pipeline's WindowConfig.max_frames
WINDOW_S = 4.0  # the live pipeline's default window


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


def media_features(clip) -> dict[str, np.ndarray]:
    """A `ClipFeatures` -> {modality: (T, d) raw features} as the checkpoint reads them (T may be 0)."""
    return {
        "text": np.asarray(clip.features["text"][-MAX_WORDS:], np.float32),
        **{m: last_window(clip.features[m], clip.times[m], clip.features[m].shape[-1]) for m in ("audio", "vision")},
    }
