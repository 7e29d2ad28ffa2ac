"""What the live pipeline measures about itself, kept beside what it predicts.

An `Update` is the prediction (sentiment, reliabilities, transcript, presence); its `telemetry` is a
separate record: latencies, drops, rates and the state of every source and extractor. The one JSONL
line of an update still carries both, flat, as it always has (`Update.to_json`).

`Monitor` collects the telemetry by observing, never by being called from inside the work:

    FeatureStage (observers=[monitor])    arrived(stream, t) · picked(stream, t) · ran(target, ms)
    FeatureStore (listeners=[monitor...]) stored(kind, t, usable)
    Pipeline     (monitor=monitor)        telemetry(now, times, ...) for the update it builds,
                                          published(now, times) once every subscriber has it

It owns the `LatencyTracker` (per-item stage latencies and their percentiles, `latency.py`) and the
arrival history behind the rates. Everything it is told comes with the times of the work that was
done; it does no work of its own on the data path.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .latency import LatencyTracker


@dataclass(frozen=True)
class Telemetry:
    """How the pipeline was doing at one update.

    latency_ms: this tick's stage -> milliseconds (window, inference, tick, extract/<processor>, and
    age/<modality>: how old the newest frame in the window was when the update left).
    latency_pct: stage -> {p50, p95, p99, n} (ms) over the recent items traced through the pipeline
    (`video/e2e`, `word/asr`, `tick/model` ..., see `latency.py`), as of the previous update.
    dropped: ring buffer name -> items dropped so far.
    sources: source name -> state text, and 'extractor <name>' -> its last error.
    rates: stream -> items per second recently received ('updates' is the update rate).
    """

    latency_ms: dict[str, float] = field(default_factory=dict)
    latency_pct: dict[str, dict[str, float]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "latency_ms": {k: round(v, 2) for k, v in self.latency_ms.items()},
            "latency_pct": {k: dict(v) for k, v in self.latency_pct.items()},
            "dropped": dict(self.dropped),
            "sources": dict(self.sources),
            "rates": {k: round(v, 2) for k, v in self.rates.items()},
        }


@dataclass(frozen=True)
class TickTimes:
    """Wall instants (`time.monotonic()`) of one tick's stages, and what its windows held.

    ages_s: modality (or 'word') -> pipeline seconds between the newest item in the window and the
    tick's time."""

    started: float
    windowed: float
    inferred: float
    ages_s: dict[str, float] = field(default_factory=dict)


class Monitor:
    """Observes the stage, the store and the pipeline; builds each update's `Telemetry`. Thread-safe:
    capture threads, workers and the update thread all report here."""

    def __init__(self, latency: LatencyTracker | None = None, *, rate_span_s: float = 2.0) -> None:
        self.latency = latency if latency is not None else LatencyTracker()
        self.rate_span_s = rate_span_s
        self.extract_ms: dict[str, float] = {}  # processor name -> its last item's processing time
        self._arrivals: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=256))
        self._last_tick_t: float | None = None
        self._tick_interval_s: float | None = None
        self._lock = threading.Lock()

    # -- observing the stage (FeatureStage observers) -----------------------------------------------
    def arrived(self, stream: str, t: float) -> None:
        with self._lock:
            self._arrivals[stream].append(t)
        self.latency.arrived(stream, t)

    def picked(self, stream: str, t: float) -> None:
        self.latency.picked(stream, t)

    def ran(self, target: str, ms: float) -> None:
        self.extract_ms[target] = ms

    # -- observing the store (FeatureStore listeners) -----------------------------------------------
    def stored(self, kind: str, t: float, usable: bool) -> None:
        self.latency.stored(kind, t, usable)

    # -- the pipeline's updates ---------------------------------------------------------------------
    def rate(self, stream: str, now: float) -> float:
        """Items per second that arrived on `stream` in the last `rate_span_s` seconds (pipeline clock)."""
        with self._lock:
            times = list(self._arrivals.get(stream, ()))
        return sum(1 for t in times if now - self.rate_span_s < t <= now) / self.rate_span_s

    def streams(self) -> list[str]:
        with self._lock:
            return list(self._arrivals)

    def telemetry(self, now: float, times: TickTimes, *, dropped: dict[str, int], sources: dict[str, str]) -> Telemetry:
        """The telemetry of the update being built at pipeline time `now`."""
        latency = {"window": (times.windowed - times.started) * 1000, "inference": (times.inferred - times.windowed) * 1000}
        latency.update({f"extract/{name}": ms for name, ms in self.extract_ms.copy().items()})  # copy: workers write
        latency.update({f"age/{m}": max(0.0, age * 1000) for m, age in times.ages_s.items()})
        latency["tick"] = (time.monotonic() - times.started) * 1000
        rates = {stream: self.rate(stream, now) for stream in self.streams()}
        if self._last_tick_t is not None:
            interval = now - self._last_tick_t
            self._tick_interval_s = interval if self._tick_interval_s is None else 0.8 * self._tick_interval_s + 0.2 * interval
            rates["updates"] = 1.0 / self._tick_interval_s if self._tick_interval_s > 0 else 0.0
        self._last_tick_t = now
        return Telemetry(latency_ms=latency, latency_pct=self.latency.summary(), dropped=dropped, sources=sources,
                         rates=rates)

    def published(self, now: float, times: TickTimes) -> None:
        """Every subscriber has the update for `now`: the traced items it shows get their latencies."""
        self.latency.published(now, times.started, times.windowed, times.inferred, time.monotonic())
