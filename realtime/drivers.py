"""Drivers own time: they feed the pipeline's stage and decide when it ticks. Two of them, one contract.

Both take an already-built `Pipeline` (engine, stage, window, board of sources) and a clock; both
push every source item through the stage's one fan-out (`FeatureStage.push`) and both update when a
face frame, text frame or word arrives (event-driven, at most `max_rate_hz`) with a floor of one
update every 1 / `rate_hz` (or at the fixed rate alone with `events=False`).

`ReplayDriver`, for recordings (a video file, the demo), on a `VirtualClock`, in the caller's thread:

    recording.items() ──(t order)──> stage.push ──> stage.drain ──> store ──> tick(s) at exact media times

The model takes no virtual time, so the schedule is a function of the items alone: a file gives the
same updates at any pace (`pace=None`: as fast as possible), and a test can assert them exactly. An
update at time s sees every item stamped at or before s.

`LiveDriver`, for capture devices, on the `MonotonicClock`, with threads:

    camera thread ──push──> [video→vision inbox] ──worker──> vision extractor ──┐
    mic callback  ──push──> [audio→audio inbox]  ──worker──> audio extractor  ──┼─> FeatureStore
                      └───> [audio→asr+text inbox] ──worker──> ASR + MiniLM    ──┘      │
                              updater thread: window → model → Update, as soon as the model is free
                              after a trigger (capped), and at least every 1 / rate_hz seconds

Each target has its own bounded inbox, so a slow one (ASR) drops its own oldest chunks (counted)
without delaying the others. Capture never waits on a consumer.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from .clock import MonotonicClock, VirtualClock
from .pipeline import Pipeline
from .sources import Recording
from .update import Update

# A processor may ask for its worker thread to run at a lower priority with a `nice` attribute (a nice
# increment): speech recognition does (`SpeechProcessor.nice`), the heaviest consumer and the least
# urgent one; on a busy CPU its bursts otherwise delay face frames and updates (measured:
# benchmarks/REALTIME.md, issue 13).


def check_rates(rate_hz: float, events: bool, max_rate_hz: float) -> None:
    if rate_hz <= 0:
        raise ValueError(f"update rate must be > 0 Hz, got {rate_hz}")
    if events and max_rate_hz < rate_hz:
        raise ValueError(f"the maximum update rate ({max_rate_hz} Hz) is below the floor rate ({rate_hz} Hz)")


class UpdateSchedule:
    """When the next update is due, the one rule of both drivers: a triggered update at the trigger's
    time, but no sooner than 1 / max rate after the previous update (a burst coalesces into it); else
    the floor, one period after the last triggered update, then every period (with no triggers, simply
    start + k / rate_hz). Times are the driver's clock: media seconds in a replay, monotonic seconds live."""

    def __init__(self, period: float, min_interval: float, *, start: float = 0.0) -> None:
        self.period, self.min_interval = period, min_interval
        self.last = start  # time of the previous update
        self._anchor, self._floors = start, 0  # floor updates are anchor + k x period
        self._pending: float | None = None  # a triggered update waiting

    @property
    def waiting(self) -> bool:
        """Whether a triggered update is scheduled."""
        return self._pending is not None

    def due(self) -> float:
        floor = self._anchor + (self._floors + 1) * self.period
        return floor if self._pending is None else min(self._pending, floor)

    def take(self, now: float | None = None) -> float:
        """The due update happens, at its due time (replay) or at `now` (live: when the model got to it);
        returns its time. Live, a floor missed by more than a period is skipped, not made up in a burst."""
        due = self.due()
        t = due if now is None else now
        if self._pending is not None and self._pending <= due:
            self._pending = None
            self._anchor, self._floors = t, 0
        elif now is not None and now - due > self.period:
            self._anchor, self._floors = now, 0
        else:
            self._floors += 1
        self.last = t
        return t

    def trigger(self, t: float) -> None:
        if self._pending is None:
            self._pending = max(t, self.last + self.min_interval)

    def pending(self) -> float:
        return self._pending if self._pending is not None else 0.0


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
    def __init__(self, pipeline: Pipeline, clock: VirtualClock, *, rate_hz: float = 5.0, pace: float | None = 1.0,
                 duration: float | None = None, events: bool = False, max_rate_hz: float = 30.0) -> None:
        """Replays the recordings on `pipeline.board`. rate_hz: updates per media second (the floor when
        `events`); pace: media seconds per wall second (None: no waiting); duration: stop after this many
        media seconds (None: when every recording has ended); events: event-driven updates, at most
        max_rate_hz per media second."""
        check_rates(rate_hz, events, max_rate_hz)
        if pace is not None and pace <= 0:
            raise ValueError(f"pace must be > 0, got {pace}")
        self.pipeline = pipeline
        self.recordings = pipeline.board.recordings
        self.clock = clock
        self.period = 1.0 / rate_hz
        self.pace = pace
        self.duration = duration
        self.events = events
        self.min_interval = 1.0 / max_rate_hz
        self._stop = threading.Event()
        self._wall_origin = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> ReplaySummary:
        summary = ReplaySummary()
        self._wall_origin = time.monotonic()
        schedule = UpdateSchedule(self.period, self.min_interval)
        stage, last_t, exhausted = self.pipeline.stage, 0.0, False
        for t, stream, item in self._merged():
            if self._stop.is_set():
                summary.stopped_early = True
                break
            if self.duration is not None and t > self.duration:
                break
            while schedule.due() < t and not self._stop.is_set():
                self._tick(schedule.take(), summary)
            self._wait_until(t)
            self.clock.advance_to(t)
            self.pipeline.take_trigger()  # what the item itself triggers, only
            stage.push(stream, t, item)
            stage.drain()
            if self.pipeline.take_trigger() and self.events:
                schedule.trigger(t)
            last_t = max(last_t, t)
        else:
            exhausted = True
            self.pipeline.take_trigger()
            stage.flush()
            if self.pipeline.take_trigger() and self.events:
                schedule.trigger(last_t)
        # update on to the end of the recordings (or the duration, when that came first), so the final
        # update has seen everything (and that the recordings ended); a replay ends with its files
        if self.events:
            end = max(last_t, schedule.pending())
        else:
            end = math.ceil(last_t / self.period - 1e-9) * self.period
        if self.duration is not None:
            end = min(end, self.duration) if exhausted else self.duration
        while not self._stop.is_set() and schedule.due() <= end + 1e-9:
            self._tick(schedule.take(), summary)
        if not self._stop.is_set() and (self.duration is None or exhausted) and schedule.last < end - 1e-9:
            schedule.last = end  # a last update at the end, so it has seen everything
            self._tick(end, summary)
        summary.stopped_early = summary.stopped_early or self._stop.is_set()
        summary.media_s = self.clock.now()
        summary.wall_s = time.monotonic() - self._wall_origin
        for r in self.recordings:
            summary.warnings += [f"{r.name}: {w}" for w in r.warnings()]
            state = r.state()
            if state.message:
                summary.warnings.append(f"{r.name}: {state.state} {state.message}")
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
        """All recordings' items in time order; a recording that raises ends there, failed."""
        return heapq.merge(*(_guarded(r) for r in self.recordings), key=lambda x: x[0])


def _guarded(recording: Recording) -> Iterator[tuple[float, str, Any]]:
    last = -math.inf
    try:
        for t, stream, item in recording.items():
            if t < last:
                raise ValueError(f"items out of time order ({t:.3f} s after {last:.3f} s)")
            last = t
            yield t, stream, item
    except Exception as err:  # noqa: BLE001 - a broken recording ends, the others go on
        recording.finish(f"at {max(last, 0):.2f} s: {type(err).__name__}: {err}")
        return
    recording.finish()


class LiveDriver:
    def __init__(self, pipeline: Pipeline, clock: MonotonicClock, *, rate_hz: float = 5.0, events: bool = True,
                 max_rate_hz: float = 30.0, background: dict[str, int] | None = None) -> None:
        """Runs the capture sources on `pipeline.board`. rate_hz: the fixed rate (events=False) or the
        floor (events=True); max_rate_hz: the cap on event-driven updates per second; background:
        target name -> nice increment of its worker thread (Linux), in place of the targets' own
        `nice` (None: theirs)."""
        check_rates(rate_hz, events, max_rate_hz)
        self.pipeline = pipeline
        self.sources = pipeline.board.capture
        self.clock = clock
        self.period = 1.0 / rate_hz
        self.events = events
        self.min_interval = 1.0 / max_rate_hz
        self.background = ({t.name: getattr(t, "nice", 0) for t in pipeline.stage.targets} if background is None
                           else dict(background))
        self.tick_errors = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(target,), name=f"worker-{target.name}", daemon=True)
                         for target in pipeline.stage.targets]
        self._threads.append(threading.Thread(target=self._update_loop, name="updater", daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        for source in self.sources:
            source.start(self.pipeline.stage.push, self.clock)

    def stop(self) -> None:
        """Ends the updates first, then the sources: no update is made from sources already stopped."""
        self._stop.set()
        self.pipeline.wake.set()
        for thread in self._threads:
            thread.join(2.0)
        for source in self.sources:
            source.stop()

    def _work(self, target) -> None:
        if self.background.get(target.name):
            lower_thread_priority(self.background[target.name])
        while not self._stop.is_set():
            self.pipeline.stage.process_next(target, timeout=0.05)  # one at a time: lag is bounded by the inbox

    def _update_loop(self) -> None:
        wake = self.pipeline.wake
        schedule = UpdateSchedule(self.period, self.min_interval, start=self.clock.now())
        while not self._stop.is_set():
            now = self.clock.now()
            if self.events and wake.is_set():
                schedule.trigger(now)  # at once, or when the cap allows: what arrives meanwhile joins in
            if now < schedule.due():
                if self.events and not schedule.waiting:
                    wake.wait(schedule.due() - now)  # a trigger ends the wait early
                else:
                    self._stop.wait(schedule.due() - now)
                continue
            self.pipeline.take_trigger()  # before the update: anything stored from now on triggers the next
            schedule.take(now)
            try:
                self.pipeline.tick(now)
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
