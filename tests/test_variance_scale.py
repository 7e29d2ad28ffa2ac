import numpy as np
import pytest

from qamoe.variance_scale import VarianceScale, coverage, gaussian_nll


def overconfident(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    true_std = rng.uniform(0.5, 2.0, n)
    truth = rng.normal(0, true_std)
    prediction = np.zeros(n)
    log_variance = np.log((true_std / 2) ** 2)  # the model claims half the real spread
    return prediction, log_variance, truth


def test_fit_recovers_the_missing_variance_factor():
    pred, logvar, truth = overconfident()
    scale = VarianceScale.fit(pred, logvar, truth)
    assert scale.scale == pytest.approx(4.0, rel=0.05)


def test_calibrated_intervals_cover_at_their_nominal_rate():
    pred, logvar, truth = overconfident(seed=1)
    before = coverage(pred, np.exp(logvar / 2), truth)
    scale = VarianceScale.fit(*overconfident(seed=2))  # fitted on other ("validation") data
    after = coverage(pred, scale.std(logvar), truth)
    assert before["95%"] < 0.75  # overconfident: far below 95 %
    for level, nominal in (("50%", 0.5), ("80%", 0.8), ("95%", 0.95)):
        assert after[level] == pytest.approx(nominal, abs=0.02)
    assert gaussian_nll(pred, scale.std(logvar), truth) < gaussian_nll(pred, np.exp(logvar / 2), truth)


def test_stored_scale_round_trip_and_refusal():
    assert VarianceScale.from_extra({"uncertainty": VarianceScale(2.5).to_dict()}).scale == 2.5
    assert VarianceScale.from_extra({}).scale == 1.0
    with pytest.raises(ValueError, match="must be a number in"):
        VarianceScale.from_extra({"uncertainty": {"variance_scale": -1}})
