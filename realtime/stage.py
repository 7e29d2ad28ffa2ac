"""The feature stage: the one fan-out from sources to processors, and the processors' bookkeeping.

Every `(stream, t, item)` a source emits goes to `push`, which counts the arrival and enqueues the
item onto the inbox of every target of its stream (never blocking: a full inbox drops its oldest
item and counts it). A target is a `Processor` registered for a raw stream (see `extraction.py`:
they run the extractors and write frames into the store), or the `StoreWriter` for feature streams
and words (the simulated source's items are features already). Who empties the inboxes is the
driver's business, not the stage's:

    replay driver:  push(item) ──> drain()                     (the caller's thread, in time order)
    live driver:    push(item) ──> one worker per target ──> process_next(target)

A processor that raises is reported (`errors`) and skipped for that item: its modality then goes
missing in the windows instead of the pipeline crashing.

The stage measures nothing itself: its `observers` (given when it is built; the `telemetry.Monitor`
in a session) are told of every arrival, every item a worker picks up and every target's run time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Protocol

from .ringbuffer import RingBuffer
from .store import FeatureStore
from .streams import WORDS, feature_stream, modality_of

# inbox capacities (items): about 2 s of 20 ms audio chunks, a handful of video frames
CAPACITY = {"audio": 100, "video": 4}
DEFAULT_CAPACITY = 256


class Processor(Protocol):
    """Eats one raw stream (`stream`), writes frames of `writes` (modality names) into the store."""

    stream: str
    name: str
    writes: tuple[str, ...]

    def process(self, t: float, item: Any, store: FeatureStore) -> None: ...

    def flush(self, store: FeatureStore) -> None: ...


class StageObserver(Protocol):
    """Told of the stage's work; called in the thread that did it, so it must be quick and thread-safe."""

    def arrived(self, stream: str, t: float) -> None: ...  # a source pushed an item stamped t

    def picked(self, stream: str, t: float) -> None: ...  # a worker took that item from its inbox

    def ran(self, target: str, ms: float) -> None: ...  # a processor took `ms` on one item (or its flush)


class StoreWriter:
    """The target of feature streams and words: their items go into the store as they are."""

    stream, name, writes = "features", "store", ()

    def process(self, t: float, item: tuple[str, Any], store: FeatureStore) -> None:
        stream, payload = item
        modality = modality_of(stream)
        if modality is not None:
            store.add_frame(modality, payload)
        elif stream == WORDS:
            store.add_word(payload)

    def flush(self, store: FeatureStore) -> None:
        pass


class FeatureStage:
    """Routes items to their targets' inboxes and runs targets on them, timing each."""

    def __init__(self, store: FeatureStore, processors: list[Processor] = (), *,
                 observers: tuple[StageObserver, ...] = ()) -> None:
        self.store = store
        self.observers = tuple(observers)
        self.writer = StoreWriter()
        self.targets: list = [self.writer, *processors]
        self._routes: dict[str, list] = defaultdict(list)  # raw stream -> its processors
        for p in processors:
            self._routes[p.stream].append(p)
        self.inboxes: dict[str, RingBuffer] = {
            t.name: RingBuffer(CAPACITY.get(t.stream, DEFAULT_CAPACITY) if t is not self.writer else 4 * DEFAULT_CAPACITY,
                               name=f"{t.stream}→{t.name}")
            for t in self.targets
        }
        self.errors: dict[str, str] = {}  # target name -> last error message

    @property
    def processors(self) -> list[Processor]:
        return self.targets[1:]

    def stream_of(self, modality: str) -> str:
        """The stream a modality's frames come from: the raw stream of the processor that writes it,
        else its own feature stream (the simulated source)."""
        for p in self.processors:
            if modality in p.writes:
                return p.stream
        return feature_stream(modality)

    # -- the fan-out -------------------------------------------------------------------------------
    def push(self, stream: str, t: float, item: Any) -> None:
        """What sources call, from any thread: tell the observers, enqueue onto every target; never blocks."""
        for observer in self.observers:
            observer.arrived(stream, t)
        targets = self._routes.get(stream)
        if targets:
            for target in targets:
                self.inboxes[target.name].push(t, item)
        elif modality_of(stream) is not None or stream == WORDS:
            self.inboxes[self.writer.name].push(t, (stream, item))

    def process_next(self, target, timeout: float) -> bool:
        """Runs `target` on the oldest item of its inbox (waiting up to `timeout` s); False when none came."""
        stamped = self.inboxes[target.name].pop(timeout=timeout)
        if stamped is None:
            return False
        for observer in self.observers:
            observer.picked(target.stream, stamped.t)
        self._run(target, target.process, stamped.t, stamped.item, self.store)
        return True

    def drain(self) -> None:
        """Runs every target on everything in its inbox, in the caller's thread (the replay driver)."""
        for target in self.targets:
            for stamped in self.inboxes[target.name].pop_all(timeout=0):
                self._run(target, target.process, stamped.t, stamped.item, self.store)

    def flush(self) -> None:
        """End of stream: what is queued is processed, then every processor emits what it still holds."""
        self.drain()
        for processor in self.processors:
            self._run(processor, processor.flush, self.store)

    # -- bookkeeping -------------------------------------------------------------------------------
    def dropped(self) -> dict[str, int]:
        """Buffer name -> items dropped so far (inboxes and the store's per-modality buffers)."""
        counts = {b.name: b.dropped for b in self.inboxes.values()}
        counts.update({b.name: b.dropped for b in self.store.buffers.values()})
        return counts

    def _run(self, target, method, *args) -> None:
        started = time.perf_counter()
        try:
            method(*args)
        except Exception as err:  # noqa: BLE001 - one bad item must not stop the pipeline
            self.errors[target.name] = f"{type(err).__name__}: {err}"
        else:
            self.errors.pop(target.name, None)
        if target is not self.writer:  # copying features into the store is not an extractor's time
            ms = (time.perf_counter() - started) * 1000
            for observer in self.observers:
                observer.ran(target.name, ms)
