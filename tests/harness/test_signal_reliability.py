"""The live checkpoint's reliability scale, fitted on what each modality keeps under real degradations:
the fit and its measures on readings made here with known answers (the readings of real data are the
benchmark's, benchmarks/live_reliability_meaning.py)."""

import numpy as np
import pytest

from qamoe.harness.signal_reliability import (
    Readings,
    SignalReadings,
    calibration_error,
    fit_signal_scale,
    survival_by_bin,
)


def readings(seed: int = 0, n: int = 400) -> SignalReadings:
    """Text reads r as the share that survives; audio reads half of it (a pessimistic quality head);
    text's missing input reads 0.99 (a quality head that is wrong about missing input)."""
    rng = np.random.default_rng(seed)
    out = []
    for condition, kept in (("clean", 1.0), ("mild", 0.8), ("strong", 0.4)):
        survived = np.clip(kept + rng.normal(0, 0.05, n), 0, 1)
        out.append(Readings("text", condition, np.clip(survived + rng.normal(0, 0.02, n), 0, 1), survived))
        out.append(Readings("audio", condition, survived / 2, survived))
    out.append(Readings("text", "missing", np.full(n, 0.99), np.zeros(n)))
    out.append(Readings("audio", "missing", np.full(n, 0.01), np.zeros(n)))
    return SignalReadings(out, {})


def test_the_scale_puts_a_pessimistic_modality_on_the_share_that_survives():
    data = readings()
    scale = fit_signal_scale(data)
    raw, fitted = calibration_error(data), calibration_error(data, scale)
    assert raw["audio"] > 0.25 and fitted["audio"] < 0.03  # r_audio read half the survived share; now it reads it
    assert fitted["text"] < 0.03
    assert scale.apply("audio", 0.5) == pytest.approx(1.0, abs=0.05)  # r 0.5 meant "all of it survives"


def test_missing_readings_stay_out_of_the_fit_and_out_of_the_measures():
    data = readings()
    scale = fit_signal_scale(data)
    # text's missing input reads 0.99 with nothing surviving; fitted with it, clean text would read about 0.5
    assert scale.apply("text", 0.99) > 0.9
    r, survived = data.of("text", degraded_only=True)
    assert len(r) == 800 and survived.min() > 0.1  # mild and strong only
    assert len(data.of("text", present_only=True)[0]) == 1200 and len(data.of("text")[0]) == 1600


def test_bins_report_the_survived_share_per_modality_and_agree_once_scaled():
    data = readings(seed=1)
    raw = survival_by_bin(data)
    audio_bin = next(b for b in raw["audio"] if b["r"] == [0.2, 0.4])
    assert audio_bin["n"] > 0 and audio_bin["mean_survived"] == pytest.approx(0.6, abs=0.1)  # r ~0.3 kept ~60 %
    scaled = survival_by_bin(data, fit_signal_scale(data))
    shared = [[scaled[m][b] for m in ("text", "audio")] for b in range(5)]
    shared = [pair for pair in shared if all(p["n"] > 20 for p in pair)]
    assert len(shared) >= 2  # bins both modalities occupy
    for text, audio in shared:
        assert abs(text["mean_survived"] - audio["mean_survived"]) < 0.1
