"""Acoustic front end: sizes, timestamps, streaming == whole file, pitch, resampling, real speech."""

import numpy as np
import pytest

from qamoe.extractors.audio import FEATURE_NAMES, AudioFeatures
from qamoe.extractors.base import AudioChunk, stack_frames

from support.media import chunks, speak
from support.require import need_module

RATE = 16000


def tone(f0: float, seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def test_size_rate_and_timestamps():
    ex = AudioFeatures()
    assert ex.dim == 44 == len(FEATURE_NAMES) and ex.frame_rate == 100
    frames = ex.run([AudioChunk(2.0, tone(200), RATE)])
    values, times = stack_frames(frames, ex.dim)
    assert values.shape == (100, 44)  # one frame per 10 ms, the last 3 zero-padded by flush()
    assert times[0, 0] == pytest.approx(2.0) and np.allclose(np.diff(times[:, 0]), 0.01)
    assert np.allclose(times[:, 1] - times[:, 0], 0.04)
    assert np.isfinite(values).all()


def test_chunking_does_not_change_frames():
    x = np.random.default_rng(0).normal(0, 0.1, RATE * 2).astype(np.float32)
    ex = AudioFeatures()
    whole, _ = stack_frames(ex.run([AudioChunk(0.0, x, RATE)]), 44)
    for size in (1, 159, 160, 1000, 4096):
        if size == 1:
            x_small = x[:2000]
            a, _ = stack_frames(ex.run(chunks(x_small, size=7)), 44)
            b, _ = stack_frames(ex.run([AudioChunk(0.0, x_small, RATE)]), 44)
            assert np.allclose(a, b, atol=1e-5)
            continue
        streamed, _ = stack_frames(ex.run(chunks(x, size=size)), 44)
        assert streamed.shape == whole.shape
        assert np.allclose(streamed, whole, atol=1e-5)


@pytest.mark.parametrize("f0", [80.0, 120.0, 220.0, 350.0])
def test_pitch_of_a_harmonic_tone(f0):
    t = np.arange(RATE) / RATE
    x = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3)).astype(np.float32)
    values, _ = stack_frames(AudioFeatures().run([AudioChunk(0.0, x, RATE)]), 44)
    middle = values[10:-10]
    assert (middle[:, 42] > 0.9).all()  # voiced
    assert np.median(55 * 2 ** middle[:, 43]) == pytest.approx(f0, rel=0.03)


def test_noise_and_silence_are_unvoiced():
    noise = np.random.default_rng(1).normal(0, 0.1, RATE).astype(np.float32)
    values, _ = stack_frames(AudioFeatures().run([AudioChunk(0.0, noise, RATE)]), 44)
    assert (values[:, 43] == 0).mean() > 0.95
    silent, _ = stack_frames(AudioFeatures().run([AudioChunk(0.0, np.zeros(RATE, np.float32), RATE)]), 44)
    assert np.isfinite(silent).all() and (silent[:, 42] == 0).all()
    assert silent[:, 40].max() < values[:, 40].min()  # log energy


def test_any_input_rate_is_resampled_to_16k():
    need_module("av")
    ex = AudioFeatures()
    ref, _ = stack_frames(ex.run([AudioChunk(0.0, tone(150), RATE)]), 44)
    t = np.arange(48000) / 48000
    x48 = (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    got, times = stack_frames(ex.run(chunks(x48, rate=48000, size=4800)), 44)
    assert abs(len(got) - len(ref)) <= 2
    assert np.median(55 * 2 ** got[10:-10, 43]) == pytest.approx(150, rel=0.02)
    assert np.abs(got[10:60, :40] - ref[10:60, :40]).mean() < 0.5  # same spectrum (log units)


def test_real_speech_is_voiced_where_spoken():
    speech = speak("hello there, how are you doing today")
    x = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(RATE, np.float32)])
    values, times = stack_frames(AudioFeatures().run(chunks(x)), 44)
    in_speech = (times[:, 0] > 1.05) & (times[:, 1] < 1 + len(speech) / RATE - 0.05)
    assert (values[in_speech, 43] > 0).mean() > 0.3  # vowels are voiced
    assert (values[times[:, 1] < 0.95, 43] == 0).all()  # leading silence is not
    f0 = 55 * 2 ** values[in_speech & (values[:, 43] > 0), 43]
    assert 70 < np.median(f0) < 250  # espeak-ng's default voice
