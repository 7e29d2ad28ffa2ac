"""Noise on a waveform at a given signal-to-noise ratio: white, pink (1/f), babble (other talkers).

The SNR is relative to the clip's active speech level (mean power of the 20 ms frames within 30 dB of
the loudest, in the spirit of ITU-T P.56), so leading silence does not change it. Samples are clipped
to [-1, 1] like an ADC.
"""

from __future__ import annotations

import numpy as np

from qamoe.dataset import DataError

ACTIVE_FRAME_S = 0.02
ACTIVE_RANGE_DB = 30.0


def active_level(samples: np.ndarray, rate: int = 16_000) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest one (0 for silence)."""
    x = np.asarray(samples, np.float64)
    n = max(1, int(ACTIVE_FRAME_S * rate))
    frames = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else x.reshape(1, -1)
    power = (frames**2).mean(axis=1)
    if power.max() <= 0:
        return 0.0
    active = power[power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(active.mean())


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f power spectrum (Gaussian phases), unit mean power."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.arange(n // 2 + 1, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=n)
    return noise / np.sqrt(np.mean(noise**2) + 1e-20)


def babble_noise(n: int, sources: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Sum of the source waveforms, each at unit active level, circularly shifted by a random offset
    and tiled to n samples; unit mean power."""
    out = np.zeros(n, np.float64)
    for src in sources:
        src = np.asarray(src, np.float64)
        level = active_level(src)
        if len(src) == 0 or level <= 0:
            continue
        src = src / np.sqrt(level)
        tiled = np.resize(np.roll(src, int(rng.integers(len(src)))), n)
        out += tiled
    power = np.mean(out**2)
    if power <= 0:
        raise DataError("babble sources are silent")
    return out / np.sqrt(power)


def add_noise(samples: np.ndarray, snr_db: float, noise: np.ndarray) -> np.ndarray:
    """samples + noise scaled to `snr_db` below the samples' active level, clipped to [-1, 1]."""
    noise = np.asarray(noise, np.float64)
    level = active_level(samples)
    power = np.mean(noise**2)
    if power <= 0:
        return np.asarray(samples, np.float32)
    gain = np.sqrt(level / 10 ** (snr_db / 10) / power)
    return np.clip(np.asarray(samples, np.float64) + gain * noise, -1.0, 1.0).astype(np.float32)
