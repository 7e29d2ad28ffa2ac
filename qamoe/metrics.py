"""Evaluation metrics, identical in definition and key names to MMSA's `MetricsTop`.

Regression (CMU-MOSI / MOSEI): predictions and truths are clipped to [-3, 3] (acc-7) or [-2, 2]
(acc-5) and rounded half to even (`np.round`) before comparing classes; Has0 splits at >= 0 over all
samples, Non0 drops zero truths and splits at > 0; F1 scores are support-weighted. Values are
plain, unrounded floats.
"""

from __future__ import annotations

import numpy as np

REGRESSION_KEYS = (
    "Has0_acc_2",
    "Has0_F1_score",
    "Non0_acc_2",
    "Non0_F1_score",
    "Mult_acc_5",
    "Mult_acc_7",
    "MAE",
    "Corr",
)


def weighted_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """F1 averaged over the labels seen in truth or pred, weighted by each label's support in truth
    (scikit-learn's `average='weighted'`; an undefined precision or recall counts as 0)."""
    truth, pred = np.asarray(truth).ravel(), np.asarray(pred).ravel()
    if truth.size == 0:
        return 0.0
    total = 0.0
    for label in np.union1d(truth, pred):
        tp = np.sum((pred == label) & (truth == label))
        predicted, actual = np.sum(pred == label), np.sum(truth == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        total += f1 * actual
    return float(total / truth.size)


def _multiclass_acc(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sum(np.round(pred) == np.round(truth)) / len(truth))


def regression_metrics(pred, truth) -> dict[str, float]:
    """MMSA regression metrics of sentiment predictions against truths (any array-likes of length N)."""
    pred = np.asarray(pred, dtype=np.float64).ravel()
    truth = np.asarray(truth, dtype=np.float64).ravel()
    if pred.shape != truth.shape:
        raise ValueError(f"{pred.size} predictions for {truth.size} truths")
    if pred.size == 0:
        raise ValueError("no samples to score")
    non_zero = truth != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(pred, truth)[0, 1]) if pred.size > 1 else float("nan")
    has0_pred, has0_truth = pred >= 0, truth >= 0
    non0_pred, non0_truth = pred[non_zero] > 0, truth[non_zero] > 0
    return {
        "Has0_acc_2": float(np.mean(has0_pred == has0_truth)),
        "Has0_F1_score": weighted_f1(has0_truth, has0_pred),
        "Non0_acc_2": float(np.mean(non0_pred == non0_truth)) if non_zero.any() else float("nan"),
        "Non0_F1_score": weighted_f1(non0_truth, non0_pred) if non_zero.any() else float("nan"),
        "Mult_acc_5": _multiclass_acc(np.clip(pred, -2.0, 2.0), np.clip(truth, -2.0, 2.0)),
        "Mult_acc_7": _multiclass_acc(np.clip(pred, -3.0, 3.0), np.clip(truth, -3.0, 3.0)),
        "MAE": float(np.mean(np.abs(pred - truth))),
        "Corr": corr,
    }


def classification_metrics(logits_or_labels, truth) -> dict[str, float]:
    """Accuracy and weighted F1 (IEMOCAP, MIntRec); accepts (N, C) scores or (N,) predicted ids."""
    pred = np.asarray(logits_or_labels)
    if pred.ndim == 2:
        pred = pred.argmax(-1)
    truth = np.asarray(truth).ravel()
    if pred.shape != truth.shape:
        raise ValueError(f"{pred.size} predictions for {truth.size} truths")
    return {"Acc": float(np.mean(pred == truth)), "F1_score": weighted_f1(truth, pred)}
