"""Acoustic features of speech only: `AudioFeatures` gated by `VoiceActivity`.

The one rule every consumer of microphone audio follows (the live pipeline, offline extraction,
calibration, `Predictor` through offline extraction): an acoustic frame computed while the VAD says
"no speech" comes out marked `missing`, so silence makes the audio modality missing instead of
feeding the model room noise. The gate follows the VAD chunk by chunk: every frame an audio chunk
yields takes the speech state after that chunk was scored.
"""

from __future__ import annotations

from dataclasses import replace

from .audio import AudioFeatures
from .base import AudioChunk, Extractor, FeatureFrame


class GatedAudio(Extractor):
    """`feed(chunk)` -> the acoustic frames of that chunk, those outside speech marked missing.

    features / vad: already-built `AudioFeatures` / `VoiceActivity` (built here when None);
    gate=False passes every frame through unmarked (`qamoe-extract --no-audio-gate`)."""

    name = "gated-audio"

    def __init__(self, *, features: AudioFeatures | None = None, vad=None, gate: bool = True) -> None:
        self.features = features if features is not None else AudioFeatures()
        if vad is None and gate:
            from .vad import VoiceActivity  # noqa: PLC0415 - loads the silero model

            vad = VoiceActivity()
        self.vad = vad if gate else None
        self.dim = self.features.dim
        self.frame_rate = self.features.frame_rate
        self.feature_names = self.features.feature_names
        self.in_speech = not gate  # ungated audio counts as speech throughout

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
        return frames if self.in_speech else [replace(f, missing=True) for f in frames]
