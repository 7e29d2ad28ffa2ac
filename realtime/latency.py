"""Per-stage latency of the live pipeline, traced item by item, with rolling percentiles.

Two kinds of item are traced from the moment they exist to the first update that shows them:

    video frame:  capture -> queue (its worker picks it up) -> extract (face features in the store)
                  -> wait (until the model is free / the next update starts) -> window -> model
                  -> publish (JSONL line written, UI handed the update); e2e = capture -> published
    spoken word:  end of the word in the audio -> asr (word first in the transcript, partial or
                  final) -> wait -> window -> model -> publish; e2e = word end -> published

All durations are wall time (`time.monotonic()`), so they mean the same under the live driver and a
paced replay. "Capture" is when the item reached the pipeline: the capture callback live, the moment
the replay driver hands it over in a replay (for `--fast` replay the capture-based stages measure
processing only). A word's capture instant is when the audio chunk holding its end arrived.

`LatencyTracker.summary()` gives median, p95 and p99 of the last `keep` values of every stage
(`video/e2e`, `word/asr`, ...); `Update.telemetry.latency_pct` (the run log's `latency_pct`) carries it to the UI footer and the JSONL.
The screen stage (update handed to the UI -> drawn) is measured by the dashboard itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

import numpy as np

from .streams import AUDIO, VIDEO

VIDEO_STAGES = ("queue", "extract", "wait", "to_update", "e2e")  # video/<stage>
WORD_STAGES = ("asr", "wait", "to_update", "e2e")  # word/<stage>
TICK_STAGES = ("window", "model", "publish")  # tick/<stage>, once per update
PENDING_MAX = 512  # items waiting for their first update (bounded: a stalled model must not grow it)


def percentiles(values, qs=(50, 95, 99)) -> dict[str, float]:
    """{'p50': ..., 'p95': ..., 'p99': ..., 'n': ...} in the values' unit, rounded to 0.1."""
    a = np.asarray(list(values), dtype=float)
    if a.size == 0:
        return {"n": 0}
    out = {f"p{q}": round(float(np.percentile(a, q)), 1) for q in qs}
    out["n"] = int(a.size)
    return out


class _Bounded(OrderedDict):
    def put(self, key, value) -> None:
        if key not in self:
            self[key] = value
            while len(self) > PENDING_MAX:
                self.popitem(last=False)


class LatencyTracker:
    """Thread-safe: capture threads, workers and the update thread all report here."""

    def __init__(self, keep: int = 1000, clock=time.monotonic) -> None:
        self.keep = keep
        self.clock = clock
        self.stages: dict[str, deque[float]] = {}
        self._captured: _Bounded = _Bounded()  # video capture t -> wall instant it arrived
        self._picked: _Bounded = _Bounded()  # video capture t -> wall instant its worker took it
        self._audio: deque[tuple[float, float]] = deque(maxlen=1500)  # (chunk t, wall instant), ~30 s of 20 ms chunks
        self._ready: list[tuple[str, float, dict[str, float]]] = []  # (kind, pipeline t, {stage: wall instant})
        self._words_seen: _Bounded = _Bounded()
        self._lock = threading.Lock()

    # -- reports from the pipeline ---------------------------------------------------------------
    def arrived(self, stream: str, t: float) -> None:
        """A raw item stamped `t` entered the pipeline (capture callback, or handed over by a replay)."""
        now = self.clock()
        with self._lock:
            if stream == VIDEO:
                self._captured.put(round(t, 6), now)
            elif stream == AUDIO:
                self._audio.append((t, now))

    def picked(self, stream: str, t: float) -> None:
        """A worker took the raw item stamped `t` from its ring buffer."""
        if stream == VIDEO:
            now = self.clock()
            with self._lock:
                self._picked.put(round(t, 6), now)

    def stored(self, kind: str, t: float, usable: bool) -> None:
        """Store listener: a frame of modality `kind` starting at `t`, or a word ('words') ending at `t`."""
        now = self.clock()
        with self._lock:
            if kind == "vision" and usable:
                key = round(t, 6)
                captured = self._captured.pop(key, None)
                if captured is None:
                    return
                picked = self._picked.pop(key, captured)
                self._ready.append(("video", t, {"capture": captured, "picked": picked, "stored": now}))
            elif kind == "words":
                key = round(t, 2)
                if key in self._words_seen:
                    return
                self._words_seen.put(key, True)
                captured = self._audio_instant(t)
                if captured is not None:
                    self._ready.append(("word", t, {"capture": captured, "stored": now}))
            if len(self._ready) > PENDING_MAX:
                del self._ready[: len(self._ready) - PENDING_MAX]

    def _audio_instant(self, t: float) -> float | None:
        """Wall instant the audio at pipeline time `t` arrived: the newest chunk starting at or before it."""
        best = None
        for chunk_t, instant in reversed(self._audio):
            if chunk_t <= t + 1e-9:
                best = instant
                break
        return best

    def published(self, now_t: float, started: float, windowed: float, inferred: float, done: float) -> None:
        """An update for pipeline time `now_t` started at wall instant `started` (window), finished
        the window at `windowed`, the model at `inferred`, and was handed to every subscriber by
        `done`. Every traced item stored before `started` (and not newer than `now_t`) counts it as
        its first update."""
        with self._lock:
            keep, shown = [], []
            for kind, t, marks in self._ready:
                (shown if marks["stored"] <= started and t <= now_t + 1e-9 else keep).append((kind, t, marks))
            self._ready = keep
            for kind, _t, m in shown:
                if kind == "video":
                    self._add("video/queue", m["picked"] - m["capture"])
                    self._add("video/extract", m["stored"] - m["picked"])
                else:
                    self._add("word/asr", m["stored"] - m["capture"])
                self._add(f"{kind}/wait", started - m["stored"])
                self._add(f"{kind}/to_update", done - m["stored"])  # wait + window + model + publish
                self._add(f"{kind}/e2e", done - m["capture"])
            self._add("tick/window", windowed - started)
            self._add("tick/model", inferred - windowed)
            self._add("tick/publish", done - inferred)

    def _add(self, stage: str, seconds: float) -> None:
        self.stages.setdefault(stage, deque(maxlen=self.keep)).append(max(0.0, seconds) * 1000)

    # -- reading ---------------------------------------------------------------------------------
    def summary(self) -> dict[str, dict[str, float]]:
        """stage -> {'p50', 'p95', 'p99', 'n'} in milliseconds over the last `keep` values."""
        with self._lock:
            stages = {k: list(v) for k, v in self.stages.items()}
        return {k: percentiles(v) for k, v in stages.items() if v}

    def values(self, stage: str) -> list[float]:
        with self._lock:
            return list(self.stages.get(stage, ()))
