"""The live checkpoint's reliability scale, fitted on how much of each modality's answer its input keeps
under real degradations: the fit and its measures on readings made here with known answers (the readings
of real data are the benchmark's, benchmarks/live_reliability_meaning.py)."""

import numpy as np
import pytest
import torch

from qamoe.dataset import ModalityData
from qamoe.harness.signal_reliability import (
    Readings,
    SignalReadings,
    _Reader,
    calibration_error,
    fit_signal_scale,
    retained_by_bin,
)


def readings(seed: int = 0, n: int = 400) -> SignalReadings:
    """Text's r reads the share its input keeps; audio's reads half of it (a pessimistic quality head);
    text's missing input reads 0.99 (a quality head that is wrong about missing input)."""
    rng = np.random.default_rng(seed)
    out = []
    for condition, kept in (("clean", 1.0), ("mild", 0.9), ("strong", 0.5)):
        out.append(Readings("text", condition, np.clip(kept + rng.normal(0, 0.03, n), 0, 1), kept))
        out.append(Readings("audio", condition, np.clip(kept / 2 + rng.normal(0, 0.03, n), 0, 1), kept))
    out.append(Readings("text", "missing", np.full(n, 0.99), 0.0))
    out.append(Readings("audio", "missing", np.full(n, 0.01), 0.0))
    return SignalReadings(out, {})


def test_the_scale_puts_a_pessimistic_modality_on_the_share_its_input_keeps():
    data = readings()
    scale = fit_signal_scale(data)
    raw, fitted = calibration_error(data), calibration_error(data, scale)
    assert raw["audio"] > 0.25 and fitted["audio"] < 0.05  # r_audio read half the kept share; now it reads it
    assert fitted["text"] < 0.05
    assert scale.apply("audio", 0.5) == pytest.approx(1.0, abs=0.05)  # r 0.5 meant "all of it kept"


def test_missing_readings_stay_out_of_the_fit_and_out_of_the_measures():
    data = readings()
    scale = fit_signal_scale(data)
    # text's missing input reads 0.99 with nothing kept; fitted with it, clean text would read about 0.5
    assert scale.apply("text", 0.99) > 0.9
    r, kept = data.of("text", degraded_only=True)
    assert len(r) == 800 and set(kept) == {0.9, 0.5}
    assert len(data.of("text", present_only=True)[0]) == 1200 and len(data.of("text")[0]) == 1600


def test_bins_report_the_kept_share_per_modality_and_agree_once_scaled():
    data = readings(seed=1)
    raw = retained_by_bin(data)
    audio_bin = next(b for b in raw["audio"] if b["r"] == [0.2, 0.4])
    assert audio_bin["n"] > 380 and audio_bin["mean_retained"] == pytest.approx(0.5, abs=0.05)  # r about 0.25 kept 50 %
    scaled = retained_by_bin(data, fit_signal_scale(data))
    shared = [[scaled[m][b] for m in ("text", "audio")] for b in range(5)]
    shared = [pair for pair in shared if all(p["n"] > 20 for p in pair)]
    assert len(shared) >= 2  # bins both modalities occupy
    for text, audio in shared:
        assert abs(text["mean_retained"] - audio["mean_retained"]) < 0.1


def test_the_kept_share_is_one_for_an_untouched_answer_and_zero_for_one_no_better_than_the_mean(small_config):
    from qamoe.checkpoint import Checkpoint
    from qamoe.feature_stats import FeatureStats
    from qamoe.model import QAMoE

    torch.manual_seed(0)
    stats = {m.name: FeatureStats(np.zeros(m.dim, np.float32), np.ones(m.dim, np.float32), np.ones(m.dim, np.float32))
             for m in small_config.modalities}
    reader = _Reader(Checkpoint(QAMoE(small_config), stats))
    rng = np.random.default_rng(0)
    clean = ModalityData(rng.normal(size=(64, 3, 5)).astype(np.float32), np.full(64, 3))
    spread = reader.clean_and_missing("audio", clean)
    average = ModalityData(np.repeat(clean.features.mean(0, keepdims=True), 64, 0), clean.lengths)  # one input for all
    reader.compare("audio", {"untouched": (clean, clean), "average": (clean, average)}, spread)
    kept = {x.condition: x.retained for x in reader.readings}
    assert kept["clean"] == 1.0 and kept["missing"] == 0.0 and kept["untouched"] == pytest.approx(1.0)
    assert kept["average"] < 0.2  # the same answer for every clip keeps (almost) none of the spread


def test_signal_readings_refuse_a_checkpoint_not_trained_on_the_live_sources(small_config):
    from qamoe.checkpoint import Checkpoint
    from qamoe.harness.signal_reliability import signal_readings
    from qamoe.model import QAMoE

    checkpoint = Checkpoint(QAMoE(small_config), {}, provenance={"dataset": "synthetic-0"})
    with pytest.raises(ValueError, match="'synthetic-0', not 'live-mix'"):
        signal_readings(checkpoint, "valid", text_cache="nowhere")
