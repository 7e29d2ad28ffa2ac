"""Recording a few seconds from the user's devices for `qamoe-calibrate`, through the live sources.

The camera and microphone are the same `CaptureSource`s `qamoe-live` runs, with their own threads,
retries and stall detection: a device that is slow to open (a permission prompt) is waited for up to
`give_up_s`, one that drops out mid-recording is reopened, and what went wrong is said in the error.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from qamoe.realtime.clock import MonotonicClock
from qamoe.realtime.sources import RUNNING, CaptureSource


class RecordingError(ValueError):
    """A device gave nothing to calibrate with; the message names it and its state."""


def record(sources: list[CaptureSource], seconds: float, *, give_up_s: float = 20.0,
           clock: MonotonicClock | None = None) -> dict[str, list[Any]]:
    """Records `seconds` of every source once all of them run -> {stream: [items in arrival order]}.

    Waits up to `give_up_s` for every source to reach RUNNING, then records; raises RecordingError
    naming the sources that never ran or delivered nothing."""
    clock = clock or MonotonicClock()
    items: dict[str, list[Any]] = defaultdict(list)
    lock = threading.Lock()
    recording = threading.Event()

    def sink(stream: str, t: float, item: Any) -> None:
        if recording.is_set():
            with lock:
                items[stream].append(item)

    for source in sources:
        source.start(sink, clock)
    try:
        deadline = time.monotonic() + give_up_s
        while not all(s.state().state == RUNNING for s in sources):
            if time.monotonic() > deadline:
                down = "; ".join(f"{s.name}: {s.state()}" for s in sources if s.state().state != RUNNING)
                raise RecordingError(f"gave up after {give_up_s:g} s waiting for the devices ({down})")
            time.sleep(0.05)
        recording.set()
        time.sleep(seconds)
        recording.clear()
    finally:
        for source in sources:
            source.stop()
    silent = [s for s in sources if not any(items.get(stream) for stream in s.streams)]
    if silent:
        raise RecordingError("no data from " + "; ".join(f"{s.name} ({s.state()})" for s in silent))
    with lock:
        return dict(items)
