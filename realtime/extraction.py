"""Processors that run the real extractors (`qamoe.extractors`) inside the live pipeline.

| processor          | eats            | runs                                             | writes                       |
| ------------------ | --------------- | ------------------------------------------------ | ---------------------------- |
| `VisionProcessor`  | VIDEO frames    | `FaceFeatures` (face mesh + expression network)  | vision frames, expression |
| `AudioProcessor`   | AUDIO chunks    | `GatedAudio` (acoustic features + silero VAD)    | audio frames (missing outside speech), + the voice estimate |
| `SpeechProcessor`  | AUDIO chunks    | `SpeechRecognizer` (Whisper tiny.en) + `TextEmbedder` (MiniLM) | words, partial words, text frames, the voice estimate |

They are the same extractor objects `qamoe-extract` uses, fed chunk by chunk, so a checkpoint trained
on extracted shards reads these features. Each processor is used from one thread only. Whether a face
or speech is present is the store's call, from the frames' `missing` flags.

Voice features (a checkpoint whose audio reads 52 values): every decode of the recogniser also leaves
the Whisper encoder's states of the open utterance; the speech processor turns them into the voice
estimate (`extractors.voice.VoiceTrack`, 8 log-probabilities), which the audio processor appends to
every acoustic frame it writes from then on (the uniform prior before the first decode).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from qamoe.extractors.base import AudioChunk, FeatureFrame, VideoFrame, quiet_native_logs
from qamoe.extractors.spec import FeatureSpec

from .store import FeatureStore
from .streams import AUDIO, VIDEO


class VisionProcessor:
    """Face features; with the expression network on (the default) every face frame's expression
    probabilities go to the store for the UI, and the model gets the first `dim` values of each frame
    (20: geometry only, for a checkpoint trained without expression; 27: geometry + expression)."""

    stream, name, writes = VIDEO, "vision", ("vision",)

    def __init__(self, extractor=None, fps: float = 15.0, dim: int | None = None, expression: bool = True) -> None:
        if extractor is None:
            from qamoe.extractors.vision import FaceFeatures  # noqa: PLC0415 - heavy import

            extractor = FaceFeatures(fps=fps, expression=expression)
        self.extractor = extractor
        self.dim = int(dim) if dim is not None else int(extractor.dim)
        if self.dim > extractor.dim:
            raise ValueError(f"the vision extractor gives {extractor.dim} features, the model reads {self.dim}")

    def process(self, t: float, item: VideoFrame, store: FeatureStore) -> None:
        for frame in self.extractor.feed(item):
            self._emit(frame, store)

    def flush(self, store: FeatureStore) -> None:
        for frame in self.extractor.flush():
            self._emit(frame, store)

    def _emit(self, frame: FeatureFrame, store: FeatureStore) -> None:
        if getattr(self.extractor, "expression", False) and not frame.missing:
            from qamoe.extractors.vision import expression_of  # noqa: PLC0415

            store.add_expression(frame.start, list(expression_of(frame.values).values()))
        if len(frame.values) != self.dim:
            frame = replace(frame, values=frame.values[: self.dim])
        store.add_frame("vision", frame)


class AudioProcessor:
    """Acoustic features; frames outside speech (per the VAD) are marked missing, so silence makes
    the audio modality missing instead of feeding the model room noise."""

    stream, name, writes = AUDIO, "audio", ("audio",)

    def __init__(self, extractor=None, voice=None) -> None:
        """extractor: a `GatedAudio` (built here when None); voice: a `VoiceTrack` whose estimate is
        appended to every frame (None: the 44 acoustic values alone)."""
        if extractor is None:
            from qamoe.extractors.gated_audio import GatedAudio  # noqa: PLC0415

            extractor = GatedAudio()
        self.extractor, self.voice = extractor, voice

    def process(self, t: float, item: AudioChunk, store: FeatureStore) -> None:
        self._emit(self.extractor.feed(item), store)

    def flush(self, store: FeatureStore) -> None:
        self._emit(self.extractor.flush(), store)

    def _emit(self, frames: list, store: FeatureStore) -> None:
        if self.voice is not None and frames:
            from qamoe.extractors.voice import with_voice  # noqa: PLC0415

            frames = with_voice(frames, self.voice.estimate())
        for frame in frames:
            store.add_frame("audio", frame)


class SpeechProcessor:
    """Streaming ASR; final words (committed, never taken back) go to the transcript and through the
    text embedder; partial words (the open utterance's tail, still changing) are shown after them."""

    stream, name, writes = AUDIO, "asr+text", ("text",)
    nice = 5  # its worker runs at a lower priority: the least urgent work, and the heaviest (drivers.py)

    def __init__(self, recognizer=None, embedder=None, voice=None) -> None:
        """voice: a `VoiceTrack` to update with every decode's encoder states (None: not kept)."""
        if recognizer is None:
            from qamoe.extractors.asr import make_recognizer  # noqa: PLC0415

            recognizer = make_recognizer()
        if embedder is None:
            from qamoe.extractors.text import TextEmbedder  # noqa: PLC0415

            embedder = TextEmbedder()
        self.recognizer, self.embedder, self.voice = recognizer, embedder, voice
        if voice is not None:
            voice.emotion.check_encoder(recognizer)
            recognizer.keep_voice = True  # each decode's encoder states feed the voice estimate

    def process(self, t: float, item: AudioChunk, store: FeatureStore) -> None:
        self._words(self.recognizer.feed(item), store)
        self._voice()

    def flush(self, store: FeatureStore) -> None:
        self._words(self.recognizer.flush(), store)
        self._voice()

    def _voice(self) -> None:
        if self.voice is not None:
            states = self.recognizer.pop_voice()
            if states:
                self.voice.update(states)

    def _words(self, words: list, store: FeatureStore) -> None:
        if not words:
            if not self.recognizer.in_utterance and store.transcript.partial():
                store.transcript.set_partial([])  # the utterance ended and its last decode added nothing
            return
        final = [w for w in words if w.final]
        for word in final:
            store.add_word(word)
        for frame in self.embedder.feed(final):
            store.add_frame("text", frame)
        store.transcript.set_partial([w for w in words if not w.final])  # the open utterance's changing tail


def media_processors(spec: FeatureSpec | None = None, *, video: bool = True, audio: bool = True) -> list[Any]:
    """The processors for real media, built now (loading the models takes seconds), giving what
    `spec` says (default `FeatureSpec()`: 20 face values, 44 acoustic ones). The expression is
    computed and shown either way; the model gets 27 face values when `spec.expression`. With
    `spec.voice`, audio frames carry the voice estimate (52)."""
    spec = spec if spec is not None else FeatureSpec()
    quiet_native_logs()
    processors: list[Any] = []
    if spec.openface_dir:
        raise ValueError("OpenFace features come from CSV files of a recording, not from a live camera")
    if video:
        from qamoe.extractors.vision import FaceFeatures  # noqa: PLC0415 - heavy import

        face = FaceFeatures(fps=spec.fps, detector=spec.face_detector, expression=True)  # the expression is shown either way
        processors.append(VisionProcessor(face, dim=spec.dims["vision"]))
    if audio:
        from qamoe.extractors.asr import make_recognizer  # noqa: PLC0415
        from qamoe.extractors.gated_audio import GatedAudio  # noqa: PLC0415
        from qamoe.extractors.text import TextEmbedder  # noqa: PLC0415

        track = None
        if spec.voice:
            from qamoe.extractors.voice import VoiceEmotion, VoiceTrack  # noqa: PLC0415

            track = VoiceTrack(VoiceEmotion())
        processors += [AudioProcessor(GatedAudio(gate=spec.audio_gate), voice=track),
                       SpeechProcessor(make_recognizer(spec.asr), TextEmbedder(spec.text_backend), voice=track)]
    return processors


def media_dims(fps: float = 15.0, expression: bool = False, voice: bool = False) -> dict[str, int]:
    """Feature sizes the real extractors produce, per modality (`FeatureSpec(...).dims`)."""
    return FeatureSpec(fps=fps, expression=expression, voice=voice).dims
