"""`qamoe.realtime.Predictor`: one checkpoint, one clip or one piece of text -> sentiment, uncertainty, reliability.

    from qamoe.realtime import Predictor
    p = Predictor.load()                         # the shipped default (qamoe/assets/live), or Predictor.load(DIR)
    p.predict(text="What a wonderful day")       # any subset of text / audio / video
    p.predict(audio=samples, sample_rate=16000)  # spoken: VAD-gated Whisper -> text, acoustic features -> audio
    p.predict(video="clip.mp4")                  # a recorded file (video or audio): all three modalities
    p.predict(audio="speech.mp3")                # an audio file of any format PyAV decodes (FLAC, WAV, MP3, OGG ...)
    p.predict(image="face.jpg")                  # a still face (path, or (H, W) / (H, W, 3) uint8 array)

Features come from the same extractor code as `qamoe-extract` and the live pipeline (`ClipExtractor`:
VAD-gated Whisper tiny.en, MiniLM per-word embeddings scaled by each word's ASR confidence, acoustic features, face features), are cut the
way the default checkpoint's training data was (`qamoe.data.window.media_features`: the first
64 words, the speech frames of the last 4 s pooled to 64 frames like the live window) and go through
the live pipeline's `InferenceEngine`. The standard deviation is calibrated with the checkpoint's
stored variance scale (`extra["uncertainty"]`).

Faces: the vision extractor always runs the expression network (`Prediction.expression`: the face's
expression probabilities, mean over its face frames); the model reads the first 20 values of each
frame (geometry) or all 27 (+ the expression log-probabilities), as its vision size says. A still
image is one frame (`still_face.still_image_features`: a small square picture is taken for a tight face
crop and padded like FER2013 faces) repeated `still_face.STILL_FACE_FRAMES` times.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qamoe.checkpoint import Checkpoint, load_checkpoint
from qamoe.extractors.vision import GEOMETRY_DIM
from qamoe.inference import InferenceEngine, sentiment_label
from qamoe.shipped import LIVE, shipped_checkpoint


class NoUsableInput(ValueError):
    """Nothing in the input carries evidence (no words, no speech, no face): no prediction is made,
    because the model would answer from its prior alone with a confident-looking number."""


@dataclass
class Prediction:
    sentiment: float  # -3..+3
    std: float  # calibrated predictive standard deviation (same units)
    label: str  # negative / neutral / positive
    reliability: dict[str, float]  # r_m per modality as reported (on a reliability scale a missing one reads 0)
    present: dict[str, bool]  # which modalities had usable features
    missing_reason: dict[str, str] = field(default_factory=dict)
    transcript: str | None = None  # the words the text modality read
    raw_std: float = 0.0  # exp(s / 2) before calibration
    warnings: list[str] = field(default_factory=list)  # decode problems, e.g. a file that looks truncated
    expression: dict[str, float] = field(default_factory=dict)  # the face's expression probabilities; empty without a face
    reading: str = ""  # what the number was read from (one-shot: a media file's last window, or the given text)
    voice: dict[str, float] = field(default_factory=dict)  # the voice's emotion probabilities (a checkpoint that reads them); empty without speech
    # what `reliability` is read on: "validation" (the checkpoint's one scale, E[share left | r_m]) or "none" (r_m as the model gives it)
    reliability_scale: str = "none"

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        from scipy.stats import norm  # noqa: PLC0415

        z = float(norm.ppf(0.5 + level / 2))
        # clipped to the scale, as the sentiment itself is: no truth lies outside -3 .. +3
        return max(-3.0, self.sentiment - z * self.std), min(3.0, self.sentiment + z * self.std)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["interval_95"] = list(self.interval(0.95))
        return out


class Predictor:
    def __init__(self, checkpoint: Checkpoint, *, profile=None, source: str | None = None, device: str = "cpu",
                 asr: str = "tiny.en") -> None:
        """`profile`: an optional `qamoe.calibration.profile.DeviceProfile` applied to audio / vision;
        `device`: where the model runs, cpu, cuda (a clear ValueError without a usable GPU) or auto;
        `asr`: the Whisper model of the speech recogniser (`qamoe.extractors.asr.WEIGHTS` or a folder).
        One instance may be shared by threads: calls are serialised (see `_lock`), never mixed."""
        self.asr = asr
        self.checkpoint = checkpoint
        feature_map = profile.normalizer(checkpoint.stats) if profile is not None else None
        self.engine = InferenceEngine(checkpoint, feature_map=feature_map, device=device)  # as qamoe-live does
        self.source = source
        self.dims = dict(self.engine.dims)
        self._clip = None
        self._embedder = None
        # One call at a time: the extractors keep per-stream state (VAD, recogniser, face tracker) and the
        # last call's warnings / expression live here; calls from several threads queue, never mix.
        self._lock = threading.RLock()
        self.last_warnings: list[str] = []  # the last media file's decode problems (e.g. truncated)
        self.last_expression: dict[str, float] = {}  # the last input's face expression probabilities
        self.last_voice: dict[str, float] = {}  # the last input's voice emotion probabilities

    @classmethod
    def load(cls, directory: str | Path | None = None, *, profile=None, device: str = "cpu", asr: str = "tiny.en") -> "Predictor":
        directory = Path(directory) if directory is not None else shipped_checkpoint(LIVE)
        return cls(load_checkpoint(directory), profile=profile, source=str(directory), device=device, asr=asr)

    # ------------------------------------------------------------ feature extraction

    def _text_embedder(self):
        if self._embedder is None:
            from qamoe.extractors.text import TextEmbedder  # noqa: PLC0415

            self._embedder = TextEmbedder("minilm")
        return self._embedder

    def _readable_text(self, text) -> tuple[str, list[str]]:
        """A given text -> (the words the text model reads, joined; warnings). What counts as evidence:
        a word the model has pieces for. Emoji, symbols it maps to [UNK] and over-long strings are
        left out (an emoji-only text read as [UNK]s came out confidently positive), and the model
        reads the first MAX_WORDS words; the transcript reported is exactly what was read."""
        from qamoe.data.window import MAX_WORDS  # noqa: PLC0415

        if not isinstance(text, str):
            raise ValueError(f"text must be a str, not {type(text).__name__}")
        # lone surrogates (undecodable bytes passed on a command line) cannot be tokenised: "?" instead
        readable = text.encode("utf-8", "replace").decode("utf-8")
        warnings = ["undecodable characters in the text were read as '?'"] if readable != text else []
        words = readable.split()
        known = self._text_embedder().known_words(words)
        if len(known) < len(words):
            warnings.append(f"{len(words) - len(known)} of {len(words)} word(s) left out: the text model has no pieces for them "
                            "(emoji, symbols or over-long strings)")
        if len(known) > MAX_WORDS:
            warnings.append(f"the text model reads the first {MAX_WORDS} of the text's {len(known)} words")
            known = known[:MAX_WORDS]
        return " ".join(known), warnings

    def _text_features(self, text: str) -> np.ndarray:
        from qamoe.extractors.text import transcript_words  # noqa: PLC0415

        words = transcript_words(text, 0.0, 1.0)
        if not words:
            return np.zeros((0, self.dims.get("text", 384)), np.float32)
        return np.stack([f.values for f in self._text_embedder().run([words])]).astype(np.float32)

    def _clip_extractor(self):
        if self._clip is None:
            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415
            from qamoe.extractors.spec import FeatureSpec  # noqa: PLC0415

            # the expression is always computed (it is shown); vision is trimmed to the checkpoint's size below
            spec = FeatureSpec.for_checkpoint(self.checkpoint, asr=self.asr)
            self._clip = ClipExtractor(replace(spec, expression=True))
        return self._clip

    def features(self, text=None, audio=None, sample_rate: int = 16000, video=None, progress=None):
        """-> ({modality: (T, d) raw features, T may be 0}, transcript, {modality: why missing}).
        `progress(stage, t, end)`: optional, called as a media file is read (qamoe-predict's bar)."""
        with self._lock:
            return self._features(text, audio, sample_rate, video, progress)

    def _features(self, text, audio, sample_rate, video, progress):
        from qamoe.data.window import media_features  # noqa: PLC0415
        from qamoe.extractors.decode import AudioArray  # noqa: PLC0415

        feats: dict[str, np.ndarray] = {}
        reasons: dict[str, str] = {}
        self.last_warnings: list[str] = []
        self.last_expression: dict[str, float] = {}
        self.last_voice: dict[str, float] = {}
        text_warnings: list[str] = []
        if text is not None:
            text, text_warnings = self._readable_text(text)
        transcript = text
        media = video if video is not None else audio
        if media is not None:
            if isinstance(media, (str, Path)):
                source = Path(media)
            else:
                if _all_non_finite(media):  # no evidence at all, rather than a damaged recording
                    raise NoUsableInput("no usable input (audio: every sample is NaN or infinite); no prediction made")
                source = AudioArray.of(media, sample_rate)  # dtype, channels, rate checked or refused
            clip = self._clip_extractor().extract(source, transcript=text, progress=progress)
            feats = media_features(clip)
            self.last_expression = _mean_expression(clip.features["vision"]) if video is not None else {}
            self.last_voice = _mean_voice(clip.features["audio"])
            feats["vision"] = feats["vision"][:, : self.dims.get("vision", GEOMETRY_DIM)]  # geometry only (20), or + expression (27)
            reasons = dict(clip.missing)
            self.last_warnings = list(clip.warnings)
            if text is None:
                transcript = " ".join(w.text for w in clip.words)
            if video is None:  # audio only: no camera was part of this input
                feats["vision"] = np.zeros((0, self.dims.get("vision", GEOMETRY_DIM)), np.float32)
                reasons.setdefault("vision", "no video given")
        elif text is not None:
            feats["text"] = self._text_features(text)
            if not len(feats["text"]):
                reasons["text"] = "no words in the given text"
        for name in self.dims:
            feats.setdefault(name, np.zeros((0, self.dims[name]), np.float32))
            if len(feats[name]) == 0:
                reasons.setdefault(name, "not given" if media is None else "no usable frames")
        self.last_warnings += text_warnings
        return feats, transcript, reasons

    # ------------------------------------------------------------ prediction

    def predict_features(self, feats: dict[str, np.ndarray], *, transcript=None, reasons=None, warnings=None) -> Prediction:
        """Raw (not normalised) features {modality: (T, d)}; a modality absent or with T == 0 is missing.
        Raises `NoUsableInput` when every modality is missing or holds no finite value."""
        present = {}
        reasons = dict(reasons or {})
        for name, dim in self.dims.items():
            values = feats.get(name)
            if values is None or len(values) == 0:
                continue
            values = np.asarray(values, np.float32).reshape(-1, dim)
            if not np.isfinite(values).any():  # all NaN / infinity: no evidence, not zeros
                reasons.setdefault(name, "no finite values")
                continue
            present[name] = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        if not present:
            why = "; ".join(f"{m}: {reasons.get(m, 'not given')}" for m in self.dims)
            raise NoUsableInput(f"no usable input ({why}); no prediction made")
        with self._lock:
            result = self.engine.infer(present)
        raw_std = float(result.raw_std)  # exp(s / 2); the engine's std already carries the variance scale once
        std = float(result.std)
        return Prediction(
            sentiment=float(result.sentiment), std=std, label=sentiment_label(result.sentiment),
            reliability={k: float(v) for k, v in result.reliability.items()},
            present={name: name in present for name in self.dims},
            missing_reason={k: v for k, v in reasons.items() if k not in present},
            transcript=transcript, raw_std=raw_std, warnings=list(warnings or []),
            reliability_scale=self.engine.reliability_scale.label,
        )

    def predict(self, text: str | None = None, audio=None, sample_rate: int = 16000, video=None, image=None,
                progress=None) -> Prediction:
        """Any subset of: `text` (a clean transcript), `audio` (1-D float samples at `sample_rate`, or
        a path of an audio file: FLAC, WAV, MP3, OGG, anything PyAV decodes), `video` (a path of a
        recorded video or audio file), `image` (a still face: a path of an image file, or an (H, W) /
        (H, W, 3) uint8 array). With `text` and media, the text modality reads the given text instead
        of the ASR's words. `progress(stage, t, end)`: optional, called as a media file is read."""
        if text is None and audio is None and video is None and image is None:
            raise ValueError("give text, audio, video or image")
        if audio is not None and video is not None:
            raise ValueError("give audio or video, not both (a video's own sound track is used)")
        if image is not None and video is not None:
            raise ValueError("give image or video, not both (a video has its own faces)")
        with self._lock:
            feats, transcript, reasons = self.features(text, audio, sample_rate, video, progress=progress)
            if image is not None:
                feats["vision"], why, self.last_expression = self._image_features(image)
                if why:
                    reasons["vision"] = why
                else:
                    reasons.pop("vision", None)
            prediction = self.predict_features(feats, transcript=transcript, reasons=reasons, warnings=self.last_warnings)
            prediction.expression = dict(self.last_expression)
            prediction.voice = dict(self.last_voice)
            no_video = video is None or reasons.get("vision") in ("no video track", "no video given")
            prediction.reading = _reading(text, audio if video is None else video, not no_video, image)
            return prediction

    def _image_features(self, image) -> tuple[np.ndarray, str | None, dict[str, float]]:
        """A still face -> ((STILL_FACE_FRAMES, d) repeated frame or (0, d), why missing, expression)."""
        from qamoe.extractors.still_face import still_face_window, still_image_features  # noqa: PLC0415
        from qamoe.extractors.vision import expression_of  # noqa: PLC0415

        dim = self.dims.get("vision", GEOMETRY_DIM)
        frame = still_image_features(image)
        if frame.missing:
            return np.zeros((0, dim), np.float32), "no face found in the image", {}
        return still_face_window(frame, dim), None, expression_of(frame.values)


def _all_non_finite(samples) -> bool:
    array = np.asarray(samples) if not isinstance(samples, (str, bytes)) else np.zeros(0)
    return array.dtype.kind == "f" and array.size > 0 and not np.isfinite(array).any()


def _reading(text, media, with_video: bool, image) -> str:
    """One line on what a one-shot prediction reads, so it is never mistaken for a live run's last update."""
    from qamoe.data.window import MAX_WORDS, WINDOW_S  # noqa: PLC0415

    parts = []
    if media is not None:
        parts.append(f"the recording's last {WINDOW_S:g} s of {'audio and video' if with_video else 'audio'}")
        if text is None:
            parts.append(f"its last {MAX_WORDS} recognised words")
    if text is not None:
        parts.append("the given text")
    if image is not None:
        parts.append("the still image")
    return "one-shot: " + ", ".join(parts) + (" (qamoe-live shows this window as it moves)" if media is not None else "")


def _mean_voice(audio: np.ndarray) -> dict[str, float]:
    """(T, 52) audio frames -> the voice head's emotion probabilities, mean over the frames of heard
    utterances ({} for acoustic-only frames, or when no utterance was encoded)."""
    from qamoe.extractors.voice import UNIFORM, VOICE_DIM, VOICED_AUDIO_DIM  # noqa: PLC0415
    from qamoe.data.voice_head import EMOTIONS  # noqa: PLC0415

    if audio.ndim != 2 or audio.shape[1] != VOICED_AUDIO_DIM:
        return {}
    voiced = audio[:, -VOICE_DIM:]
    voiced = voiced[~np.isclose(voiced, UNIFORM).all(1)]
    if not len(voiced):
        return {}
    probs = np.exp(voiced.astype(np.float64)).mean(0)
    return {name: float(p) for name, p in zip(EMOTIONS, probs / probs.sum())}


def _mean_expression(vision: np.ndarray) -> dict[str, float]:
    """(T, 27) face frames -> mean expression probabilities over them ({} without frames)."""
    from qamoe.extractors.vision import EXPRESSION_DIM, expression_of  # noqa: PLC0415

    vision = np.asarray(vision)
    if vision.ndim != 2 or len(vision) == 0 or vision.shape[1] != EXPRESSION_DIM:
        return {}
    probs = np.mean([list(expression_of(v).values()) for v in vision], axis=0)
    return {name: float(p) for name, p in zip(expression_of(vision[0]).keys(), probs)}
