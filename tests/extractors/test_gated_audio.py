"""Noise is not silence (issue 18): real speech under white noise on the waveform stays audio that is
present (the model's r_audio says how reliable), while a quiet signal without speech is missing."""

from __future__ import annotations

import numpy as np
import pytest

from support.data import shared_data
from support.media import chunks
from support.require import need_modules

TAKES = ("03-01-05-02-01-01-18", "03-01-03-01-02-02-19")  # held-out actors: angry, happy


def present_share(gate, samples: np.ndarray) -> float:
    gate.reset()
    frames = [f for c in chunks(samples) for f in gate.feed(c)] + gate.flush()
    return float(np.mean([not f.missing for f in frames]))


@pytest.fixture(scope="module")
def gate():
    need_modules("silero_vad", "av")
    from qamoe.extractors.gated_audio import GatedAudio

    return GatedAudio()


@pytest.mark.parametrize("snr", [None, 20.0, 10.0, 0.0, -5.0])
def test_speech_under_noise_is_present(gate, snr):
    from qamoe.extractors.datasets.noise import add_noise
    from qamoe.extractors.decode import read_audio

    for take in TAKES:
        samples, _ = read_audio(shared_data("ravdess", "audio", f"Actor_{take[-2:]}", f"{take}.flac"))
        if snr is not None:
            samples = add_noise(samples, snr, np.random.default_rng(0).standard_normal(len(samples)))
        assert present_share(gate, samples) >= 0.3, (take, snr)


def test_quiet_rooms_and_silence_are_missing(gate):
    rng = np.random.default_rng(1)
    for dbfs in (-70.0, -55.0, -45.0):
        room = (rng.standard_normal(3 * 16000) * 10 ** (dbfs / 20)).astype(np.float32)
        assert present_share(gate, room) == 0.0, dbfs
    assert present_share(gate, np.zeros(2 * 16000, np.float32)) == 0.0


def test_loud_noise_alone_is_present_and_the_rule_can_be_switched_off():
    need_modules("silero_vad", "av")
    from qamoe.extractors.gated_audio import GatedAudio

    loud = (np.random.default_rng(2).standard_normal(2 * 16000) * 10 ** (-20 / 20)).astype(np.float32)
    assert present_share(GatedAudio(), loud) > 0.9  # a loud room: the microphone hears something, unreliable
    assert present_share(GatedAudio(loud_dbfs=None), loud) == 0.0  # the VAD alone: no speech, missing
