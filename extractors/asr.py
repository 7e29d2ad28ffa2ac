"""Streaming speech recognition, gated by voice activity.

`SpeechRecognizer` (backend "pocketsphinx", the en-us acoustic model, language model and dictionary
shipped inside the `pocketsphinx` wheel) takes `AudioChunk`s at any rate and returns `Word`s:

- final words (`final=True`) when an utterance ends (silero-vad says silence for 0.3 s, the stream is
  flushed, or an utterance reaches `max_utterance_s`), with start/end in stream seconds (10 ms
  resolution) and `confidence` = the word's posterior probability from the lattice, in [0, 1];
- partial words (`final=False`) every `partial_interval_s` (0.1 s) while an utterance is open: the
  current best path, which may still change; their confidence is 0. The cadence was 0.5 s; at 0.1 s
  the median word appears 160 ms after it was spoken instead of 440 ms, for no measurable CPU (the
  decoder searches as audio arrives either way; a partial only reads its best path out), see
  `benchmarks/asr_latency.py` and benchmarks/REALTIME.md. Endpointing stays at 0.3 s of silence:
  0.2 s split utterances where the speaker only paused and made the 95th percentile worse.

Only audio that the VAD marks as speech (plus `preroll_s` before it) reaches the decoder, so silence
costs almost nothing. Fillers (<s>, </s>, <sil>, [NOISE]...) are dropped and pronunciation variants
("the(2)") are reported as the plain word.

`WhisperRecognizer` is an optional backend for users who have faster-whisper and its weights; it
transcribes each VAD utterance when it ends. `make_recognizer(name)` picks a backend by name.
"""

from __future__ import annotations

import re
from collections import deque

import numpy as np

from .audio import StreamResampler
from .base import AudioChunk, ExtractorUnavailable, Word
from .vad import SAMPLE_RATE, VoiceActivity

_VARIANT = re.compile(r"\(\d+\)$")
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")


def clean_word(token: str) -> str | None:
    """Pocketsphinx token -> plain word, or None for fillers and silence."""
    if _FILLER.match(token):
        return None
    return _VARIANT.sub("", token)


class _GatedRecognizer:
    """VAD gating and utterance bookkeeping shared by the backends."""

    def __init__(self, vad: VoiceActivity | None = None, preroll_s: float = 0.3, max_utterance_s: float = 20.0, partial_interval_s: float = 0.1) -> None:
        self.vad = vad or VoiceActivity()
        self.preroll_s, self.max_utterance_s, self.partial_interval_s = preroll_s, max_utterance_s, partial_interval_s
        self._resample = StreamResampler()
        self.reset()

    # -- backend hooks --------------------------------------------------------------------------
    def _begin(self) -> None: ...
    def _push(self, samples: np.ndarray) -> None: ...
    def _partial(self) -> list[Word]:
        return []
    def _finish(self) -> list[Word]: ...

    # -- streaming interface --------------------------------------------------------------------
    def reset(self) -> None:
        self.vad.reset()
        self._resample.reset()
        self._preroll: deque[tuple[float, np.ndarray]] = deque()
        self._in_utt = False
        self._utt_t0 = 0.0  # stream time of the first sample given to the decoder
        self._utt_samples = 0
        self._since_partial = 0

    def feed(self, chunk: AudioChunk) -> list[Word]:
        samples = self._resample(chunk)
        t = float(chunk.t)
        self.vad.feed(AudioChunk(t, samples, SAMPLE_RATE))
        words: list[Word] = []
        ended = False
        for kind, _ in self.vad.pop_events():
            if kind == "start" and not self._in_utt:
                self._open(t)
            elif kind == "end" and self._in_utt:
                ended = True
        if self._in_utt:
            self._give(samples)
            if ended or self._utt_samples >= self.max_utterance_s * SAMPLE_RATE:
                words += self._close()
            elif self._since_partial >= self.partial_interval_s * SAMPLE_RATE:
                self._since_partial = 0
                words += self._partial()
        self._preroll.append((t, samples))
        while sum(len(s) for _, s in self._preroll) > self.preroll_s * SAMPLE_RATE + len(samples):
            self._preroll.popleft()
        return words

    def flush(self) -> list[Word]:
        self.vad.flush()
        return self._close() if self._in_utt else []

    def run(self, chunks, *, partials: bool = False) -> list[Word]:
        """Offline convenience: reset, feed, flush; final words only unless `partials`."""
        self.reset()
        words: list[Word] = []
        for chunk in chunks:
            words += self.feed(chunk)
        words += self.flush()
        return words if partials else [w for w in words if w.final]

    def _open(self, t: float) -> None:
        """Start an utterance at the chunk that starts at `t`, preceded by the preroll audio."""
        self._in_utt = True
        self._utt_samples = 0
        self._since_partial = 0
        self._utt_t0 = self._preroll[0][0] if self._preroll else t
        self._begin()
        for _, s in self._preroll:  # recent audio before this chunk, so the first phone is not cut
            self._give(s)

    def _give(self, samples: np.ndarray) -> None:
        self._push(samples)
        self._utt_samples += len(samples)
        self._since_partial += len(samples)

    def _close(self) -> list[Word]:
        self._in_utt = False
        words = self._finish()
        self._preroll.clear()
        return words


class SpeechRecognizer(_GatedRecognizer):
    """Pocketsphinx streaming decoder with the bundled en-us model; see the module docstring."""

    name = "pocketsphinx"

    def __init__(self, vad: VoiceActivity | None = None, **kwargs) -> None:
        try:
            from pocketsphinx import Decoder  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("ASR needs pocketsphinx (its wheel ships the en-us model): pip install 'qamoe-live[media]'") from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._frate = int(self._decoder.config["frate"])
        super().__init__(vad, **kwargs)

    def _begin(self) -> None:
        self._decoder.start_utt()
        self._decoded = True

    def _push(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
        self._decoder.process_raw(pcm.tobytes(), False, False)

    def _words(self, final: bool) -> list[Word]:
        out = []
        for seg in self._decoder.seg():
            word = clean_word(seg.word)
            if word is None:
                continue
            confidence = float(np.clip(seg.prob, 0.0, 1.0)) if final else 0.0
            out.append(Word(
                self._utt_t0 + seg.start_frame / self._frate,
                self._utt_t0 + (seg.end_frame + 1) / self._frate,
                word, confidence, final,
            ))
        return out

    def _partial(self) -> list[Word]:
        return self._words(final=False) if self._decoder.hyp() is not None else []

    def _finish(self) -> list[Word]:
        self._decoder.end_utt()
        return self._words(final=True) if self._decoder.hyp() is not None else []

    def reset(self) -> None:
        """New stream: a new decoder (~0.5 s). Restoring the cepstral mean alone was not enough: the
        words of a clip still depended on the clips decoded before it. Within a stream the decoder
        keeps adapting across utterances, which helps."""
        from pocketsphinx import Decoder  # noqa: PLC0415

        if getattr(self, "_in_utt", False):
            self._decoder.end_utt()
        if getattr(self, "_decoded", False):
            self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._decoded = False
        super().reset()


class WhisperRecognizer(_GatedRecognizer):
    """Optional: faster-whisper on each VAD utterance (needs the package and its model weights)."""

    name = "whisper"

    def __init__(self, model: str = "base.en", vad: VoiceActivity | None = None, **kwargs) -> None:
        try:
            from faster_whisper import WhisperModel  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("the whisper backend needs faster-whisper (pip install faster-whisper) and its model weights") from exc
        try:
            self._model = WhisperModel(model, device="cpu", compute_type="int8", local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ExtractorUnavailable(
                f"whisper model {model!r} is not available offline ({exc}); download it once with faster-whisper "
                "or pass a local model directory"
            ) from exc
        super().__init__(vad, **kwargs)

    def _begin(self) -> None:
        self._audio: list[np.ndarray] = []

    def _push(self, samples: np.ndarray) -> None:
        self._audio.append(samples)

    def _finish(self) -> list[Word]:
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        segments, _ = self._model.transcribe(audio, language="en", word_timestamps=True)
        words = []
        for segment in segments:
            for w in segment.words or []:
                text = w.word.strip().lower().strip(".,!?;:\"")
                if text:
                    words.append(Word(self._utt_t0 + w.start, self._utt_t0 + w.end, text, float(w.probability), True))
        return words


def make_recognizer(name: str = "pocketsphinx", **kwargs) -> _GatedRecognizer:
    """Backend by name: "pocketsphinx" (default, offline) or "whisper" (optional)."""
    backends = {"pocketsphinx": SpeechRecognizer, "whisper": WhisperRecognizer}
    if name not in backends:
        raise ValueError(f"unknown ASR backend {name!r}; choose from {sorted(backends)}")
    return backends[name](**kwargs)
