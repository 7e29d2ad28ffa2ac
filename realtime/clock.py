"""One clock for the whole pipeline.

Every item is stamped at capture with `clock.now()` (seconds, float). Live capture uses
`MonotonicClock` (seconds since the pipeline started, never jumps back); file replay and the demo
use `VirtualClock`, whose time is the media time the replay driver has reached, so a recorded file
gives the same stamps, windows and outputs whether it is replayed in real time or as fast as the CPU
allows.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock."""


class MonotonicClock:
    """Wall time for live capture: seconds since construction, from `time.monotonic()`."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin

    def to_monotonic(self, t: float) -> float:
        """This clock's `t` as a `time.monotonic()` reading."""
        return self._origin + t


class VirtualClock:
    """Media time for replay: the driver moves it forward with `advance_to`; it never goes back."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance_to(self, t: float) -> None:
        """Moves the clock to `t` seconds; an earlier `t` is ignored (time only moves forward)."""
        with self._lock:
            if t > self._t:
                self._t = float(t)
