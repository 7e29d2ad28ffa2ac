"""Device profiles: measuring a recording, saving / loading, and the live-feature normaliser."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qamoe.calibration.profile import DeviceProfile, ModalityProfile, ProfileError, measure
from qamoe.feature_stats import FeatureStats
from qamoe.extractors.audio import FEATURE_NAMES
from qamoe.extractors.base import AudioChunk, FeatureFrame
from qamoe.extractors.gated_audio import GatedAudio


def stats(mean, std, sigma_ref=1.0):
    d = len(mean)
    return FeatureStats(np.asarray(mean, np.float32), np.asarray(std, np.float32), np.full(d, sigma_ref, np.float32))


def profile(mean, std, frames=100):
    return DeviceProfile({"audio": ModalityProfile(frames, frames, list(mean), list(std))})


def test_round_trip(tmp_path):
    p = profile([1.0, 2.0], [0.5, 0.5])
    p.noise_floor_dbfs = -60.0
    path = p.save(tmp_path / "p.json")
    q = DeviceProfile.load(path)
    assert q.modalities["audio"].mean == [1.0, 2.0] and q.noise_floor_dbfs == -60.0


@pytest.mark.parametrize("raw", ["[]", '{"format": 99}', '{"format": 1, "modalities": {"audio": {"frames": 1}}}',
                                 '{"format": 1, "modalities": {"audio": {"frames": 1, "frames_seen": 1, "mean": [1], "std": [NaN]}}}'])
def test_bad_files_raise_profile_error(tmp_path, raw):
    path = tmp_path / "p.json"
    path.write_text(raw)
    with pytest.raises(ProfileError):
        DeviceProfile.load(path)
    with pytest.raises(ProfileError):
        DeviceProfile.load(tmp_path / "absent.json")


def test_normalizer_shifts_device_mean_onto_training_mean():
    train = {"audio": stats([10.0, -5.0], [2.0, 1.0])}
    f = profile([12.0, -4.0], [4.0, 0.25]).normalizer(train)
    x = np.array([[12.0, -4.0], [14.0, -3.0]], np.float32)
    np.testing.assert_allclose(f("audio", x), [[10.0, -5.0], [12.0, -4.0]])
    assert f("text", x) is x  # no device statistics for text
    g = profile([12.0, -4.0], [4.0, 0.25]).normalizer(train, scale=True)  # gain clipped to [0.5, 2]
    np.testing.assert_allclose(g("audio", x), [[10.0, -5.0], [11.0, -5.0 + 2.0]])


def test_normalizer_skips_thin_profiles_and_unseen_modalities():
    x = np.ones((3, 2), np.float32)
    assert profile([5, 5], [1, 1], frames=10).normalizer({"audio": stats([0, 0], [1, 1])})("audio", x) is x
    assert profile([5, 5], [1, 1]).normalizer({"audio": stats([0, 0], [1, 1], sigma_ref=0.0)})("audio", x) is x


class FakeAudio:
    dim = 44
    frame_rate = 100.0
    feature_names = tuple(f"f{i}" for i in range(44))

    def reset(self):
        self.t = 0.0

    def feed(self, chunk):
        n = int(round(chunk.duration / 0.01))
        level = float(np.sqrt(np.mean(chunk.samples**2)))
        values = (level + np.arange(44)).astype(np.float32)  # feature i: the chunk's RMS level + i
        out = [FeatureFrame(self.t + i * 0.01, self.t + i * 0.01 + 0.04, values) for i in range(n)]
        self.t += n * 0.01
        return out

    def flush(self):
        return []


class FakeVad:
    def reset(self):
        self.in_speech = False

    def feed(self, chunk):
        self.in_speech = float(np.abs(chunk.samples).max()) > 0.1

    def pop_events(self):
        return []


def test_measure_separates_speech_from_the_noise_floor():
    rng = np.random.default_rng(0)
    chunks = []
    for i in range(20):
        loud = 5 <= i < 15
        samples = (rng.normal(0, 0.3 if loud else 0.001, 1600)).astype(np.float32)
        chunks.append(AudioChunk(i * 0.1, samples, 16000))
    p = measure(chunks, None, audio=GatedAudio(features=FakeAudio(), vad=FakeVad(), loud_dbfs=None))
    assert p.speech_share == pytest.approx(0.5)
    assert p.modalities["audio"].frames == 100 and p.modalities["audio"].frames_seen == 200
    assert p.noise_floor_dbfs == pytest.approx(-60, abs=1.5)
    assert p.noise_log_energy == pytest.approx(FEATURE_NAMES.index("log_energy") + 0.001, abs=1e-3)  # that column
    assert p.modalities["audio"].mean[0] == pytest.approx(0.3, abs=0.02)
    json.dumps(p.to_dict())  # JSON-able


def test_a_geometry_profile_shifts_only_the_geometry_of_an_expression_checkpoint():
    """Vision profiles hold the 20 face-geometry values; a checkpoint reading 27 (geometry + the 7
    expression log-probabilities) gets its geometry shifted and its expression values untouched."""
    prof = DeviceProfile({"vision": ModalityProfile(100, 100, [1.0] * 20, [2.0] * 20)})
    train = {"vision": stats([0.0] * 27, [1.0] * 27)}
    x = np.full((2, 27), 3.0, np.float32)
    for scale in (False, True):
        y = prof.normalizer(train, scale=scale)("vision", x)
        assert y.shape == (2, 27)
        np.testing.assert_allclose(y[:, 20:], 3.0)  # expression: as measured
        np.testing.assert_allclose(y[:, :20], 2.0 if not scale else 1.0)  # geometry: (3 - 1) * gain onto mean 0
    # a 27-value vision profile fits no checkpoint: it would shift the expression columns (issue 20, class 4)
    wide = DeviceProfile({"vision": ModalityProfile(100, 100, [1.0] * 27, [2.0] * 27)})
    for dim in (20, 27):
        with pytest.raises(ProfileError, match="another feature layout"):
            wide.normalizer({"vision": stats([0.0] * dim, [1.0] * dim)})


@pytest.mark.parametrize("raw, message", [
    ({"text": {"frames": 100, "frames_seen": 100, "mean": [0.0] * 3, "std": [1.0] * 3}}, "text has no device statistics"),
    ({"audio": {"frames": 100, "frames_seen": 100, "mean": [1e30, 0.0], "std": [1.0, 1.0]}}, "the profile is damaged"),
    ({"audio": {"frames": 100, "frames_seen": 100, "mean": [0.0, 0.0], "std": [-1.0, 1.0]}}, "negative spread"),
])
def test_profiles_that_belong_to_no_feature_layout_are_refused(tmp_path, raw, message):
    """Issue 20, class 4: a mean of 1e30 gave "sentiment +nan"; a text entry shifted the text embeddings."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"format": 1, "modalities": raw}))
    with pytest.raises(ProfileError, match=message):
        DeviceProfile.load(path)


def test_a_profile_of_another_size_is_refused_not_dropped():
    with pytest.raises(ProfileError, match="holds 3 values, this checkpoint reads 2"):
        profile([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).normalizer({"audio": stats([0.0, 0.0], [1.0, 1.0])})
