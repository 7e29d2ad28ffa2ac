"""How something is said: the Whisper encoder's states of an utterance, pooled, and the voice-emotion
head that reads them.

The recogniser's encoder already turns every utterance into states that carry the voice (pitch,
energy, timbre over time), not only the words; `SpeechRecognizer` keeps them (`pop_voice`). Here:

- `pool_states(states)`: (n, d) states -> (2d,) their mean and standard deviation over the frames;
- `VoiceEmotion`: a multinomial logistic regression on the pooled states -> the log-probabilities of
  RAVDESS's 8 emotions (`VOICE_NAMES`), loaded from `qamoe/assets/voice/` (safetensors + JSON card,
  made by `python -m qamoe.extractors.datasets.voice_head`);
- `VoiceTrack`: the latest estimate, shared between the thread that decodes speech and the one that
  makes acoustic frames (`estimate()` is the uniform prior until the first utterance is encoded).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from qamoe.data.voice_head import EMOTIONS, VOICE_NAMES  # noqa: F401 - re-exported for the extractors' users

from .audio import FEATURE_NAMES as ACOUSTIC_NAMES
from .base import ExtractorUnavailable, feature_set as base_feature_set

ASR_ENCODER = "tiny.en"  # the recogniser whose encoder states the shipped head reads
VOICE_DIM = len(EMOTIONS)
VOICED_AUDIO_DIM = len(ACOUSTIC_NAMES) + VOICE_DIM  # 52: what a checkpoint that reads the voice takes as audio
UNIFORM = np.full(VOICE_DIM, -np.log(VOICE_DIM), np.float32)


def pool_states(states: np.ndarray | None, dim: int = 384) -> np.ndarray:
    """(n, d) encoder states -> (2d,) float32 [mean over frames, std over frames]; zeros when there
    are none (`dim` gives d then)."""
    if states is None or len(states) == 0:
        return np.zeros(2 * dim, np.float32)
    states = np.asarray(states, np.float64)
    return np.concatenate([states.mean(0), states.std(0)]).astype(np.float32)


class VoiceEmotion:
    """The shipped voice-emotion head (`qamoe.data.voice_head`) on the recogniser's encoder states.

    head: an already-loaded `VoiceHead` (the shipped one when None)."""

    def __init__(self, head=None) -> None:
        if head is None:
            from qamoe.data import voice_head  # noqa: PLC0415
            from qamoe.shipped import ASSETS  # noqa: PLC0415

            head = voice_head.load(ASSETS / "voice")
        self.head = head
        self.state_dim = head.input_dim // 2

    def check_encoder(self, recognizer) -> None:
        """A clear error when the recogniser's encoder is not the one the head was fitted on."""
        if getattr(recognizer, "model_name", None) != ASR_ENCODER:
            raise ExtractorUnavailable(f"the voice features read Whisper {ASR_ENCODER}'s encoder states; the recogniser "
                                       f"runs {getattr(recognizer, 'model_name', recognizer)!r} (use --asr {ASR_ENCODER} "
                                       "with a checkpoint that reads voice features)")

    def log_probs(self, states: np.ndarray | None) -> np.ndarray:
        """(n, d) states of one utterance -> (8,) log-probabilities (the uniform prior without states)."""
        if states is None or len(states) == 0:
            return UNIFORM.copy()
        if states.shape[1] != self.state_dim:
            raise ValueError(f"the voice head reads {self.state_dim}-value encoder states, got {states.shape[1]}")
        return self.head.log_probs(pool_states(states, self.state_dim))


class VoiceTrack:
    """The latest voice estimate of a stream, written by the speech thread, read by the audio thread.

    `update(voice_states)` after each decode (the open utterance's states so far, then its last);
    `estimate()` -> (8,) log-probabilities, the uniform prior until something was encoded."""

    def __init__(self, emotion: VoiceEmotion) -> None:
        self.emotion = emotion
        self._lock = threading.Lock()
        self._latest = UNIFORM.copy()

    def update(self, voice_states) -> None:
        for v in voice_states:
            estimate = self.emotion.log_probs(v.states)
            with self._lock:
                self._latest = estimate

    def estimate(self) -> np.ndarray:
        with self._lock:
            return self._latest

    def reset(self) -> None:
        with self._lock:
            self._latest = UNIFORM.copy()


def with_voice(frames: list, estimate: np.ndarray) -> list:
    """Acoustic frames (44) -> the same frames with the voice estimate appended (52)."""
    return [replace(f, values=np.concatenate([f.values, estimate]).astype(np.float32)) for f in frames]


def voice_for_frames(times: np.ndarray, utterances: list, emotion: VoiceEmotion) -> np.ndarray:
    """(T, 2) frame start/end seconds + the utterances' final `VoiceStates` -> (T, 8): each frame gets
    the estimate of the latest utterance that began at or before it (the uniform prior before any)."""
    out = np.tile(UNIFORM, (len(times), 1))
    for v in sorted((u for u in utterances if u.final), key=lambda u: u.start):
        out[np.asarray(times)[:, 0] >= v.start - 1e-6] = emotion.log_probs(v.states)
    return out.astype(np.float32)


AUDIO_FEATURE_SETS = {"acoustic": len(ACOUSTIC_NAMES), "acoustic+voice": VOICED_AUDIO_DIM}


def uses_voice(dim: int, feature_set: str | None = None) -> bool:
    """Whether a checkpoint's audio reads the voice estimate: `feature_set` when its provenance records
    one ("acoustic" or "acoustic+voice", key `audio_features`), else by its audio size (44 or 52)."""
    return base_feature_set(dim, feature_set, AUDIO_FEATURE_SETS, "audio") == "acoustic+voice"
