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


def test_calibration_coverage_is_measured_on_the_protocol_iii_test_draw():
    """One mixture draw: the coverage table's mixture condition is the very corruption Protocol III
    scores with the same seed (not a second draw from another seed rule)."""
    import torch

    from qamoe.harness import protocols
    from qamoe.checkpoint import Checkpoint
    from qamoe.data.synthetic import make_synthetic
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors
    from qamoe.feature_stats import fit_stats
    from qamoe.model import QAMoE
    from qamoe.tensors import TensorSplit
    from qamoe.train import model_config_for
    from qamoe.variance_scale import clean_and_mixture, coverage_table

    data = make_synthetic(1, sizes={"train": 40, "valid": 10, "test": 70})
    stats = fit_stats(data.splits["train"].modalities)
    torch.manual_seed(0)
    model = QAMoE(model_config_for(data, d_model=16, encoder_heads=2, expert_hidden=16, num_experts=4, top_k=2)).eval()
    checkpoint = Checkpoint(model, stats, {}, {})
    split, sigma_ref = TensorSplit(data.splits["test"], stats), sigma_ref_tensors(stats)
    seed = 3
    drawn = clean_and_mixture(checkpoint, split, seed)["mixture"]
    protocol = predict_mixture(model, split, sigma_ref=sigma_ref, seed=seed)
    for name in protocol.missing:
        np.testing.assert_array_equal(drawn.missing[name], protocol.missing[name])
        np.testing.assert_array_equal(drawn.noise[name], protocol.noise[name])
    assert protocols.mixture(checkpoint, split, sigma_ref, seed=seed).metrics == pytest.approx(drawn.metrics(model.config))
    table = coverage_table(checkpoint, split, VarianceScale(2.0), seed=seed)
    assert table["mixture"]["before"] == coverage(protocol.prediction, np.exp(0.5 * protocol.log_variance), protocol.labels)
