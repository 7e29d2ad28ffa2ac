"""`--video PATH`: a recorded file as a `Recording` (audio chunks and video frames in time order).

Decoding is the extractors' `MediaReader` (PyAV): 16 kHz mono audio in `chunk_s` chunks and RGB
frames, both on file time. An audio chunk is handed over at its *end* time (when a microphone would
have delivered it), a frame at its presentation time. A file that cannot be opened raises
`MediaError` at construction; a decode error mid-file ends that stream and shows up in `warnings()`.
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any, Iterator

from qamoe.extractors.decode import MediaReader

from .sources import Recording
from .streams import AUDIO, VIDEO


TRUNCATION_SLACK_S = 0.5  # media ending this much before the stated duration reads as truncated


class MediaRecording(Recording):
    def __init__(self, path: str, *, chunk_s: float = 0.1, audio: bool = True, video: bool = True) -> None:
        self.reader = MediaReader(path)  # MediaError when unreadable
        info = self.reader.info
        self.name = "file"
        self.path = path
        self.chunk_s = chunk_s
        self.use_audio = audio and info.has_audio
        self.use_video = video and info.has_video
        self.streams = tuple(s for s, on in ((AUDIO, self.use_audio), (VIDEO, self.use_video)) if on)
        self.duration = info.duration

    def items(self) -> Iterator[tuple[float, str, Any]]:
        self._last_t = 0.0
        self._read_to_end = False  # stopped early (--duration, Ctrl-C) is not truncation
        frame_s = self.reader.info.frame_s
        for item in self._merged():
            self._last_t = max(self._last_t, item[0] + (frame_s if item[1] == VIDEO else 0.0))
            yield item
        self._read_to_end = True

    def _merged(self) -> Iterator[tuple[float, str, Any]]:
        streams = []
        if self.use_audio:
            streams.append((c.t + c.duration, AUDIO, c) for c in self.reader.audio(chunk_s=self.chunk_s))
        if self.use_video:
            streams.append((f.t, VIDEO, f) for f in self.reader.video())
        return heapq.merge(*streams, key=lambda x: x[0])

    def describe(self, t: float) -> str:
        total = f" / {self.duration:.1f} s" if self.duration else ""
        return f"{Path(self.path).name} {t:.1f} s{total}"

    def warnings(self) -> list[str]:
        """Decode errors, and a file that ends well before the duration its header states."""
        notes = list(self.reader.warnings)
        last = getattr(self, "_last_t", None)
        ended = getattr(self, "_read_to_end", False)
        if ended and last is not None and self.duration and last < self.duration - TRUNCATION_SLACK_S:
            notes.append(f"the media ended at {last:.1f} s of the {self.duration:.1f} s its header states: "
                         "the file looks truncated")
        return notes
