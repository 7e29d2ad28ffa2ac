"""`qamoe-live --video` on one real voice, happy and then angry, over a still neutral face: the reading
is positive while the voice is happy and negative once it is angry (issue 18).

The recording is made here: RAVDESS actor 18 (held out: no checkpoint saw this actor) saying both
statements twice at strong intensity, happy (4 clips) and then angry (4 clips), over one FER2013 face
labelled neutral, padded and upscaled as `still_face.fer_canvas` does, 15 fps, H.264 + AAC. The words are
the same neutral sentences in both halves; only the voice changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from support.cli import exit_code
from support.data import fer2013_faces, shared_data
from support.media import write_media
from support.require import need_modules

ACTOR = 18
NEUTRAL_FACE = 16669  # FER2013 face labelled neutral
FPS = 15


def ravdess_take(emotion: str, statement: str, repetition: str) -> Path:
    return shared_data("ravdess", "audio", f"Actor_{ACTOR:02d}", f"03-01-{emotion}-02-{statement}-{repetition}-{ACTOR:02d}.flac")


@pytest.fixture(scope="module")
def happy_then_angry(tmp_path_factory) -> tuple[Path, float]:
    need_modules("av", "mediapipe", "cv2", "faster_whisper", "silero_vad")
    from qamoe.extractors.decode import read_audio
    from qamoe.extractors.still_face import fer_canvas

    halves = []
    for emotion in ("03", "05"):  # happy, angry
        takes = [read_audio(ravdess_take(emotion, s, r))[0] for s in ("01", "02") for r in ("01", "02")]
        halves.append(np.concatenate(takes))
    switch = len(halves[0]) / 16000
    audio = np.concatenate(halves)
    images, _ = fer2013_faces()
    canvas, _ = fer_canvas(images[NEUTRAL_FACE], size=256)
    seconds = len(audio) / 16000
    frames = [(i / FPS, canvas) for i in range(int(seconds * FPS))]
    path = tmp_path_factory.mktemp("voice-clip") / "happy_then_angry.mp4"
    return write_media(path, frames, audio=audio, fps=FPS), switch


@pytest.fixture(scope="module")
def replay(happy_then_angry, tmp_path_factory) -> tuple[list[dict], float]:
    from qamoe.cli.live import main
    from qamoe.realtime.runlog import read_jsonl

    clip, switch = happy_then_angry
    log = tmp_path_factory.mktemp("voice-replay") / "run.jsonl"
    assert exit_code(main, ["--video", str(clip), "--no-tui", "--jsonl", str(log), "--fast", "--rate", "4"]) == 0
    return read_jsonl(log), switch


def halves(replay) -> tuple[list[float], list[float]]:
    """Sentiments once the 4 s window holds one half's voice only: (happy, angry)."""
    updates, switch = replay
    end = max(u["t"] for u in updates)
    happy = [u["sentiment"] for u in updates if 4.0 <= u["t"] <= switch]
    angry = [u["sentiment"] for u in updates if switch + 4.0 <= u["t"] <= end]
    assert len(happy) >= 8 and len(angry) >= 8
    return happy, angry


def test_the_voice_is_heard_and_the_angry_half_reads_lower(replay):
    updates, _ = replay
    for u in updates:
        if u["t"] >= 4.0 and u["speech"]:
            assert not u["modalities"]["audio"]["missing"], u  # a voice in the window is present audio
    assert updates[-1]["transcript"].count("door") >= 6  # eight takes of "... by the door", most understood
    happy, angry = halves(replay)
    assert np.mean(angry) < np.mean(happy) - 0.3, (np.mean(happy), np.mean(angry))


@pytest.mark.xfail(strict=True, reason=(
    "issue 18, measured short: with the voice features (qamoe/assets/voice) the happy half reads positive "
    "(+0.84; was -1.24 with acoustic features alone) but the angry half only +0.08 (was -2.07): the voice "
    "head calls actor 18's later angry takes happy; see benchmarks/SPEECH.md. "
    "strict: this marker goes once a checkpoint passes"))
def test_the_reading_is_positive_while_happy_and_negative_once_angry(replay):
    happy, angry = halves(replay)
    assert np.mean(happy) > 0.0 and np.mean(angry) < 0.0, (np.mean(happy), np.mean(angry))
