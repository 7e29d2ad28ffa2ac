"""Synthetic speech of a sentence (espeak-ng), and 16-bit WAV writing.

The text-sentiment build speaks its test sentences with a voice and a rate drawn per text, then runs
the WAV through the same extraction path as a recorded file.
"""

from __future__ import annotations

import io
import random
import subprocess
import wave
from pathlib import Path

import numpy as np

VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-gb+f2", "en-us+m7")
RATES = (140, 190)  # words per minute, drawn uniformly


def voice_for(key: str, seed: int) -> tuple[str, int]:
    """(espeak-ng voice, rate) of a text, drawn from (seed, key) alone."""
    rng = random.Random(f"{seed}:{key}")
    return rng.choice(VOICES), rng.randint(*RATES)


def speak(text: str, voice: str, rate: int) -> tuple[np.ndarray, int]:
    """espeak-ng -> (float32 mono samples in [-1, 1], sample rate)."""
    try:  # text on stdin: a text that starts with "-" must not read as an option
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", "--stdin"], input=text.encode("utf-8"),
            capture_output=True, check=True, timeout=60,
        ).stdout
    except FileNotFoundError as exc:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)") from exc
    if len(wav) <= 44:  # nothing spoken: half a second of silence
        return np.zeros(8000, np.float32), 16000
    with wave.open(io.BytesIO(wav)) as wf:
        rate_hz = wf.getframerate()
        samples = np.frombuffer(wf.readframes(wf.getnframes()), np.int16).astype(np.float32) / 32768.0
    return samples, rate_hz


def pcm16(samples: np.ndarray) -> np.ndarray:
    """(N,) float samples in [-1, 1] (clipped) -> 16-bit PCM, as a WAV file of the build holds them."""
    return (np.clip(np.asarray(samples, np.float32), -1, 1) * 32767).astype(np.int16)


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """(N,) float samples in [-1, 1] (clipped) -> a mono 16-bit PCM WAV file."""
    pcm = pcm16(samples)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(int(rate))
        wf.writeframes(pcm.tobytes())
