"""Bounded, timestamped, thread-safe ring buffers that drop the oldest item when full.

Nothing in the pipeline can grow without bound: every stream between two stages goes through a
`RingBuffer` with a fixed capacity (items). When a producer outruns its consumer, `push` evicts the
oldest item and counts it in `dropped`, so the UI and the run log can show what was lost.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """One item with its capture time `t` (seconds on the pipeline clock)."""

    t: float
    item: T


class RingBuffer(Generic[T]):
    """FIFO of at most `capacity` stamped items.

    Producers call `push`; consumers either `pop_all` (take everything pending, in order) or read
    without taking (`since`, `latest`). Counters: `pushed` (all items ever pushed) and `dropped`
    (items evicted unread because the buffer was full).
    """

    def __init__(self, capacity: int, name: str = "") -> None:
        if capacity < 1:
            raise ValueError(f"ring buffer {name!r}: capacity must be >= 1, got {capacity}")
        self.name = name
        self.capacity = int(capacity)
        self._items: deque[Stamped[T]] = deque()
        self._lock = threading.Lock()
        self._nonempty = threading.Condition(self._lock)
        self.pushed = 0
        self.dropped = 0

    def push(self, t: float, item: T) -> None:
        with self._lock:
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(Stamped(float(t), item))
            self.pushed += 1
            self._nonempty.notify_all()

    def discard_before(self, t0: float) -> int:
        """Removes items stamped before `t0` (expired, already seen); they are not counted as dropped."""
        with self._lock:
            n = 0
            while self._items and self._items[0].t < t0:
                self._items.popleft()
                n += 1
            return n

    def pop(self, timeout: float | None = None) -> Stamped[T] | None:
        """Takes the oldest item; waits up to `timeout` s for one when empty (None if none came).

        A slow consumer that pops one item at a time is never further behind than the buffer's
        capacity: everything older has been dropped (and counted) by `push`."""
        with self._lock:
            if not self._items and timeout:
                self._nonempty.wait(timeout)
            return self._items.popleft() if self._items else None

    def pop_all(self, timeout: float | None = None) -> list[Stamped[T]]:
        """Takes every pending item (oldest first); waits up to `timeout` s for one when empty."""
        with self._lock:
            if not self._items and timeout:
                self._nonempty.wait(timeout)
            items = list(self._items)
            self._items.clear()
            return items

    def since(self, t0: float, t1: float | None = None) -> list[Stamped[T]]:
        """Items with t0 < t <= t1 (t1 = no upper bound), oldest first, left in the buffer."""
        with self._lock:
            return [s for s in self._items if s.t > t0 and (t1 is None or s.t <= t1)]

    def latest(self) -> Stamped[T] | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
