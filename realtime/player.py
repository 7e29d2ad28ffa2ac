"""`RecordingPlayer`: plays a `Recording` in real time as if it were a live device (a `CaptureSource`).

Items are released when the wall clock reaches their media time and re-stamped on the pipeline clock
at release, so the live driver sees them exactly as it would see a camera and a microphone: this is
how the latency benchmark and the soak run exercise the threaded pipeline without devices.
`loop=True` starts the recording again when it ends (media time keeps increasing).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from .clock import Clock
from .sources import CaptureSource, Recording


class RecordingPlayer(CaptureSource):
    def __init__(self, make_recording: Callable[[], Recording], *, loop: bool = False, name: str = "player") -> None:
        """make_recording: builds a fresh recording (called again for every loop)."""
        super().__init__()
        self.make_recording = make_recording
        self.loop = loop
        self.name = name
        first = make_recording()
        self.streams = first.streams
        self._items: Iterator[tuple[float, str, Any]] | None = None
        self._offset = 0.0  # media time added on each loop
        self._last_t = 0.0
        self._origin: float | None = None  # clock time of media time 0
        self.loops = 0

    def open(self) -> None:
        self._items = iter(self.make_recording().items())

    def read(self, clock: Clock) -> Iterable[tuple[str, float, Any]]:
        try:
            t, stream, item = next(self._items)
        except StopIteration:
            if not self.loop:
                raise
            self.loops += 1
            self._offset = self._last_t
            self._items = iter(self.make_recording().items())
            return []
        media_t = self._offset + t
        self._last_t = media_t
        if self._origin is None:
            self._origin = clock.now() - media_t
        delay = self._origin + media_t - clock.now()
        if delay > 0:
            time.sleep(delay)
        now = clock.now()
        shift = now - t  # re-stamp: the item's own times move onto the pipeline clock
        return [(stream, now, _restamp(item, shift))]


def _restamp(item: Any, shift: float) -> Any:
    """A copy of an AudioChunk / VideoFrame / FeatureFrame / Word with its times moved by `shift`."""
    fields = getattr(item, "__dataclass_fields__", {})
    changes = {name: getattr(item, name) + shift for name in ("t", "start", "end") if name in fields}
    return replace(item, **changes) if changes else item
