import numpy as np
import torch

from qamoe.feature_stats import fit_stats
from qamoe.data.synthetic import make_synthetic
from qamoe.tensors import TensorSplit
from qamoe.evaluate import Predictions, predict_split, sigma_ref_tensors
from qamoe.model import QAMoE
from qamoe.train import model_config_for


def setup():
    data = make_synthetic(2, sizes={"train": 40, "valid": 10, "test": 150})
    stats = fit_stats(data.splits["train"].modalities)
    torch.manual_seed(0)
    model = QAMoE(model_config_for(data, d_model=16, encoder_heads=2, expert_hidden=32, num_experts=4, top_k=2)).eval()
    return model, TensorSplit(data.splits["test"], stats), sigma_ref_tensors(stats)


def test_sharded_predictions_join_to_the_unsharded_result():
    model, split, sigma_ref = setup()
    kwargs = dict(sigma_ref=sigma_ref, noise=0.4, missing_rate=0.3, seed=9)
    whole = predict_split(model, split, **kwargs)
    parts = [predict_split(model, split, shard=(i, 3), **kwargs) for i in range(3)]
    joined = Predictions.concatenate(parts)
    np.testing.assert_array_equal(joined.index, np.arange(150))
    np.testing.assert_allclose(joined.prediction, whole.prediction, atol=1e-6)
    for name in whole.missing:
        np.testing.assert_array_equal(joined.missing[name], whole.missing[name])


def test_per_sample_levels_and_dropped_modalities():
    model, split, sigma_ref = setup()
    levels = np.zeros((150, 3))
    levels[:75, 1] = 1.0  # audio missing for the first half only
    out = predict_split(model, split, sigma_ref=sigma_ref, missing_rate=levels, drop=frozenset({"vision"}))
    assert out.missing["audio"][:75].all() and not out.missing["audio"][75:].any()
    assert out.missing["vision"].all() and not out.missing["text"].any()
