"""Fake sources for tests and benchmarks, behind the same interfaces as the real ones.

- `ScriptedRecording(items)`: a `Recording` that yields the given `(t, stream, item)` and can raise
  after `fail_after` items (a file that breaks mid-way).
- `FakeCapture(make_item, period_s)`: a `CaptureSource` that produces `make_item(t)` every
  `period_s` seconds; it can refuse to open (`open_failures`), die after `die_after` items, or
  stall (block without data) after `stall_after` items until `release()` is called.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Iterator

from .clock import Clock
from .sources import CaptureSource, Recording, SourceError


class ScriptedRecording(Recording):
    def __init__(self, items: list[tuple[float, str, Any]], *, name: str = "scripted", streams: tuple[str, ...] = (),
                 fail_after: int | None = None) -> None:
        self._items = items
        self.name = name
        self.streams = streams or tuple(dict.fromkeys(s for _, s, _ in items))
        self.fail_after = fail_after

    def items(self) -> Iterator[tuple[float, str, Any]]:
        for i, item in enumerate(self._items):
            if self.fail_after is not None and i >= self.fail_after:
                raise OSError("simulated read error")
            yield item


class FakeCapture(CaptureSource):
    def __init__(self, stream: str, make_item: Callable[[float], Any], *, period_s: float = 0.05, name: str = "fake",
                 open_failures: int = 0, die_after: int | None = None, stall_after: int | None = None) -> None:
        super().__init__()
        self.name, self.streams = name, (stream,)
        self.stream, self.make_item, self.period_s = stream, make_item, period_s
        self.open_failures, self.die_after, self.stall_after = open_failures, die_after, stall_after
        self.opens = 0
        self.produced = 0
        self._unstall = threading.Event()

    def open(self) -> None:
        self.opens += 1
        if self.opens <= self.open_failures:
            raise SourceError(f"{self.name} did not open (simulated)")

    def read(self, clock: Clock) -> Iterable[tuple[str, float, Any]]:
        if self.die_after is not None and self.produced >= self.die_after:
            self.die_after = None  # dies once; a reopened device works again
            raise SourceError(f"{self.name} was unplugged (simulated)")
        if self.stall_after is not None and self.produced >= self.stall_after:
            self._unstall.wait()
            self.stall_after = None
        time.sleep(self.period_s)
        self.produced += 1
        t = clock.now()
        return [(self.stream, t, self.make_item(t))]

    def release(self) -> None:
        """Ends a stall."""
        self._unstall.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._unstall.set()
        super().stop(timeout)
