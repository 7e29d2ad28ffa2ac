import numpy as np

from qamoe.harness.paired import paired_test


def test_a_model_better_on_every_clip_is_significantly_better():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.5, 1.5, (3, 200))
    a = b - 0.1 - rng.uniform(0, 0.05, (3, 200))
    result = paired_test(a, b)
    assert result["mean_difference"] < -0.1
    assert result["ci95"][1] < 0 and result["wilcoxon_p"] < 1e-6
    assert result["seeds_a_lower"] == 3 and result["clips"] == 200


def test_models_that_differ_by_noise_alone_are_not_called_different():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.5, 1.5, (3, 300))
    a = b + rng.normal(0, 0.2, (3, 300))
    result = paired_test(a, b)
    assert result["ci95"][0] < 0 < result["ci95"][1]
    assert result["wilcoxon_p"] > 0.01
