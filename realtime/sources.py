"""Sources: where timestamped items come from. Two kinds share one vocabulary of `(stream, t, item)`:

- `CaptureSource` (camera, microphone, tests' fakes): a device read in its own thread. `start(sink,
  clock)` opens it and pushes every item to `sink(stream, t, item)` stamped with `clock.now()` at
  capture; capture code only copies and enqueues. A device that fails to open or dies mid-stream is
  reported in `state()` and retried every `retry_s` seconds; one that delivers nothing for
  `stall_s` seconds reads as stalled. Its modalities go missing meanwhile; nothing crashes.
- `Recording` (a video file, the simulated demo): pulled by the replay driver with `items()`, a
  time-ordered iterator; the driver owns the (virtual) clock, so output does not depend on pace.
  The driver marks it `finish()`ed at its end, or failed with the reason when `items()` raised.

`SourceBoard` is what the pipeline knows about its sources, whichever kind: each one's state for the
screen, and which streams are down (their modalities then read "missing: <why>").
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .clock import Clock

Sink = Callable[[str, float, Any], None]  # (stream, t seconds, item)

# states a source can be in
STARTING, RUNNING, RETRYING, STALLED, ENDED, STOPPED, FAILED = (
    "starting", "running", "retrying", "stalled", "ended", "stopped", "failed")
FAULTY = (RETRYING, STALLED, FAILED)


class SourceError(RuntimeError):
    """A device or file that cannot be used; the message says which one and what to do."""


@dataclass(frozen=True)
class SourceState:
    state: str  # one of STARTING, RUNNING, RETRYING, STALLED, ENDED, STOPPED, FAILED
    message: str = ""  # why, for the user: 'camera 0 did not open', ...

    @property
    def faulty(self) -> bool:
        return self.state in FAULTY

    def __str__(self) -> str:
        return f"{self.state}: {self.message}" if self.message else self.state


class Recording(ABC):
    """A replayable source: `items()` yields `(t, stream, item)` in non-decreasing t (seconds of
    media time). It may raise mid-way (a corrupt file): the driver reports it and ends that source."""

    name: str = "recording"
    streams: tuple[str, ...] = ()
    duration: float | None = None  # seconds, when known

    @abstractmethod
    def items(self) -> Iterator[tuple[float, str, Any]]: ...

    def describe(self, t: float) -> str:
        """What is playing at media time t, for the UI (e.g. the demo's scene caption)."""
        return ""

    def warnings(self) -> list[str]:
        """Problems met while reading that did not stop it (e.g. a decode error near the end)."""
        return []

    _state = SourceState(RUNNING)  # until the replay driver calls finish()

    def state(self) -> SourceState:
        return self._state

    def finish(self, failure: str = "") -> None:
        """The replay driver's note that `items()` ended: cleanly, or failed for `failure`."""
        self._state = SourceState(FAILED, failure) if failure else SourceState(ENDED)


class CaptureSource(ABC):
    """A live device read by one thread. Subclasses implement `open`, `read` and `close`.

    open(): acquire the device or raise SourceError with a clear message.
    read(clock): block until the next item(s) and return them as `(stream, t, item)` with t from
      `clock.now()` at capture; raise to report that the device died; StopIteration = it ended.
    close(): release the device (called after every open, also after failures).
    """

    name: str = "source"
    streams: tuple[str, ...] = ()
    retry_s: float = 2.0
    stall_s: float = 2.0

    def __init__(self) -> None:
        self._state = SourceState(STARTING)
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_item = time.monotonic()
        self.restarts = 0

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self, clock: Clock) -> Iterable[tuple[str, float, Any]]: ...

    def close(self) -> None:
        """Release the device; the default has nothing to release."""

    def start(self, sink: Sink, clock: Clock) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sink, clock), name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set(STOPPED)

    def state(self) -> SourceState:
        with self._state_lock:
            state = self._state
        if state.state == RUNNING and time.monotonic() - self._last_item > self.stall_s:
            return SourceState(STALLED, f"no data for {time.monotonic() - self._last_item:.1f} s")
        return state

    def _set(self, state: str, message: str = "") -> None:
        with self._state_lock:
            self._state = SourceState(state, message)

    def _run(self, sink: Sink, clock: Clock) -> None:
        while not self._stop.is_set():
            try:
                self.open()
            except Exception as err:  # noqa: BLE001 - any failure to open is reported the same way
                self._set(RETRYING, f"{_describe(err)}; retrying every {self.retry_s:g} s")
                self._stop.wait(self.retry_s)
                self.restarts += 1
                continue
            self._last_item = time.monotonic()
            self._set(RUNNING)
            try:
                while not self._stop.is_set():
                    for stream, t, item in self.read(clock):
                        sink(stream, t, item)
                        self._last_item = time.monotonic()
            except StopIteration:
                self._set(ENDED)
                return
            except Exception as err:  # noqa: BLE001 - a device dying mid-stream
                self._set(RETRYING, f"lost: {_describe(err)}; retrying every {self.retry_s:g} s")
            finally:
                try:
                    self.close()
                except Exception:  # noqa: BLE001 - closing a dead device may fail too
                    pass
            if self._stop.wait(self.retry_s):
                break
            self.restarts += 1


class SourceBoard:
    """The sources of one session (capture devices or recordings) as the pipeline sees them."""

    def __init__(self, sources: Iterable[CaptureSource | Recording] = ()) -> None:
        self.sources = list(sources)

    @property
    def recordings(self) -> list[Recording]:
        return [s for s in self.sources if isinstance(s, Recording)]

    @property
    def capture(self) -> list[CaptureSource]:
        return [s for s in self.sources if isinstance(s, CaptureSource)]

    def states(self, now: float) -> dict[str, str]:
        """Source name -> its state for the UI; a running recording shows what plays at `now`."""
        states = {}
        for source in self.sources:
            state = source.state()
            caption = source.describe(now) if isinstance(source, Recording) and state.state == RUNNING else ""
            states[source.name] = f"{state.state}: {caption}" if caption else str(state)
        return states

    def faults(self) -> dict[str, str]:
        """Stream -> why it is down, for every stream of a source in a faulty state."""
        faults = {}
        for source in self.sources:
            state = source.state()
            if state.faulty:
                faults.update({stream: f"{source.name} {state}" for stream in source.streams})
        return faults


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, SourceError) else f"{type(err).__name__}: {err}"
