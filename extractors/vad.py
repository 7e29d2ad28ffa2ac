"""Voice activity with silero-vad (the JIT model shipped inside the `silero-vad` wheel).

`VoiceActivity` is an `Extractor`: it takes `AudioChunk`s (any rate; resampled to 16 kHz), scores
every 32 ms window (512 samples) and emits one `FeatureFrame` per window with
`values = [speech_probability]` (dim 1, 31.25 frames per second). It also tracks speech segments
with hysteresis: speech starts when the probability reaches `on` (0.5) and ends after
`min_silence_s` (0.3 s) below `off` (0.35); `in_speech` tells the current state and `events`
collects `("start" | "end", time_s)` pairs since the last `pop_events()`.

Importing silero-vad calls `torch.set_num_threads(1)`; `load_silero()` undoes that, so a process that
also trains keeps its threads. The model runs inside `base.single_thread()` (see there why).
"""

from __future__ import annotations

import numpy as np

from .audio import StreamResampler
from .base import AudioChunk, Extractor, ExtractorUnavailable, FeatureFrame, single_thread

SAMPLE_RATE = 16_000
WINDOW = 512  # samples per silero step at 16 kHz (32 ms)

def load_silero():
    """A new silero-vad JIT model (~0.15 s with warm-up); torch's thread count is left as it was.

    Each `VoiceActivity` needs its own: the model keeps its recurrent state inside, so two streams
    sharing one model (e.g. the live audio gate and the recogniser's VAD) would corrupt each other."""
    import torch  # noqa: PLC0415

    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad  # noqa: PLC0415
    except ImportError as exc:
        raise ExtractorUnavailable("voice activity needs silero-vad: pip install 'qamoe-live[media]'") from exc
    finally:
        torch.set_num_threads(threads)
    model = load_silero_vad(onnx=False)
    torch.set_num_threads(threads)
    with single_thread():  # the TorchScript profiler makes the first calls slow: pay it here
        for _ in range(3):
            model(torch.zeros(WINDOW), SAMPLE_RATE)
    model.reset_states()
    return model


class VoiceActivity(Extractor):
    name = "vad"
    dim = 1
    frame_rate = SAMPLE_RATE / WINDOW
    feature_names = ("speech_probability",)

    def __init__(self, on: float = 0.5, off: float = 0.35, min_silence_s: float = 0.3, min_speech_s: float = 0.1) -> None:
        self.on, self.off = on, off
        self.min_silence_s, self.min_speech_s = min_silence_s, min_speech_s
        self._model = load_silero()
        self._resample = StreamResampler()
        self.reset()

    def reset(self) -> None:
        self._model.reset_states()
        self._resample.reset()
        self._buffer = np.zeros(0, np.float32)
        self._t0: float | None = None
        self.in_speech = False
        self._speech_start = 0.0
        self._silence_since: float | None = None
        self.events: list[tuple[str, float]] = []

    def pop_events(self) -> list[tuple[str, float]]:
        events, self.events = self.events, []
        return events

    def feed(self, chunk: AudioChunk) -> list[FeatureFrame]:
        import torch  # noqa: PLC0415

        samples = self._resample(chunk)
        if self._t0 is None:
            self._t0 = float(chunk.t)
        self._buffer = np.concatenate([self._buffer, samples])
        n = len(self._buffer) // WINDOW
        if n == 0:
            return []
        windows = torch.from_numpy(np.ascontiguousarray(self._buffer[: n * WINDOW]).reshape(n, WINDOW))
        self._buffer = self._buffer[n * WINDOW :]
        with single_thread():
            probs = [float(self._model(windows[i], SAMPLE_RATE)) for i in range(n)]
        frames = []
        for prob in probs:
            start = self._t0
            self._t0 = start + WINDOW / SAMPLE_RATE
            frames.append(FeatureFrame(start, self._t0, np.array([prob], np.float32)))
            self._update(prob, start, self._t0)
        return frames

    def _update(self, prob: float, start: float, end: float) -> None:
        if not self.in_speech:
            if prob >= self.on:
                self.in_speech, self._speech_start, self._silence_since = True, start, None
                self.events.append(("start", start))
        elif prob < self.off:
            if self._silence_since is None:
                self._silence_since = start
            if end - self._silence_since >= self.min_silence_s:
                self.in_speech = False
                self.events.append(("end", self._silence_since))
        else:
            self._silence_since = None

    def flush(self) -> list[FeatureFrame]:
        frames = []
        if len(self._buffer):  # pad the tail to one window
            pad = np.zeros(WINDOW - len(self._buffer), np.float32)
            frames = self.feed(AudioChunk(self._t0, pad, SAMPLE_RATE))
        if self.in_speech:
            self.in_speech = False
            self.events.append(("end", self._t0 if self._silence_since is None else self._silence_since))
        return frames
