"""One recorded clip -> features of every modality, through the same streaming extractors as live use.

`ClipExtractor` builds the extractors once (model loading takes seconds) and `extract(path, start,
end)` decodes the clip with `MediaReader`, feeding one audio pass to both the acoustic front end and
the VAD-gated recogniser, the recognised words (or a given transcript) to the text embedder and the
video frames to the face extractor. The result is a `ClipFeatures`:

- `features[m]`: (T_m, d_m) float32 of the valid frames only (frames without a face, and acoustic
  frames outside speech when `audio_gate` is on, are left out), T_m may be 0; `times[m]`: (T_m, 2) float64 start/end seconds in file time.
- `frames_seen[m]`: frames produced including missing ones; `missing[m]`: why a modality has no
  valid frame at all ("no audio track", "no face in any frame", "no words recognised", ...).
- `words`: the final words used for the text modality; `warnings`: decode problems (truncation...).

Modality order and sizes: `MODALITIES = ("text", "audio", "vision")`, dims 384 (MiniLM; 768 for BERT),
44 (52 with `voice=True`: + the voice-emotion head's 8 log-probabilities on the Whisper encoder states of
the frame's utterance, `extractors.voice`) and 20 (27 with `expression=True`: geometry + the expression network's 7 log-probabilities; 27 with
`openface_dir`: OpenFace 2.0 CSVs instead of the face mesh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import AudioFeatures
from .base import VideoFrame, Word, stack_frames
from .decode import AudioArray, MediaError, MediaReader
from .gated_audio import GatedAudio
from .spec import FeatureSpec
from .voice import VOICE_DIM

MODALITIES = ("text", "audio", "vision")


TRUNCATION_SLACK_S = 0.5  # decoding that ends this much before the stated duration reads as truncated


@dataclass
class ClipFeatures:
    features: dict[str, np.ndarray]
    times: dict[str, np.ndarray]
    frames_seen: dict[str, int]
    missing: dict[str, str] = field(default_factory=dict)
    words: list[Word] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def describe(config: dict) -> dict:
    """JSON-able description of every modality (dim, frame rate, feature names) and the backend
    config, without loading any model (the text size comes from the model's config file)."""
    from .audio import FEATURE_NAMES as AUDIO_NAMES  # noqa: PLC0415
    from .text import text_dim  # noqa: PLC0415
    from .vision import FEATURE_NAMES as VISION_NAMES  # noqa: PLC0415
    from .voice import VOICE_NAMES  # noqa: PLC0415

    backend = config.get("text_backend", "minilm")
    dim = text_dim(backend)
    prefix = Path(backend).name
    if config.get("openface_dir"):
        from .openface import FEATURE_NAMES as VISION_NAMES  # noqa: PLC0415, N811
    elif config.get("expression"):
        from .vision import FEATURE_NAMES_EXPRESSION as VISION_NAMES  # noqa: PLC0415, N811
    return {
        "modalities": {
            "text": {"dim": dim, "frame_rate": None, "feature_names": [f"{prefix}_{i:03d}" for i in range(dim)]},
            "audio": {"dim": len(AUDIO_NAMES) + (len(VOICE_NAMES) if config.get("voice") else 0), "frame_rate": AudioFeatures.frame_rate,
                      "feature_names": list(AUDIO_NAMES) + (list(VOICE_NAMES) if config.get("voice") else [])},
            "vision": {
                "dim": len(VISION_NAMES),
                "frame_rate": None if config.get("openface_dir") else float(config.get("fps", 15.0)),
                "feature_names": list(VISION_NAMES),
            },
        },
        "config": dict(config),
    }


@dataclass
class _Decoding:
    """One clip while `ClipExtractor.extract` decodes it: the frames and words so far, why a modality
    is missing, and how far into the media decoding got (a file that stops well before its stated
    end is truncated)."""

    reader: MediaReader
    start: float | None
    end: float | None
    stated_end: float | None
    report: Callable[[str, float, float | None], None]
    frames: dict[str, list] = field(default_factory=lambda: {m: [] for m in MODALITIES})
    missing: dict[str, str] = field(default_factory=dict)
    words: list[Word] = field(default_factory=list)
    utterances: list = field(default_factory=list)  # the recogniser's encoder states, one per utterance
    reached: float = 0.0

    def seen_video(self, frames: Iterable[VideoFrame]) -> Iterator[VideoFrame]:
        for frame in frames:
            self.reached = max(self.reached, frame.t + self.reader.info.frame_s)
            self.report("video", frame.t, self.stated_end)
            yield frame


class ClipExtractor:
    """All extractors for offline clips, built from one `FeatureSpec` (`extractors/spec.py`)."""

    def __init__(self, spec: FeatureSpec | None = None, **settings) -> None:
        """`spec`: what to extract (default `FeatureSpec()`: tiny.en, MiniLM, 15 fps face mesh, audio
        gated by the VAD); or its fields as keyword arguments, e.g. `ClipExtractor(voice=True)`.
        With `spec.openface_dir`, vision comes from OpenFace 2.0 CSVs (`<media file stem>.csv` in
        that folder, 27 features) instead of the face mesh. With `spec.voice`, audio frames carry the
        voice-emotion log-probabilities of their utterance (the recogniser's encoder pass, shared; with
        another `asr` model a tiny.en encoder of its own reads the same audio, since the head reads
        tiny.en states)."""
        from .asr import make_recognizer  # noqa: PLC0415 - heavy imports only when used
        from .text import TextEmbedder  # noqa: PLC0415

        if spec is not None and settings:
            raise TypeError("give a FeatureSpec or its settings, not both")
        spec = spec if spec is not None else FeatureSpec(**settings)
        self.spec = spec
        asr, voice, openface_dir = spec.asr, spec.voice, spec.openface_dir

        self.audio = GatedAudio(gate=spec.audio_gate)
        self.asr = make_recognizer(asr, partial_interval_s=None)  # a file needs final words only
        self.voice = None
        self._voice_encoder = None  # a tiny.en encoder of its own, when the words come from another model
        if voice:
            from .voice import ASR_ENCODER, VoiceEmotion  # noqa: PLC0415

            self.voice = VoiceEmotion()
            if self.asr.model_name != ASR_ENCODER:  # e.g. asr="base": its states are not what the head reads
                self._voice_encoder = make_recognizer(ASR_ENCODER, partial_interval_s=None, decode=False, keep_voice=True)
            else:
                self.asr.keep_voice = True
            self.voice.check_encoder(self._voice_encoder or self.asr)
        self.text = TextEmbedder(spec.text_backend)
        self.openface_dir = Path(openface_dir) if openface_dir else None
        self._vision = None  # the face mesh loads on the first clip with a video track (an audio file never needs it)
        self._vision_settings = {"fps": spec.fps, "detector": spec.face_detector, "expression": spec.expression}
        self.config = spec.settings()

    @property
    def vision(self):
        """The face extractor (`vision.FaceFeatures`), built when first needed."""
        if self._vision is None:
            from .vision import FaceFeatures  # noqa: PLC0415

            self._vision = FaceFeatures(**self._vision_settings)
        return self._vision

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(info["dim"]) for m, info in self.describe()["modalities"].items()}

    def describe(self) -> dict:
        return describe(self.config)

    def extract(self, path: str | Path | AudioArray, start: float | None = None, end: float | None = None,
                transcript: str | None = None, progress=None) -> ClipFeatures:
        """`path`: a media file, or audio in memory (`decode.AudioArray.of(samples, rate)`: no file
        written). `progress(stage, t, end)`: optional, called as decoding advances ("audio", then
        "video"; t and end in seconds of media, end None when unknown), e.g. for a progress bar."""
        reader = MediaReader(path)  # raises MediaError if the media cannot be read at all
        info = reader.info
        if start is not None and info.duration is not None and start >= info.duration:
            raise MediaError(f"{reader.path}: the clip starts at {start:.2f} s, after the end of the file ({info.duration:.2f} s)")
        if end is not None and info.duration is not None and end > info.duration + 0.5:
            reader.warnings.append(f"the clip ends at {end:.2f} s but the file at {info.duration:.2f} s: clip cut short")
        stated = info.duration if end is None or info.duration is None else min(end, info.duration)
        clip = _Decoding(reader, start, end, stated, progress or (lambda stage, t, until: None))
        if info.has_audio:
            self._audio_pass(clip, transcript)
        else:
            clip.missing["audio"] = "no audio track"
        self._text_frames(clip, transcript)
        self._vision_pass(clip)
        if not clip.frames["audio"] and not clip.frames["vision"] and self.openface_dir is None:  # frames seen, missing or not
            problems = "; ".join(reader.warnings) or "the streams are empty in this time range"
            raise MediaError(f"{reader.path}: nothing decoded in [{start or 0:.2f}, {end if end is not None else 'end'}) s: {problems}")
        decoded_streams = info.has_audio or (info.has_video and self.openface_dir is None)
        if stated and decoded_streams and clip.reached < stated - TRUNCATION_SLACK_S:
            reader.warnings.append(f"the media ended at {clip.reached:.1f} s of the {stated:.1f} s its header states: "
                                   "the file looks truncated")
        return self._assemble(clip)

    def _audio_pass(self, clip: _Decoding, transcript: str | None) -> None:
        """One pass over the audio: acoustic frames, the recogniser's final words (unless a transcript
        is given) and, for the voice features, its encoder states per utterance."""
        encoder = self._voice_encoder
        self.audio.reset()
        self.asr.reset()
        if encoder is not None:
            encoder.reset()
        self.asr.decode = transcript is None  # a given transcript: the encoder pass alone, for the voice
        recognise = transcript is None or (self.voice is not None and encoder is None)
        for chunk in clip.reader.audio(clip.start, clip.end):
            clip.reached = max(clip.reached, chunk.t + chunk.duration)
            clip.report("audio", chunk.t + chunk.duration, clip.stated_end)
            clip.frames["audio"] += self.audio.feed(chunk)
            if recognise:
                clip.words += [w for w in self.asr.feed(chunk) if w.final]
            if encoder is not None:
                encoder.feed(chunk)
        clip.frames["audio"] += self.audio.flush()
        if recognise:
            clip.words += [w for w in self.asr.flush() if w.final]
        if self.voice is not None:
            if encoder is not None:
                encoder.flush()
            clip.utterances = (encoder or self.asr).pop_voice()
        self.asr.decode = True

    def _text_frames(self, clip: _Decoding, transcript: str | None) -> None:
        """Text frames from the given transcript (spread over the clip) or the recognised words."""
        if transcript is not None:
            from .text import transcript_words  # noqa: PLC0415

            t0 = clip.start or 0.0
            t1 = clip.end if clip.end is not None else (clip.reader.info.duration or t0)
            clip.words = transcript_words(transcript, t0, max(t1, t0))
        if clip.words:
            clip.frames["text"] = self.text.run([clip.words])
        elif transcript is not None:
            clip.missing["text"] = "empty transcript"
        else:
            clip.missing["text"] = "no audio track" if not clip.reader.info.has_audio else "no words recognised"

    def _vision_pass(self, clip: _Decoding) -> None:
        """Vision frames from the OpenFace CSV beside the clip, or the face mesh over the video."""
        if self.openface_dir is not None:
            from .openface import read_openface_csv  # noqa: PLC0415

            csv_path = self.openface_dir / f"{Path(clip.reader.path).stem}.csv"
            if csv_path.is_file():
                clip.frames["vision"] = read_openface_csv(csv_path, clip.start, clip.end)
            else:
                clip.missing["vision"] = f"no OpenFace CSV {csv_path.name} in {self.openface_dir}"
        elif clip.reader.info.has_video:
            clip.frames["vision"] = self.vision.run(clip.seen_video(clip.reader.video(clip.start, clip.end)))
        else:
            clip.missing["vision"] = "no video track"

    def _assemble(self, clip: _Decoding) -> ClipFeatures:
        """Frames -> (T, d) arrays per modality (the voice values appended to the acoustic ones), and
        why each empty modality is missing."""
        features, times, seen = {}, {}, {}
        missing = clip.missing
        for m in MODALITIES:
            acoustic_only = m == "audio" and self.voice is not None
            features[m], times[m] = stack_frames(clip.frames[m], self.dims[m] - (VOICE_DIM if acoustic_only else 0))
            if acoustic_only:
                from .voice import voice_for_frames  # noqa: PLC0415

                features[m] = np.concatenate([features[m], voice_for_frames(times[m], clip.utterances, self.voice)], 1)
            seen[m] = len(clip.frames[m])
            if len(features[m]) == 0 and m not in missing:
                if m == "vision":
                    missing[m] = "no face in any frame" if seen[m] else "no video frames in the clip"
                    if self.openface_dir is not None:
                        missing[m] = "OpenFace tracked no face" if seen[m] else "no OpenFace rows in the clip"
                elif m == "audio":
                    missing[m] = "no speech (voice activity)" if seen[m] else "no audio samples in the clip"
        return ClipFeatures(features, times, seen, missing, clip.words, list(clip.reader.warnings))
