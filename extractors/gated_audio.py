"""Acoustic features of speech only: `AudioFeatures` gated by `VoiceActivity`.

The one rule every consumer of microphone audio follows (the live pipeline, offline extraction,
calibration, `Predictor` through offline extraction): an acoustic frame computed while the VAD says
"no speech" comes out marked `missing`, so silence makes the audio modality missing instead of
feeding the model room noise. The gate follows the VAD chunk by chunk: every frame an audio chunk
yields takes the speech state after that chunk was scored.

Noise is not silence: a frame louder than `LOUD_DBFS` (RMS over its 40 ms window, dB re full scale)
is kept even when the VAD hears no speech. Under heavy noise (white noise over speech at 0 or -5 dB
SNR) silero-vad stops finding the speech; the microphone is then present and unreliable, and it is
the model's r_audio, trained on such noise, that says so. Only a quiet signal without speech is
silence, and missing. A quiet room (-60 to -45 dBFS) and speech at conversational level with the VAD
on are untouched by the rule.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .audio import FEATURE_NAMES, AudioFeatures
from .base import AudioChunk, Extractor, FeatureFrame

LOUD_DBFS = -35.0  # a frame at least this loud is audio present, speech heard or not
_LOG_ENERGY = FEATURE_NAMES.index("log_energy")  # natural log of the window's mean square


class GatedAudio(Extractor):
    """`feed(chunk)` -> the acoustic frames of that chunk, those outside speech marked missing.

    features / vad: already-built `AudioFeatures` / `VoiceActivity` (built here when None);
    gate=False passes every frame through unmarked (`qamoe-extract --no-audio-gate`);
    loud_dbfs: frames at least this loud stay present without speech (None: the VAD alone decides)."""

    name = "gated-audio"

    def __init__(self, *, features: AudioFeatures | None = None, vad=None, gate: bool = True,
                 loud_dbfs: float | None = LOUD_DBFS) -> None:
        self.features = features if features is not None else AudioFeatures()
        if vad is None and gate:
            from .vad import VoiceActivity  # noqa: PLC0415 - loads the silero model

            vad = VoiceActivity()
        self.vad = vad if gate else None
        self.dim = self.features.dim
        self.frame_rate = self.features.frame_rate
        self.feature_names = self.features.feature_names
        self.in_speech = not gate  # ungated audio counts as speech throughout
        self.loud_log_energy = math.inf if loud_dbfs is None else math.log(10.0 ** (loud_dbfs / 10.0))

    def reset(self) -> None:
        self.features.reset()
        if self.vad is not None:
            self.vad.reset()
        self.in_speech = self.vad is None

    def feed(self, chunk: AudioChunk) -> list[FeatureFrame]:
        if self.vad is not None:
            self.vad.feed(chunk)
            self.vad.pop_events()
            self.in_speech = self.vad.in_speech
        return self._gated(self.features.feed(chunk))

    def flush(self) -> list[FeatureFrame]:
        return self._gated(self.features.flush())

    def _gated(self, frames: list[FeatureFrame]) -> list[FeatureFrame]:
        if self.in_speech:
            return frames
        return [f if f.values[_LOG_ENERGY] >= self.loud_log_energy else replace(f, missing=True) for f in frames]
