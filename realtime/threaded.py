"""Live driver: capture threads -> bounded raw buffers -> one worker thread per processor -> store;
a ticker thread runs the pipeline at a fixed rate on the monotonic clock.

    camera thread ──push──> [video→vision buffer] ──worker──> vision extractor ──┐
    mic callback  ──push──> [audio→audio buffer]  ──worker──> audio extractor  ──┼─> FeatureStore
                      └───> [audio→speech buffer] ──worker──> VAD/ASR/text     ──┘      │
                                          updater: window → model → Update, as soon as the model is free
                                          after a new face frame or word (at most max_rate_hz), and at
                                          least every 1 / rate_hz seconds (the floor)

Event-driven updates (`events=True`, the default): a new face frame, text frame or word wakes the
updater; if the last update started less than 1 / max_rate_hz ago it waits out the rest, and
everything that arrived meanwhile (a burst) goes into that one update. With nothing arriving it still
updates every 1 / rate_hz seconds, so a modality that went missing shows as missing. `events=False`
is the fixed-rate ticker.

Each processor has its own buffer, so a slow one (ASR) drops its own oldest chunks (counted) without
delaying the others. Capture never waits on a consumer.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from .clock import MonotonicClock
from .pipeline import Pipeline
from .ringbuffer import RingBuffer
from .sources import FAULTY, CaptureSource
from .stage import Processor

# raw buffer capacities (items): about 2 s of 20 ms audio chunks, a handful of video frames
CAPACITY = {"audio": 100, "video": 4}
DEFAULT_CAPACITY = 256
# worker threads that run at a lower priority (nice increment): speech recognition is the heaviest
# consumer and the least urgent one (a word is shown within about a second anyway); on a busy CPU its
# bursts otherwise delay face frames and updates (measured: benchmarks/REALTIME.md, issue 13)
BACKGROUND = {"asr+text": 5}


class LiveDriver:
    def __init__(self, pipeline: Pipeline, sources: list[CaptureSource], clock: MonotonicClock, *, rate_hz: float = 5.0,
                 events: bool = True, max_rate_hz: float = 30.0, background: dict[str, int] | None = BACKGROUND) -> None:
        """rate_hz: the fixed rate (events=False) or the floor (events=True); max_rate_hz: the cap on
        event-driven updates per second; background: processor name -> nice increment of its worker
        thread (Linux; e.g. {"asr+text": 5} lets face frames and updates go first on a busy CPU)."""
        if rate_hz <= 0:
            raise ValueError(f"update rate must be > 0 Hz, got {rate_hz}")
        if events and max_rate_hz < rate_hz:
            raise ValueError(f"the maximum update rate ({max_rate_hz} Hz) is below the floor rate ({rate_hz} Hz)")
        self.pipeline = pipeline
        self.sources = sources
        self.clock = clock
        self.period = 1.0 / rate_hz
        self.events = events
        self.min_interval = 1.0 / max_rate_hz
        self.background = dict(background or {})
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.buffers: dict[str, RingBuffer] = {}  # buffer name -> buffer
        self._routes: dict[str, list[RingBuffer]] = {}  # stream -> the buffers it fans out to
        self._direct: RingBuffer | None = None
        self.tick_errors = 0
        for stream, processors in pipeline.stage.processors.items():
            self._routes[stream] = [self._buffer(f"{stream}→{p.name}", CAPACITY.get(stream, DEFAULT_CAPACITY), p) for p in processors]
        pipeline.raw_buffers = self.buffers
        pipeline.source_states = lambda: {s.name: str(s.state()) for s in self.sources}
        pipeline.stream_faults = self.stream_faults

    def _buffer(self, name: str, capacity: int, processor: Processor | None) -> RingBuffer:
        buffer = RingBuffer(capacity, name=name)
        self.buffers[name] = buffer
        target = self._process_loop if processor is not None else self._direct_loop
        args = (buffer, processor) if processor is not None else (buffer,)
        self._threads.append(threading.Thread(target=target, args=args, name=f"worker-{name}", daemon=True))
        return buffer

    def sink(self, stream: str, t: float, item: Any) -> None:
        """What capture threads call: copy-free enqueue onto every buffer of the stream; never blocks."""
        self.pipeline.stage.note_arrival(stream, t)
        routes = self._routes.get(stream)
        if routes is None:  # feature streams and words go through one direct buffer
            if self._direct is None:
                return
            self._direct.push(t, (stream, item))
            return
        for buffer in routes:
            buffer.push(t, item)

    def stream_faults(self) -> dict[str, str]:
        faults = {}
        for source in self.sources:
            state = source.state()
            if state.state in FAULTY:
                for stream in source.streams:
                    faults[stream] = f"{source.name} {state}"
        return faults

    def start(self) -> None:
        self._direct = self._buffer("direct", DEFAULT_CAPACITY * 4, None)
        for thread in self._threads:
            thread.start()
        ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self._threads.append(ticker)
        ticker.start()
        for source in self.sources:
            source.start(self.sink, self.clock)

    def stop(self) -> None:
        self._stop.set()
        self.pipeline.wake.set()
        for source in self.sources:
            source.stop()
        for thread in self._threads:
            thread.join(2.0)

    def _process_loop(self, buffer: RingBuffer, processor: Processor) -> None:
        if self.background.get(processor.name):
            lower_thread_priority(self.background[processor.name])
        while not self._stop.is_set():
            stamped = buffer.pop(timeout=0.05)  # one at a time: lag is bounded by the buffer's capacity
            if stamped is not None:
                self.pipeline.latency.picked(processor.stream, stamped.t)
                self.pipeline.stage.run(processor, processor.process, stamped.t, stamped.item, self.pipeline.store)

    def _direct_loop(self, buffer: RingBuffer) -> None:
        while not self._stop.is_set():
            for stamped in buffer.pop_all(timeout=0.05):
                stream, item = stamped.item
                self.pipeline.stage.route(stream, stamped.t, item)

    def _tick_loop(self) -> None:
        if self.events:
            self._event_loop()
            return
        next_t = self.clock.now() + self.period
        while not self._stop.wait(max(0.0, next_t - self.clock.now())):
            try:
                self.pipeline.tick(self.clock.now())
            except Exception:  # noqa: BLE001 - a failed tick is counted; the next one tries again
                self.tick_errors += 1
            next_t += self.period
            if next_t < self.clock.now():  # fell behind: skip missed ticks instead of bursting
                next_t = self.clock.now() + self.period

    def _event_loop(self) -> None:
        wake = self.pipeline.wake
        last = self.clock.now()
        while not self._stop.is_set():
            woken = wake.wait(max(0.0, last + self.period - self.clock.now()))  # the floor: at least every period
            if self._stop.is_set():
                return
            if woken:  # coalesce: at most max_rate_hz; what arrives while waiting joins this update
                rest = last + self.min_interval - self.clock.now()
                if rest > 0 and self._stop.wait(rest):
                    return
            wake.clear()  # before the update: anything stored from now on wakes the next one
            last = self.clock.now()
            try:
                self.pipeline.tick(last)
            except Exception:  # noqa: BLE001 - a failed update is counted; the next one tries again
                self.tick_errors += 1


def lower_thread_priority(increment: int) -> bool:
    """Raises this thread's nice value by `increment` (Linux threads have their own); False where the
    platform does not allow it. Never raises priority, so it needs no privileges."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + int(increment)))
        return True
    except (AttributeError, OSError):
        return False
