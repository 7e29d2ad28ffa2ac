"""Fitting a checkpoint's variance scale on its validation split, and reporting interval coverage."""

from __future__ import annotations

import numpy as np

from qamoe.calibration.uncertainty import VarianceScale, coverage
from qamoe.checkpoint import Checkpoint
from qamoe.data.tensors import TensorSplit
from qamoe.evaluate import Predictions, predict_split, sigma_ref_tensors

MIXTURE_MAX = 0.7  # the mixture protocol's range for lambda and eta, as in the paper's grid


def mixture_levels(n: int, modalities: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample, per-modality (lambda, eta) ~ U(0, 0.7): the stochastic mixture of Protocol III."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, MIXTURE_MAX, (n, modalities)), rng.uniform(0, MIXTURE_MAX, (n, modalities))


def conditions(checkpoint: Checkpoint, split: TensorSplit, seed: int) -> dict[str, Predictions]:
    """The split clean and under a seeded mixture."""
    sigma_ref = sigma_ref_tensors(checkpoint.stats)
    noise, missing = mixture_levels(len(split), len(checkpoint.config.modalities), seed)
    return {
        "clean": predict_split(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed),
        "mixture": predict_split(checkpoint.model, split, sigma_ref=sigma_ref, noise=noise, missing_rate=missing, seed=seed),
    }


def fit_on_validation(checkpoint: Checkpoint, valid: TensorSplit, seed: int = 7) -> VarianceScale:
    """One scale for clean and degraded inputs alike: fitted on both, pooled."""
    parts = conditions(checkpoint, valid, seed).values()
    return VarianceScale.fit(
        np.concatenate([p.prediction for p in parts]),
        np.concatenate([p.log_variance for p in parts]),
        np.concatenate([p.labels for p in parts]),
    )


def coverage_table(checkpoint: Checkpoint, split: TensorSplit, scale: VarianceScale, seed: int = 0) -> dict:
    """{condition: {"before": {level: share}, "after": {...}}} on `split` clean and under the mixture."""
    table = {}
    for name, p in conditions(checkpoint, split, seed).items():
        table[name] = {
            "before": coverage(p.prediction, np.exp(0.5 * p.log_variance), p.labels),
            "after": coverage(p.prediction, scale.std(p.log_variance), p.labels),
        }
    return table
