"""A clip shaped like the live window: the last 4 s, pooled to at most 64 frames; the last 64 words."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from qamoe.data.window import MAX_FRAMES, MAX_WORDS, WINDOW_S, last_window, media_features, words_of
from qamoe.dataset import pool_frames


def frames(n: int, rate: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(n * dim, dtype=np.float32).reshape(n, dim)
    start = np.arange(n) / rate
    return values, np.stack([start, start + 1 / rate], axis=1)


def test_last_window_keeps_the_last_seconds_pooled():
    values, times = frames(1000, 100.0, 3)  # 10 s at 100 frames/s
    window = last_window(values, times, 3)
    keep = times[:, 1] >= times[-1, 1] - WINDOW_S
    assert keep.sum() == 401  # frames ending in the last 4 s
    assert window.dtype == np.float32 and window.shape == (MAX_FRAMES, 3)
    np.testing.assert_allclose(window, pool_frames(values[keep], MAX_FRAMES))
    assert last_window(values[:5], times[:5], 3).shape == (5, 3)  # short: kept as it is
    assert last_window(np.zeros((0, 3)), np.zeros((0, 2)), 3).shape == (0, 3)


def test_media_features_shapes_each_modality():
    audio, audio_t = frames(800, 100.0, 44)
    vision, vision_t = frames(120, 15.0, 20)
    text = np.ones((100, 384), np.float32)
    clip = SimpleNamespace(features={"text": text, "audio": audio, "vision": vision},
                           times={"text": np.zeros((100, 2)), "audio": audio_t, "vision": vision_t})
    out = media_features(clip)
    assert out["text"].shape == (MAX_WORDS, 384)
    assert out["audio"].shape == (MAX_FRAMES, 44) and out["vision"].shape == (61, 20)  # 4 s at 15 fps, unpooled
    assert words_of(" ".join(map(str, range(100)))) == [str(i) for i in range(MAX_WORDS)]
