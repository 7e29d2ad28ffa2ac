"""Replay driver: plays `Recording`s (a video file, the demo) through the pipeline on a virtual clock.

Items are handled strictly in time order and the model ticks at exact virtual times k / rate_hz,
each tick seeing every item stamped at or before it and nothing after. Pacing (`pace=1.0` is real
time, `pace=None` is as fast as possible) only inserts sleeps, so a file gives the same updates at
any pace. The driver runs in the caller's thread; `stop()` (from another thread) ends it early.

Event-driven updates (`events=True`): an item whose processing stores a face frame, a text frame or a
word schedules an update at its own time t, or at 1 / max_rate_hz after the previous update when
that is later (a burst coalesces into that one update); the floor is one update every 1 / rate_hz
after the previous one. The model takes no virtual time, so the schedule is a function of the items
alone: the same file gives the same updates at any pace, and a test can assert it exactly. An update
at time s sees every item stamped at or before s (it runs once the next item is known to be later).
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from .clock import VirtualClock
from .pipeline import Pipeline
from .sources import ENDED, RUNNING, Recording, SourceState
from .update import Update


@dataclass
class ReplaySummary:
    """What a replay did: media seconds covered, updates published, wall seconds taken, warnings."""

    media_s: float = 0.0
    updates: int = 0
    wall_s: float = 0.0
    stopped_early: bool = False
    warnings: list[str] = field(default_factory=list)
    last: Update | None = None


class ReplayDriver:
    def __init__(
        self,
        pipeline: Pipeline,
        recordings: list[Recording],
        clock: VirtualClock,
        *,
        rate_hz: float = 5.0,
        pace: float | None = 1.0,
        duration: float | None = None,
        events: bool = False,
        max_rate_hz: float = 30.0,
    ) -> None:
        """rate_hz: updates per media second (the floor when `events`); pace: media seconds per wall
        second (None: no waiting); duration: stop after this many media seconds (None: when every
        recording has ended); events: event-driven updates, at most max_rate_hz per media second."""
        if rate_hz <= 0:
            raise ValueError(f"update rate must be > 0 Hz, got {rate_hz}")
        if events and max_rate_hz < rate_hz:
            raise ValueError(f"the maximum update rate ({max_rate_hz} Hz) is below the floor rate ({rate_hz} Hz)")
        if pace is not None and pace <= 0:
            raise ValueError(f"pace must be > 0, got {pace}")
        self.pipeline = pipeline
        self.recordings = recordings
        self.clock = clock
        self.period = 1.0 / rate_hz
        self.pace = pace
        self.duration = duration
        self.events = events
        self.min_interval = 1.0 / max_rate_hz
        self._stop = threading.Event()
        self._states: dict[str, SourceState] = {r.name: SourceState(RUNNING) for r in recordings}
        self._faults: dict[str, str] = {}
        self._wall_origin = 0.0
        pipeline.source_states = self.source_states
        pipeline.stream_faults = lambda: dict(self._faults)

    def source_states(self) -> dict[str, str]:
        """Recording name -> 'running: <what is playing now>' (a recording's `describe(t)`), or its end."""
        now = self.clock.now()
        states = {}
        for r in self.recordings:
            state = self._states[r.name]
            caption = r.describe(now) if state.state == RUNNING else ""
            states[r.name] = f"{state.state}: {caption}" if caption else str(state)
        return states

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> ReplaySummary:
        if self.events:
            return self._run_events()
        summary = ReplaySummary()
        self._wall_origin = time.monotonic()
        tick_index = 1
        last_t = 0.0
        for t, stream, item in self._merged():
            if self._stop.is_set():
                summary.stopped_early = True
                break
            if self.duration is not None and t > self.duration:
                break
            while tick_index * self.period < t and not self._stop.is_set():
                self._tick(tick_index * self.period, summary)
                tick_index += 1
            self._wait_until(t)
            self.clock.advance_to(t)
            self.pipeline.stage.handle(stream, t, item)
            last_t = max(last_t, t)
        else:
            self.pipeline.stage.flush()
        # tick on to the duration, or to the first tick at or after the last item, so the final
        # update has seen everything (and that the recordings ended)
        end = self.duration if self.duration is not None else math.ceil(last_t / self.period - 1e-9) * self.period
        while tick_index * self.period <= end + 1e-9 and not self._stop.is_set():
            self._tick(tick_index * self.period, summary)
            tick_index += 1
        summary.stopped_early = summary.stopped_early or self._stop.is_set()
        summary.media_s = self.clock.now()
        summary.wall_s = time.monotonic() - self._wall_origin
        for r in self.recordings:
            summary.warnings += [f"{r.name}: {w}" for w in r.warnings()]
        summary.warnings += [f"{name}: {s.message}" for name, s in self._states.items() if s.message]
        return summary

    def _run_events(self) -> ReplaySummary:
        summary = ReplaySummary()
        self._wall_origin = time.monotonic()
        last = 0.0  # time of the previous update (the floor counts from 0 at the start)
        pending: float | None = None  # time of a scheduled event-driven update
        last_t = 0.0

        def due() -> float:
            floor = last + self.period
            return floor if pending is None else min(pending, floor)

        for t, stream, item in self._merged():
            if self._stop.is_set():
                summary.stopped_early = True
                break
            if self.duration is not None and t > self.duration:
                break
            while due() < t and not self._stop.is_set():
                last = due()
                pending = None if pending is not None and pending <= last else pending
                self._tick(last, summary)
            self._wait_until(t)
            self.clock.advance_to(t)
            self.pipeline.triggered = False
            self.pipeline.stage.handle(stream, t, item)
            if self.pipeline.triggered and pending is None:
                pending = max(t, last + self.min_interval)
            last_t = max(last_t, t)
        else:
            self.pipeline.triggered = False
            self.pipeline.stage.flush()
            if self.pipeline.triggered and pending is None:
                pending = max(last_t, last + self.min_interval)
        end = self.duration if self.duration is not None else max(last_t, pending or 0.0)
        while not self._stop.is_set() and due() <= end + 1e-9:
            last = due()
            pending = None if pending is not None and pending <= last else pending
            self._tick(last, summary)
        if not self._stop.is_set() and self.duration is None and last < end - 1e-9:
            last = end  # a last update at the end, so it has seen everything
            self._tick(last, summary)
        summary.stopped_early = summary.stopped_early or self._stop.is_set()
        summary.media_s = self.clock.now()
        summary.wall_s = time.monotonic() - self._wall_origin
        for r in self.recordings:
            summary.warnings += [f"{r.name}: {w}" for w in r.warnings()]
        summary.warnings += [f"{name}: {s.message}" for name, s in self._states.items() if s.message]
        return summary

    def _tick(self, t: float, summary: ReplaySummary) -> None:
        self._wait_until(t)
        self.clock.advance_to(t)
        summary.last = self.pipeline.tick(t)
        summary.updates += 1

    def _wait_until(self, t: float) -> None:
        if self.pace is None:
            return
        delay = self._wall_origin + t / self.pace - time.monotonic()
        if delay > 0:
            self._stop.wait(delay)

    def _merged(self) -> Iterator[tuple[float, str, Any]]:
        """All recordings' items in time order; a recording that raises ends there, with a fault."""
        return heapq.merge(*(self._guarded(r) for r in self.recordings), key=lambda x: x[0])

    def _guarded(self, recording: Recording) -> Iterator[tuple[float, str, Any]]:
        last = -math.inf
        try:
            for t, stream, item in recording.items():
                if t < last:
                    raise ValueError(f"items out of time order ({t:.3f} s after {last:.3f} s)")
                last = t
                yield t, stream, item
        except Exception as err:  # noqa: BLE001 - a broken recording ends, the others go on
            message = f"failed at {max(last, 0):.2f} s: {type(err).__name__}: {err}"
            self._states[recording.name] = SourceState(ENDED, message)
            for stream in recording.streams:
                self._faults[stream] = f"{recording.name} {message}"
            return
        self._states[recording.name] = SourceState(ENDED)
