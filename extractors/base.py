"""The one streaming interface every extractor speaks.

Inputs are timestamped chunks, outputs are timestamped feature frames; all times are seconds on the
caller's clock (file time for recorded media, the capture clock live).

- `AudioChunk(t, samples, rate)`: mono float32 samples in [-1, 1], `t` = time of the first sample.
- `VideoFrame(t, image)`: one RGB uint8 image (H, W, 3), `t` = presentation time.
- `Word(start, end, text, confidence, final)`: one recognised (or transcribed) word.
- `FeatureFrame(start, end, values, missing)`: `values` is (dim,) float32. `missing=True` means the
  extractor looked and found nothing usable (no face in the frame); such frames carry zeros and must be
  treated as missing, never as real zeros.

An `Extractor` keeps state across `feed` calls (overlapping windows, model state), so feeding a file
in chunks of any size gives the same frames as feeding it whole; `flush()` emits what is still
buffered at the end of a stream and `reset()` starts a new one. `run(chunks)` does reset/feed/flush in
one go and is what offline extraction calls, so offline and live share one code path.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable

import numpy as np


class ExtractorUnavailable(RuntimeError):
    """An optional backend cannot run here; the message names what is missing and how to get it."""


@dataclass(frozen=True)
class AudioChunk:
    t: float  # seconds, time of samples[0]
    samples: np.ndarray  # (n,) float32 mono in [-1, 1]
    rate: int  # samples per second

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class VideoFrame:
    t: float  # seconds, presentation time
    image: np.ndarray  # (H, W, 3) uint8 RGB


@dataclass(frozen=True)
class Word:
    start: float  # seconds
    end: float  # seconds
    text: str
    confidence: float = 1.0  # in [0, 1]; 1.0 for a given transcript
    final: bool = True  # False for a partial hypothesis that may still change


@dataclass(frozen=True)
class FeatureFrame:
    start: float  # seconds
    end: float  # seconds
    values: np.ndarray  # (dim,) float32
    missing: bool = False  # True: nothing usable was found; values are zeros


class Extractor(ABC):
    """Streaming feature extractor.

    Subclasses set `name`, `dim` (size of every emitted `values`), `frame_rate` (frames per second,
    or None when frames follow events such as words) and `feature_names` (len == dim).
    """

    name: str = "extractor"
    dim: int = 0
    frame_rate: float | None = None
    feature_names: tuple[str, ...] = ()

    @abstractmethod
    def feed(self, chunk: Any) -> list[FeatureFrame]:
        """Consume one chunk; return the frames it completed (possibly none)."""

    def flush(self) -> list[FeatureFrame]:
        """End of stream: return frames still buffered. The extractor is then ready for reset()."""
        return []

    @abstractmethod
    def reset(self) -> None:
        """Forget all stream state; the next feed starts a new stream."""

    def run(self, chunks: Iterable[Any]) -> list[FeatureFrame]:
        """Offline convenience: reset, feed every chunk, flush."""
        self.reset()
        frames: list[FeatureFrame] = []
        for chunk in chunks:
            frames.extend(self.feed(chunk))
        frames.extend(self.flush())
        return frames


def stack_frames(frames: list[FeatureFrame], dim: int, *, keep_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Frames -> (values (T, dim) float32, times (T, 2) float64 start/end); missing frames dropped
    unless keep_missing. T may be 0."""
    kept = [f for f in frames if keep_missing or not f.missing]
    if not kept:
        return np.zeros((0, dim), np.float32), np.zeros((0, 2), np.float64)
    values = np.stack([np.asarray(f.values, np.float32) for f in kept])
    times = np.array([[f.start, f.end] for f in kept], np.float64)
    return values, times


_THREADS_LOCK = threading.Lock()
_THREADS_DEPTH = 0
_THREADS_SAVED = 1


@contextmanager
def single_thread():
    """Run torch with one intra-op thread and no autograd inside the block; restore the count after.

    The small models here (silero-vad, MiniLM on a few words) are latency-bound. With 2 OpenMP
    threads on this 2-core machine each call stalls for ~100 ms (worker threads spin and fight for the
    cores; OMP_WAIT_POLICY=PASSIVE also cures it): silero takes 100 ms per 32 ms step instead of 0.2 ms
    and MiniLM 120 ms per word instead of 8 ms. The count is process-global, so blocks on several
    threads are reference-counted: the first one in saves the count, the last one out restores it.
    """
    global _THREADS_DEPTH, _THREADS_SAVED
    import torch  # noqa: PLC0415

    with _THREADS_LOCK:
        if _THREADS_DEPTH == 0:
            _THREADS_SAVED = torch.get_num_threads()
            torch.set_num_threads(1)
        _THREADS_DEPTH += 1
    try:
        with torch.no_grad():
            yield
    finally:
        with _THREADS_LOCK:
            _THREADS_DEPTH -= 1
            if _THREADS_DEPTH == 0:
                torch.set_num_threads(_THREADS_SAVED)


NATIVE_LOG_SETTINGS = (
    ("GLOG_minloglevel", "3"), ("ABSL_MIN_LOG_LEVEL", "3"), ("TF_CPP_MIN_LOG_LEVEL", "3"), ("OPENCV_LOG_LEVEL", "OFF"),
    ("TRANSFORMERS_VERBOSITY", "error"), ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TQDM_DISABLE", "1"),
)


def quiet_native_logs() -> None:
    """The one rule for keeping mediapipe / TensorFlow Lite / glog / OpenCV / transformers from writing
    log lines and progress bars onto the terminal (they would tear the full-screen UI and bury a
    command's own output); call before those libraries load. Errors still surface as exceptions; a
    value the user set in the environment wins."""
    import os  # noqa: PLC0415

    for key, value in NATIVE_LOG_SETTINGS:
        os.environ.setdefault(key, value)


def feature_set(dim: int, recorded: str | None, sets: dict[str, int], modality: str) -> str:
    """Which of a modality's feature `sets` ({name: size}) a checkpoint reads: `recorded` (its
    provenance's entry) when there is one, checked against `dim`, else the set of size `dim`. A
    ValueError names the sets when neither fits."""
    if recorded is not None:
        if recorded not in sets:
            raise ValueError(f"unknown {modality} feature set {recorded!r}; expected one of {sorted(sets)}")
        if sets[recorded] != dim:
            raise ValueError(f"{modality} feature set {recorded!r} has {sets[recorded]} values, the checkpoint reads {dim}")
        return recorded
    by_size = {size: name for name, size in sets.items()}
    if dim not in by_size:
        raise ValueError(f"the {modality} extractors give " + " or ".join(f"{n} ({s})" for s, n in sorted(by_size.items()))
                         + f" features, not {dim}")
    return by_size[dim]
