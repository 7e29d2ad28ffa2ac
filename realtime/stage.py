"""The feature stage: turns what sources emit into feature frames, words and presence in the store.

Items on feature streams (the simulated source) and words go straight to the `FeatureStore`. Raw
items (audio chunks, video frames) go to the `Processor`s registered for their stream (see
`extraction.py`), which run extractors and write frames into the store. A processor that raises is
reported and skipped for that item: its modality then goes missing in the windows instead of the
pipeline crashing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Any, Protocol

from qamoe.extractors.base import FeatureFrame

from .store import FeatureStore
from .streams import WORDS, modality_of

# feature frames of these modalities also tell whether something is present (missing frame = absent)
PRESENCE_OF = {"vision": "face", "audio": "speech"}


class Processor(Protocol):
    """Eats one raw stream (`stream`) and writes what it extracts into the store."""

    stream: str
    name: str

    def process(self, t: float, item: Any, store: FeatureStore) -> None: ...

    def flush(self, store: FeatureStore) -> None: ...


class FeatureStage:
    """Routes `(stream, t, item)` to the store or to processors; measures each processor's time."""

    def __init__(self, store: FeatureStore, processors: list[Processor] = ()) -> None:
        self.store = store
        self.processors: dict[str, list[Processor]] = defaultdict(list)
        for p in processors:
            self.processors[p.stream].append(p)
        self.latency_ms: dict[str, float] = {}  # processor name -> last item's processing time
        self.errors: dict[str, str] = {}  # processor name -> last error message
        self.arrivals: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=256))
        self._lock = threading.Lock()
        self.tracker = None  # a latency.LatencyTracker, told of every arrival (the pipeline sets it)

    def note_arrival(self, stream: str, t: float) -> None:
        with self._lock:
            self.arrivals[stream].append(t)
        if self.tracker is not None:
            self.tracker.arrived(stream, t)

    def handle(self, stream: str, t: float, item: Any) -> None:
        """Routes one item (in the caller's thread)."""
        self.note_arrival(stream, t)
        self.route(stream, t, item)

    def route(self, stream: str, t: float, item: Any) -> None:
        """Like `handle`, without counting the arrival (the caller already did)."""
        modality = modality_of(stream)
        if modality is not None:
            self.add_frame(modality, item)
        elif stream == WORDS:
            self.store.add_word(item)
        else:
            for processor in self.processors.get(stream, ()):
                self.run(processor, processor.process, t, item, self.store)

    def add_frame(self, modality: str, frame: FeatureFrame) -> None:
        self.store.add_frame(modality, frame)
        if modality in PRESENCE_OF:
            self.store.set_presence(PRESENCE_OF[modality], not frame.missing, frame.start)

    def flush(self) -> None:
        """End of stream: every processor emits what it still holds."""
        for processors in self.processors.values():
            for processor in processors:
                self.run(processor, processor.flush, self.store)

    def rate(self, stream: str, now: float, span: float = 2.0) -> float:
        """Items per second that arrived on `stream` in the last `span` seconds (pipeline clock)."""
        with self._lock:
            times = list(self.arrivals.get(stream, ()))
        return sum(1 for t in times if now - span < t <= now) / span

    def run(self, processor: Processor, method, *args) -> None:
        """Calls `method(*args)` of `processor`, timing it; an exception is recorded, not raised."""
        started = time.perf_counter()
        try:
            method(*args)
        except Exception as err:  # noqa: BLE001 - one bad item must not stop the pipeline
            self.errors[processor.name] = f"{type(err).__name__}: {err}"
        else:
            self.errors.pop(processor.name, None)
        self.latency_ms[processor.name] = (time.perf_counter() - started) * 1000

