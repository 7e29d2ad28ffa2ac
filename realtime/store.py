"""Where extracted features wait for the windowing loop: one bounded buffer per modality, plus the
rolling transcript and the presence indicators (face found, speech found).

Presence is decided here and only here: a vision frame says whether a face was found, an audio frame
whether there was speech (the extractors mark frames without one `missing`).

Everything here is bounded: feature buffers hold at most `capacity` frames per modality (the oldest
is dropped and counted), the transcript keeps the last `max_words` words.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from qamoe.extractors.base import FeatureFrame, Word

from .ringbuffer import RingBuffer

PRESENCE_OF = {"vision": "face", "audio": "speech"}  # a frame of these modalities is presence evidence


@dataclass(frozen=True)
class Presence:
    """Whether the latest evidence shows something (a face, speech), and when it was seen (seconds)."""

    found: bool
    t: float


class Transcript:
    """The last `max_words` final words in time order, plus the current partial hypothesis (words
    of an utterance still being decoded, replaced as it changes); thread-safe."""

    def __init__(self, max_words: int = 200, *, on_words: Callable[[list[tuple[Word, bool]]], None] | None = None) -> None:
        """on_words: told of words not shown before, as (word, whether its text is new)."""
        self._words: deque[Word] = deque(maxlen=max_words)
        self._partial: list[Word] = []
        self._lock = threading.Lock()
        self.on_words = on_words

    def set_partial(self, words: list[Word]) -> None:
        with self._lock:
            previous = self._partial
            before = {(w.text, round(w.end, 2)) for w in previous}
            texts = [w.text for w in previous]
            self._partial = list(words)[-50:]
            # (word, whether the text changed): a word only re-timed by the decoder is new to the
            # latency tracker (as in issue 5's method) but changes nothing on screen
            new = [(w, i >= len(texts) or texts[i] != w.text) for i, w in enumerate(self._partial)
                   if (w.text, round(w.end, 2)) not in before]
        if new and self.on_words is not None:
            self.on_words(new)

    def partial(self, until: float | None = None) -> list[Word]:
        with self._lock:
            return [w for w in self._partial if until is None or w.end <= until]

    def add(self, word: Word) -> None:
        with self._lock:
            self._words.append(word)
        if self.on_words is not None:
            self.on_words([(word, True)])

    def words(self, until: float | None = None) -> list[Word]:
        """Words that ended at or before `until` (all when None)."""
        with self._lock:
            return [w for w in self._words if until is None or w.end <= until]

    def text(self, until: float | None = None) -> str:
        return " ".join(w.text for w in self.words(until))


class FeatureStore:
    """Per-modality feature frames keyed by their start time (seconds on the pipeline clock).

    Keyed by start, not end: some extractors date a frame's end one frame period after its capture
    (a video frame at t covers [t, t + 1/fps)); a window at `now` includes every frame already
    extracted from data captured up to `now`."""

    def __init__(self, modalities: tuple[str, ...], capacity: int = 2048, max_words: int = 200, keep_s: float = 10.0,
                 *, listeners: tuple[Callable[[str, float, bool], None], ...] = ()) -> None:
        """capacity: frames kept per modality at most (overflow drops the oldest and counts it);
        keep_s: frames older than this behind the newest one expire quietly (no window reaches them);
        listeners: see below, given here (the update trigger and the telemetry monitor)."""
        self.modalities = tuple(modalities)
        self.keep_s = keep_s
        self.buffers: dict[str, RingBuffer[FeatureFrame]] = {
            m: RingBuffer(capacity, name=f"features/{m}") for m in self.modalities
        }
        self.transcript = Transcript(max_words, on_words=self._words_shown)
        self._presence: dict[str, Presence] = {}
        self._expressions: deque[tuple[float, np.ndarray]] = deque(maxlen=64)  # (time, 7 probabilities) per face frame
        self._lock = threading.Lock()
        # listeners(kind, t, usable): told of every frame added (kind = its modality, t = its start,
        # usable = not marked missing) and every word first shown, partial or final (kind = "words",
        # t = the word's end, usable = False when a partial word only moved in time, its text the
        # same); called in the thread that added it
        self.listeners = tuple(listeners)

    def _words_shown(self, words: list[tuple[Word, bool]]) -> None:
        for listener in self.listeners:
            for word, changed in words:
                listener("words", word.end, changed)

    def add_frame(self, modality: str, frame: FeatureFrame) -> None:
        buffer = self.buffers.get(modality)
        if buffer is not None:  # a modality the model does not read is ignored
            buffer.discard_before(frame.start - self.keep_s)
            buffer.push(frame.start, frame)
            if modality in PRESENCE_OF:
                self._set_presence(PRESENCE_OF[modality], not frame.missing, frame.start)
            for listener in self.listeners:
                listener(modality, frame.start, not frame.missing)

    def add_word(self, word: Word) -> None:
        self.transcript.add(word)

    def _set_presence(self, what: str, found: bool, t: float) -> None:
        with self._lock:
            self._presence[what] = Presence(bool(found), float(t))

    def presence(self, what: str, now: float, *, max_age: float) -> bool | None:
        """Whether the latest evidence at `now` shows `what` ('face' or 'speech'); None when there is
        none, or when it is older than `max_age` seconds (or stamped after `now`)."""
        with self._lock:
            p = self._presence.get(what)
        if p is None or now - p.t > max_age or p.t > now + 1e-9:
            return None
        return p.found

    def add_expression(self, t: float, probs: np.ndarray) -> None:
        """The expression network's 7 probabilities of the face in the frame at `t` (bounded history)."""
        with self._lock:
            self._expressions.append((float(t), np.asarray(probs, np.float64)))

    def expression(self, t0: float, t1: float) -> np.ndarray | None:
        """Mean expression probabilities of the face frames with t0 < t <= t1, or None when there are none."""
        with self._lock:
            found = [p for t, p in self._expressions if t0 < t <= t1]
        return np.mean(found, axis=0) if found else None

    def frames(self, modality: str, t0: float, t1: float) -> list[FeatureFrame]:
        """Frames of `modality` whose start lies in (t0, t1], oldest first."""
        return [s.item for s in self.buffers[modality].since(t0, t1)]
