"""`qamoe.Predictor`: one checkpoint, one clip or one piece of text -> sentiment, uncertainty, reliability.

    from qamoe import Predictor
    p = Predictor.load()                         # the shipped default (qamoe/assets/live), or Predictor.load(DIR)
    p.predict(text="What a wonderful day")       # any subset of text / audio / video
    p.predict(audio=samples, sample_rate=16000)  # spoken: VAD-gated ASR -> text, acoustic features -> audio
    p.predict(video="clip.mp4")                  # a recorded file (video or audio): all three modalities

Features come from the same extractor code as `qamoe-extract` and the live pipeline (`ClipExtractor`:
VAD-gated pocketsphinx, MiniLM per-word embeddings, acoustic features, face features), are cut the
way the default checkpoint's training data was (`qamoe.data.text_sentiment.media_features`: the first
64 words, the speech frames of the last 4 s pooled to 64 frames like the live window) and go through
the live pipeline's `InferenceEngine`. The standard deviation is calibrated with the checkpoint's
stored variance scale (`extra["uncertainty"]`).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qamoe.checkpoint import Checkpoint, load_checkpoint

ASSETS = Path(__file__).resolve().parent / "assets"


def default_checkpoint_dir() -> Path:
    """The shipped checkpoint for real media features (same folder as `qamoe-live` uses)."""
    return ASSETS / "live"


@dataclass
class Prediction:
    sentiment: float  # -3..+3
    std: float  # calibrated predictive standard deviation (same units)
    label: str  # negative / neutral / positive
    reliability: dict[str, float]  # r_m per modality of the model (a missing modality still gets one)
    present: dict[str, bool]  # which modalities had usable features
    missing_reason: dict[str, str] = field(default_factory=dict)
    transcript: str | None = None  # the words the text modality read
    raw_std: float = 0.0  # exp(s / 2) before calibration

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        from scipy.stats import norm  # noqa: PLC0415

        z = float(norm.ppf(0.5 + level / 2))
        return self.sentiment - z * self.std, self.sentiment + z * self.std

    def to_dict(self) -> dict:
        out = asdict(self)
        out["interval_95"] = list(self.interval(0.95))
        return out


class Predictor:
    def __init__(self, checkpoint: Checkpoint, *, profile=None, source: str | None = None) -> None:
        """`profile`: an optional `qamoe.calibration.profile.DeviceProfile` applied to audio / vision."""
        from qamoe.calibration.uncertainty import VarianceScale  # noqa: PLC0415
        from qamoe.realtime.inference import InferenceEngine  # noqa: PLC0415

        self.checkpoint = checkpoint
        self.engine = InferenceEngine(checkpoint)
        self.scale = VarianceScale.from_extra(checkpoint.extra)
        self.source = source
        self.dims = dict(self.engine.dims)
        self._normalize = profile.normalizer(checkpoint.stats) if profile is not None else None
        self._clip = None
        self._embedder = None

    @classmethod
    def load(cls, directory: str | Path | None = None, *, profile=None) -> "Predictor":
        directory = Path(directory) if directory is not None else default_checkpoint_dir()
        return cls(load_checkpoint(directory), profile=profile, source=str(directory))

    # ------------------------------------------------------------ feature extraction

    def _text_features(self, text: str) -> np.ndarray:
        from qamoe.data.text_sentiment import words_of  # noqa: PLC0415
        from qamoe.extractors.text import TextEmbedder, transcript_words  # noqa: PLC0415

        if self._embedder is None:
            self._embedder = TextEmbedder("minilm")
        words = transcript_words(" ".join(words_of(text)), 0.0, 1.0)
        if not words:
            return np.zeros((0, self.dims.get("text", 384)), np.float32)
        return np.stack([f.values for f in self._embedder.run([words])]).astype(np.float32)

    def _clip_extractor(self):
        if self._clip is None:
            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415

            self._clip = ClipExtractor()
        return self._clip

    def features(self, text=None, audio=None, sample_rate: int = 16000, video=None):
        """-> ({modality: (T, d) raw features, T may be 0}, transcript, {modality: why missing})."""
        from qamoe.data.text_sentiment import media_features, write_wav  # noqa: PLC0415

        feats: dict[str, np.ndarray] = {}
        reasons: dict[str, str] = {}
        transcript = text
        media = video if video is not None else audio
        if media is not None:
            with tempfile.TemporaryDirectory() as tmp:
                if isinstance(media, (str, Path)):
                    path = Path(media)
                else:
                    samples = np.asarray(media, np.float32)
                    if samples.ndim == 2:  # (n, channels) -> mono
                        samples = samples.mean(axis=1)
                    if samples.ndim != 1 or not len(samples):
                        raise ValueError("audio must be a non-empty 1-D array of samples")
                    path = Path(tmp) / "audio.wav"
                    write_wav(path, samples, int(sample_rate))
                extractor = self._clip_extractor()
                clip = extractor.extract(path, transcript=text)
            feats = media_features(clip)
            reasons = dict(clip.missing)
            if text is None:
                transcript = " ".join(w.text for w in clip.words)
            if video is None:  # audio only: no camera was part of this input
                feats["vision"] = np.zeros((0, self.dims.get("vision", 20)), np.float32)
                reasons.setdefault("vision", "no video given")
        elif text is not None:
            feats["text"] = self._text_features(text)
        for name in self.dims:
            feats.setdefault(name, np.zeros((0, self.dims[name]), np.float32))
            if len(feats[name]) == 0:
                reasons.setdefault(name, "not given" if media is None else "no usable frames")
        return feats, transcript, reasons

    # ------------------------------------------------------------ prediction

    def predict_features(self, feats: dict[str, np.ndarray], *, transcript=None, reasons=None) -> Prediction:
        """Raw (not normalised) features {modality: (T, d)}; a modality absent or with T == 0 is missing."""
        from qamoe.realtime.inference import sentiment_label  # noqa: PLC0415
        from qamoe.realtime.window import ModalityWindow  # noqa: PLC0415

        windows = {}
        for name, dim in self.dims.items():
            values = feats.get(name)
            if values is None or len(values) == 0:
                continue
            values = np.asarray(values, np.float32).reshape(-1, dim)
            values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
            if self._normalize is not None:
                values = self._normalize(name, values)
            windows[name] = ModalityWindow(values, None, len(values), len(values))
        result = self.engine.infer(windows)
        raw_std = float(result.std)
        std = float(self.scale.std(np.log(raw_std**2)))
        return Prediction(
            sentiment=float(result.sentiment), std=std, label=sentiment_label(result.sentiment),
            reliability={k: float(v) for k, v in result.reliability.items()},
            present={name: name in windows for name in self.dims},
            missing_reason={k: v for k, v in (reasons or {}).items() if k not in windows},
            transcript=transcript, raw_std=raw_std,
        )

    def predict(self, text: str | None = None, audio=None, sample_rate: int = 16000, video=None) -> Prediction:
        """Any subset of: `text` (a clean transcript), `audio` (1-D float samples at `sample_rate`, or
        a path of an audio file), `video` (a path of a recorded video or audio file). With `text` and
        media, the text modality reads the given text instead of the ASR's words."""
        if text is None and audio is None and video is None:
            raise ValueError("give text, audio or video")
        if audio is not None and video is not None:
            raise ValueError("give audio or video, not both (a video's own sound track is used)")
        feats, transcript, reasons = self.features(text, audio, sample_rate, video)
        return self.predict_features(feats, transcript=transcript, reasons=reasons)
