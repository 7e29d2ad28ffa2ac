"""Frame-level acoustic features: 40 log-mel bands plus 4 prosody measures, 100 frames per second.

Input: `AudioChunk`s at any sample rate (resampled to 16 kHz mono with a stateful resampler, so chunk
boundaries leave no seams). Output: one `FeatureFrame` every 10 ms (hop 160 samples), each analysing
the 40 ms window (640 samples) that starts at the frame's `start`; `end = start + 0.04`. Frames are
emitted as soon as their window is complete (30 ms latency after the window's last sample arrives);
`flush()` emits the last ones zero-padded, so n samples give ceil(n / 160) frames.

Feature vector (`AudioFeatures.dim == 44`, names in `FEATURE_NAMES`):

| index | name | unit |
| --- | --- | --- |
| 0-39 | mel_00 .. mel_39 | natural log of mel power (40 triangular bands 20-7600 Hz over the central 25 ms, Hann window, 512-point FFT), floor 1e-10 |
| 40 | log_energy | natural log of mean squared sample over the 40 ms window, floor 1e-10 |
| 41 | zcr | zero crossings per sample, [0, 1] |
| 42 | voicing | peak normalised autocorrelation in the 60-400 Hz lag range, [0, 1] |
| 43 | log_f0 | log2(f0 / 55 Hz) when voicing >= 0.45, else 0 |

The computation is vectorised numpy; a chunk of any size yields exactly the frames whose windows it
completes, so streaming and whole-file runs give identical frames.
"""

from __future__ import annotations

import numpy as np

from .base import AudioChunk, Extractor, FeatureFrame

SAMPLE_RATE = 16_000
HOP = 160  # 10 ms
WINDOW = 640  # 40 ms analysis window (pitch needs >= 2 periods of 60 Hz)
MEL_WINDOW = 400  # 25 ms, centred inside WINDOW
N_FFT = 512
N_MELS = 40
F0_MIN, F0_MAX = 60.0, 400.0
VOICING_THRESHOLD = 0.45
FLOOR = 1e-10

FEATURE_NAMES = tuple(f"mel_{i:02d}" for i in range(N_MELS)) + ("log_energy", "zcr", "voicing", "log_f0")


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE, fmin: float = 20.0, fmax: float = 7600.0) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular HTK-mel filters."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lower) / (centre - lower)
    down = (upper - freqs[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


class StreamResampler:
    """Stateful resampler to 16 kHz mono float32 (libswresample through PyAV; identity at 16 kHz)."""

    def __init__(self) -> None:
        self._rate: int | None = None
        self._resampler = None

    def reset(self) -> None:
        self._rate, self._resampler = None, None

    def __call__(self, chunk: AudioChunk) -> np.ndarray:
        samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
        if chunk.rate == SAMPLE_RATE:
            return samples
        import av  # noqa: PLC0415

        if self._resampler is None or self._rate != chunk.rate:
            self._rate = chunk.rate
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = chunk.rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def frame_features(windows: np.ndarray, filterbank: np.ndarray) -> np.ndarray:
    """(F, WINDOW) float32 sample windows -> (F, 44) float32 features (see module docstring)."""
    f = windows.shape[0]
    offset = (WINDOW - MEL_WINDOW) // 2
    mel_part = windows[:, offset : offset + MEL_WINDOW] * np.hanning(MEL_WINDOW).astype(np.float32)
    power = np.abs(np.fft.rfft(mel_part, n=N_FFT, axis=1)) ** 2
    log_mel = np.log(np.maximum(power @ filterbank.T, FLOOR))

    energy = np.log(np.maximum(np.mean(windows**2, axis=1), FLOOR))
    signs = np.signbit(windows)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)

    centred = windows - windows.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * WINDOW, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :WINDOW]
    lag_min, lag_max = int(SAMPLE_RATE / F0_MAX), int(SAMPLE_RATE / F0_MIN)
    # overlap: share of the window that overlaps itself at each lag (for the unbiased voicing value)
    overlap = (WINDOW - np.arange(lag_min, lag_max + 1)) / WINDOW
    norm = np.maximum(ac[:, :1], FLOOR)
    biased = ac[:, lag_min : lag_max + 1] / norm
    best = np.argmax(biased, axis=1)  # the biased estimate favours the true period over its multiples
    voicing = np.clip(biased[np.arange(f), best] / overlap[best], 0.0, 1.0)
    voicing[ac[:, 0] < FLOOR * WINDOW] = 0.0
    f0 = SAMPLE_RATE / (best + lag_min)
    log_f0 = np.where(voicing >= VOICING_THRESHOLD, np.log2(f0 / 55.0), 0.0)
    return np.concatenate(
        [log_mel, energy[:, None], zcr[:, None], voicing[:, None], log_f0[:, None]], axis=1
    ).astype(np.float32)


class AudioFeatures(Extractor):
    """Streaming log-mel + prosody front end; see the module docstring for the 44 features."""

    name = "audio"
    dim = N_MELS + 4
    frame_rate = SAMPLE_RATE / HOP
    feature_names = FEATURE_NAMES

    def __init__(self) -> None:
        self._filterbank = mel_filterbank()
        self._resample = StreamResampler()
        self.reset()

    def reset(self) -> None:
        self._resample.reset()
        self._buffer = np.zeros(0, np.float32)
        self._t0: float | None = None  # stream time of _buffer[0]

    def feed(self, chunk: AudioChunk) -> list[FeatureFrame]:
        samples = self._resample(chunk)
        if self._t0 is None:
            self._t0 = float(chunk.t)
        self._buffer = np.concatenate([self._buffer, samples])
        n_frames = 0 if len(self._buffer) < WINDOW else 1 + (len(self._buffer) - WINDOW) // HOP
        return self._emit(n_frames)

    def flush(self) -> list[FeatureFrame]:
        """Emit the frames that start in the unconsumed tail, zero-padded, so a stream of n samples
        gives ceil(n / 160) frames in all."""
        if self._t0 is None or len(self._buffer) == 0:
            return []
        n_frames = int(np.ceil(len(self._buffer) / HOP))
        needed = (n_frames - 1) * HOP + WINDOW
        self._buffer = np.concatenate([self._buffer, np.zeros(max(0, needed - len(self._buffer)), np.float32)])
        frames = self._emit(n_frames)
        self._buffer = np.zeros(0, np.float32)
        return frames

    def _emit(self, n_frames: int) -> list[FeatureFrame]:
        if n_frames <= 0:
            return []
        windows = np.lib.stride_tricks.sliding_window_view(self._buffer, WINDOW)[::HOP][:n_frames]
        values = frame_features(np.ascontiguousarray(windows), self._filterbank)
        t0 = self._t0
        frames = [
            FeatureFrame(t0 + i * HOP / SAMPLE_RATE, t0 + (i * HOP + WINDOW) / SAMPLE_RATE, values[i])
            for i in range(n_frames)
        ]
        self._buffer = self._buffer[n_frames * HOP :]
        self._t0 = t0 + n_frames * HOP / SAMPLE_RATE
        return frames
