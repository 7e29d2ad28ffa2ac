import math

import numpy as np
import pytest

from qamoe.metrics import REGRESSION_KEYS, classification_metrics, regression_metrics, weighted_f1


def test_keys_and_plain_floats():
    m = regression_metrics([0.1, -1.2, 2.9], [0.0, -1.0, 3.0])
    assert tuple(m) == REGRESSION_KEYS
    assert all(type(v) is float for v in m.values())


def test_hand_worked_case_with_zero_truth_and_halves():
    pred = np.array([0.5, -0.5, 1.5, 2.6, -3.4, 0.2])
    truth = np.array([0.0, -1.0, 2.0, 3.0, -3.0, -0.4])
    m = regression_metrics(pred, truth)
    # Has0: pred>=0 [T,F,T,T,F,T], truth>=0 [T,F,T,T,F,F] -> 5/6
    assert m["Has0_acc_2"] == pytest.approx(5 / 6)
    # Non0 drops the zero truth: pred>0 [F,T,T,F,T], truth>0 [F,T,T,F,F] -> 4/5
    assert m["Non0_acc_2"] == pytest.approx(4 / 5)
    # acc-7: round half to even: 0.5->0, -0.5->-0, 1.5->2, 2.6->3, clip(-3.4)->-3, 0.2->0
    #        truths 0, -1, 2, 3, -3, -0.4->-0  -> matches [T,F,T,T,T,T] = 5/6
    assert m["Mult_acc_7"] == pytest.approx(5 / 6)
    # acc-5 clips to [-2, 2]: preds 0,-0,2,2,-2,0 ; truths 0,-1,2,2,-2,-0 -> 5/6
    assert m["Mult_acc_5"] == pytest.approx(5 / 6)
    assert m["MAE"] == pytest.approx(np.mean(np.abs(pred - truth)))
    assert m["Corr"] == pytest.approx(np.corrcoef(pred, truth)[0, 1])


def test_rounding_is_half_to_even_like_numpy():
    # 2.5 rounds to 2 and 3.5 would round to 4 but is clipped to 3 first
    m = regression_metrics([2.5, 3.5, -2.5], [2.0, 3.0, -2.0])
    assert m["Mult_acc_7"] == 1.0
    m = regression_metrics([1.5], [1.0])
    assert m["Mult_acc_7"] == 0.0  # 1.5 -> 2


def test_weighted_f1_against_hand_computation():
    truth = np.array([1, 1, 1, 0])
    pred = np.array([1, 0, 1, 1])
    # class 1: p=2/3 r=2/3 f=2/3 (support 3); class 0: p=0 r=0 f=0 (support 1)
    assert weighted_f1(truth, pred) == pytest.approx(0.75 * 2 / 3)


def test_f1_matches_scikit_learn_on_random_data():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = rng.integers(0, 3, 50)
        pred = rng.integers(0, 4, 50)
        assert weighted_f1(truth, pred) == pytest.approx(sklearn.f1_score(truth, pred, average="weighted", zero_division=0))


def test_all_zero_truths_give_nan_non0_instead_of_crashing():
    m = regression_metrics([0.3, -0.2], [0.0, 0.0])
    assert math.isnan(m["Non0_acc_2"]) and m["Has0_acc_2"] == 0.5


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 predictions for 3 truths"):
        regression_metrics([1, 2], [1, 2, 3])


def test_classification_metrics():
    logits = np.array([[2.0, 0.1], [0.2, 1.0], [3.0, 0.0]])
    m = classification_metrics(logits, [0, 1, 1])
    assert m["Acc"] == pytest.approx(2 / 3)
