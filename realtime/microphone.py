"""`--mic DEVICE`: a microphone through sounddevice (PortAudio) as a `CaptureSource` (AUDIO stream).

The PortAudio callback only copies the block and enqueues it (stamped with the time of its first
sample on the pipeline clock); `read` hands blocks on and notices a stream that stopped or errored.
"""

from __future__ import annotations

import queue
from typing import Any, Iterable

import numpy as np

from qamoe.extractors.base import AudioChunk

from .clock import Clock
from .sources import CaptureSource, SourceError
from .streams import AUDIO

RATE = 16_000
BLOCK_S = 0.02  # 20 ms blocks


def _sounddevice():
    try:
        import sounddevice  # noqa: PLC0415
    except ImportError as exc:
        raise SourceError("the microphone needs sounddevice: pip install sounddevice") from exc
    except OSError as exc:  # the wheel imports, but the PortAudio library is missing
        raise SourceError(f"the microphone needs the PortAudio library (apt-get install libportaudio2): {exc}") from exc
    return sounddevice


def parse_device(device: str | int | None) -> int | str | None:
    """'default' -> None (PortAudio's default input), '3' -> 3, other text -> a device name."""
    if device is None or str(device) == "default":
        return None
    return int(device) if str(device).isdigit() else str(device)


class MicrophoneSource(CaptureSource):
    streams = (AUDIO,)

    def __init__(self, device: str | int | None = "default") -> None:
        super().__init__()
        self.device = parse_device(device)
        self.name = f"mic {device}"
        self._queue: queue.Queue = queue.Queue(maxsize=200)  # bounded: 4 s of blocks
        self._stream = None
        self._status = ""
        self.overflows = 0

    def open(self) -> None:
        sd = _sounddevice()
        self._clock_now = None
        try:
            self._stream = sd.InputStream(
                device=self.device, channels=1, samplerate=RATE, blocksize=int(RATE * BLOCK_S), dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudio reports all failures as PortAudioError / ValueError
            self._stream = None
            raise SourceError(f"microphone {self.device or 'default'!r} did not open: {exc} (see --list-devices)") from exc

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread: copy + enqueue only
        if status:
            self._status = str(status)
        try:
            self._queue.put_nowait((indata[:, 0].copy(), frames))
        except queue.Full:
            self.overflows += 1

    def read(self, clock: Clock) -> Iterable[tuple[str, float, Any]]:
        try:
            samples, frames = self._queue.get(timeout=1.0)
        except queue.Empty:
            if self._stream is None or not self._stream.active:
                raise SourceError(f"microphone stopped ({self._status or 'stream no longer active'})") from None
            return []
        t = clock.now() - frames / RATE  # time of the first sample
        return [(AUDIO, t, AudioChunk(t, np.asarray(samples, np.float32), RATE))]

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None


def list_microphones() -> list[str]:
    """Input devices as 'index: name (channels)'; a one-line reason when PortAudio is unavailable."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001
        return [f"(no microphones: {exc})"]
    return [f"{i}: {d['name']} ({d['max_input_channels']} ch)" for i, d in enumerate(devices) if d["max_input_channels"] > 0]
