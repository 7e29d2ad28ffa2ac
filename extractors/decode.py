"""Decoding recorded media with PyAV into the chunks extractors eat.

`MediaReader(path)` opens a file (or an `AudioArray`: samples held in memory, read through the same
decoder from an in-memory WAV, so an array and the same samples in a file give the same chunks) once
to probe it (`info`), then `audio(start, end)` yields
`AudioChunk`s resampled to 16 kHz mono float32 and `video(start, end)` yields RGB `VideoFrame`s, both
stamped with file time in seconds (from packet timestamps, so variable-frame-rate files keep true
times). Each call reopens the file, so the two streams can be read independently or in parallel.

Robustness: a file that cannot be opened raises `MediaError` with the reason; a missing stream is
reported in `info` and its iterator yields nothing; a corrupt packet is skipped and counted; a
truncated file ends its streams early; both keep everything decodable and add a line to `warnings`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from .base import AudioChunk, VideoFrame

SAMPLE_RATE = 16_000


class MediaError(RuntimeError):
    """A media file that cannot be read at all; the message says which file and why."""


def _av():
    try:
        import av  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MediaError("PyAV is not installed: pip install 'qamoe-live[media]' (or pip install av)") from exc
    av.logging.set_level(av.logging.PANIC)  # errors are raised and reported by us, not printed
    return av


@dataclass
class MediaInfo:
    path: str
    has_audio: bool
    has_video: bool
    duration: float | None  # seconds, None when unknown
    fps: float | None  # average video frame rate
    width: int | None
    height: int | None
    sample_rate: int | None  # of the audio track as stored

    @property
    def frame_s(self) -> float:
        """How long one video frame shows (0 without a frame rate): a file's media ends one frame
        after its last frame's time (a 0.5 fps file's last frame lasts 2 s)."""
        return 1.0 / self.fps if self.fps else 0.0


@dataclass(frozen=True, eq=False)
class AudioArray:
    """Audio held in memory, as a caller gives it: `AudioArray.of(samples, rate)` checks and normalises
    it (`audio_from_array`: dtype, channels, rate; refused with the reason otherwise)."""

    samples: np.ndarray  # (n,) float32 mono in [-1, 1]
    rate: int
    name: str = "<audio array>"

    @classmethod
    def of(cls, samples, rate, name: str = "<audio array>") -> AudioArray:
        return cls(*audio_from_array(samples, rate), name=name)

    def wav(self) -> bytes:
        """The samples as a 32-bit float WAV (no re-quantisation)."""
        buffer = io.BytesIO()
        write_float_wav(buffer, self.samples, self.rate)
        return buffer.getvalue()


@dataclass
class MediaReader:
    path: str | Path | AudioArray  # a file, or audio in memory
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._memory = self.path.wav() if isinstance(self.path, AudioArray) else None
        self.path = self.path.name if isinstance(self.path, AudioArray) else str(self.path)
        self.info = self._probe()

    def _open(self):
        av = _av()
        if self._memory is not None:
            return av.open(io.BytesIO(self._memory), format="wav")
        if not Path(self.path).is_file():
            raise MediaError(f"{self.path}: no such file")
        try:
            return av.open(self.path, metadata_errors="ignore")
        except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds; all mean "unreadable"
            raise MediaError(f"{self.path}: cannot open media ({type(exc).__name__}: {exc})") from exc

    def _probe(self) -> MediaInfo:
        with self._open() as container:
            a = container.streams.audio[0] if container.streams.audio else None
            v = container.streams.video[0] if container.streams.video else None
            if a is None and v is None:
                raise MediaError(f"{self.path}: no audio or video stream")
            duration = None
            if container.duration is not None:
                duration = container.duration / 1_000_000
            fps = float(v.average_rate) if v is not None and v.average_rate else None
            return MediaInfo(
                path=self.path,
                has_audio=a is not None,
                has_video=v is not None,
                duration=duration,
                fps=fps,
                width=v.codec_context.width if v is not None else None,
                height=v.codec_context.height if v is not None else None,
                sample_rate=a.codec_context.sample_rate if a is not None else None,
            )

    def _seek(self, container, stream, start: float | None) -> None:
        if start and start > 0:
            try:
                container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
            except Exception as exc:  # noqa: BLE001
                self.warnings.append(f"seek to {start:.2f}s failed ({exc}); decoding from the start")
                container.seek(0)

    def _frames(self, container, stream, kind: str, max_bad: int = 100):
        """Decoded frames of one stream. A packet that fails to decode is skipped (counted in
        `warnings`); a demuxer error (truncated file) or `max_bad` bad packets in a row end the
        stream with a warning, keeping everything decoded before."""
        bad = in_a_row = 0
        last = 0.0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:  # noqa: BLE001 - corrupt packet
                    bad += 1
                    in_a_row += 1
                    if in_a_row >= max_bad:
                        self.warnings.append(f"{kind}: {max_bad} undecodable packets in a row after {last:.2f}s; stopped")
                        return
                    continue
                in_a_row = 0
                for frame in frames:
                    if frame.time is not None:
                        last = float(frame.time)
                    yield frame
        except Exception as exc:  # noqa: BLE001 - truncated or unreadable container data
            self.warnings.append(f"{kind} decode stopped after {last:.2f}s: {type(exc).__name__}: {exc}")
        finally:
            if bad:
                self.warnings.append(f"{kind}: skipped {bad} undecodable packet(s)")

    def audio(self, start: float | None = None, end: float | None = None, chunk_s: float = 0.1) -> Iterator[AudioChunk]:
        """16 kHz mono float32 chunks of about `chunk_s` seconds covering [start, end)."""
        if not self.info.has_audio:
            return
        av = _av()
        start = start or 0.0
        with self._open() as container:
            stream = container.streams.audio[0]
            self._seek(container, stream, start)
            # channels kept through the resampler and averaged here: FFmpeg's own downmix of 5.1 / 7.1
            # adds the channels with gains (an 8-channel file came out 4.4 times louder than its mono)
            resampler = av.AudioResampler(format="fltp", layout=None, rate=SAMPLE_RATE)
            t_next: float | None = None  # file time of the next resampled sample
            pending: list[np.ndarray] = []
            pending_n = 0
            chunk_n = max(1, int(round(chunk_s * SAMPLE_RATE)))

            def resampled(frame):
                for out in resampler.resample(frame):
                    planes = out.to_ndarray()  # (channels, n)
                    yield planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes.reshape(-1).astype(np.float32, copy=False)

            def decoded():
                nonlocal t_next
                for frame in self._frames(container, stream, "audio"):
                    if t_next is None:
                        t_next = float(frame.time) if frame.time is not None else 0.0
                    yield from resampled(frame)
                try:
                    yield from resampled(None)
                except Exception:  # noqa: BLE001 - nothing left to flush
                    pass

            chunk_t = None
            for samples in decoded():
                t0 = t_next
                t_next = t0 + len(samples) / SAMPLE_RATE
                if t_next <= start:
                    continue
                if t0 < start:  # trim the part before the clip
                    samples = samples[int(round((start - t0) * SAMPLE_RATE)):]
                    t0 = start
                if end is not None and t0 >= end:
                    break
                if end is not None and t_next > end:
                    samples = samples[: max(0, int(round((end - t0) * SAMPLE_RATE)))]
                if chunk_t is None:
                    chunk_t = t0
                pending.append(samples)
                pending_n += len(samples)
                while pending_n >= chunk_n:
                    buf = np.concatenate(pending)
                    yield AudioChunk(chunk_t, buf[:chunk_n].copy(), SAMPLE_RATE)
                    chunk_t += chunk_n / SAMPLE_RATE
                    pending, pending_n = [buf[chunk_n:]], len(buf) - chunk_n
                if end is not None and t_next >= end:
                    break
            if pending_n:
                yield AudioChunk(chunk_t, np.concatenate(pending), SAMPLE_RATE)

    def video(self, start: float | None = None, end: float | None = None) -> Iterator[VideoFrame]:
        """RGB frames with presentation time in [start, end)."""
        if not self.info.has_video:
            return
        start = start or 0.0
        with self._open() as container:
            stream = container.streams.video[0]
            self._seek(container, stream, start)
            last_t = None
            for frame in self._frames(container, stream, "video"):
                t = float(frame.time) if frame.time is not None else (last_t or 0.0)
                if last_t is not None and t <= last_t:
                    continue  # a damaged timestamp: keep times strictly increasing
                last_t = t
                if t < start:
                    continue
                if end is not None and t >= end:
                    break
                yield VideoFrame(t, frame.to_ndarray(format="rgb24"))


def read_audio(path: str | Path, start: float | None = None, end: float | None = None) -> tuple[np.ndarray, float]:
    """Whole [start, end) audio as one (n,) float32 array at 16 kHz, with the time of its first sample."""
    chunks = list(MediaReader(path).audio(start, end))
    if not chunks:
        return np.zeros(0, np.float32), float(start or 0.0)
    return np.concatenate([c.samples for c in chunks]), chunks[0].t


MAX_CHANNELS = 32


def audio_from_array(samples, rate) -> tuple[np.ndarray, int]:
    """An audio array as given by a caller -> (n,) float32 mono in [-1, 1] and its rate, or ValueError.

    - integers are PCM and rescaled by their type's full scale (int16 / 32768, int32 / 2**31, uint8
      centred on 128), never clipped; floats must already lie in [-1, 1] (a float array peaking at
      30,000 is int16 PCM stored as floats: refused with that hint, not clipped to a square wave);
    - channels: (n, c) or (c, n) with c <= 32 channels is averaged to mono (the shorter axis is taken
      for the channels);
    - a non-finite sample is refused (zeros in its place gave a confident answer on noise);
    - `rate` must be a whole number of samples per second in [1000, 384000]."""
    if isinstance(samples, (str, bytes)) or not hasattr(samples, "__len__"):
        raise ValueError(f"audio must be an array of samples or a file path, not {type(samples).__name__}")
    array = np.asarray(samples)
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise ValueError(f"audio must be a non-empty array of numbers (got dtype {array.dtype}, {array.size} values)")
    try:
        rate_f = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"sample_rate must be a number, not {rate!r}") from None
    if not np.isfinite(rate_f) or rate_f != int(rate_f) or not 1000 <= rate_f <= 384000:
        raise ValueError(f"sample_rate must be a whole number of samples per second in [1000, 384000], not {rate!r}")
    if array.ndim not in (1, 2) or (array.ndim == 2 and min(array.shape) > MAX_CHANNELS):
        raise ValueError(f"audio of shape {array.shape}: give (n,) mono or (n, channels) with at most {MAX_CHANNELS} channels")
    if array.dtype.kind == "f":
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ValueError(f"audio holds {bad} NaN or infinite sample(s) of {array.size}: clean or cut them first")
        peak = float(np.abs(array).max())
        if peak > 1.0 + 1e-6:
            raise ValueError(f"float audio must lie in [-1, 1]; this peaks at {peak:g} (PCM integers stored as floats? "
                             "pass the integer array, or divide by its full scale, e.g. 32768 for 16-bit)")
        scaled = array.astype(np.float64)
    else:
        info = np.iinfo(array.dtype)
        full = (info.max + 1) / 2 if info.min == 0 else float(-info.min)
        centre = full if info.min == 0 else 0.0  # unsigned PCM is centred on half its range
        scaled = (array.astype(np.float64) - centre) / full
    if scaled.ndim == 2:  # the shorter axis holds the channels
        scaled = scaled.mean(axis=1 if scaled.shape[1] <= scaled.shape[0] else 0)
    return scaled.astype(np.float32), int(rate_f)


def write_float_wav(path, samples: np.ndarray, rate: int) -> None:
    """(n,) float32 samples -> a 32-bit float WAV (a path, or a binary file object): no
    re-quantisation between an array and a file."""
    av = _av()
    with av.open(path if hasattr(path, "write") else str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_f32le", rate=int(rate))
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts = int(rate), 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
