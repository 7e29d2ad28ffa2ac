"""The variance scale: one factor on the predicted variances, fitted on the validation split.

QA-MoE predicts a Gaussian N(y_hat, sigma^2) per sample (Eq. 8-10). Trained with the NLL, sigma is
often too narrow or too wide on unseen data. Scaling every variance by one factor c^2 is the
maximum-likelihood fix on held-out data: c^2 = mean((y - y_hat)^2 / sigma^2). The scale is fitted on
the validation split clean and under the Protocol III mixture (pooled), stored in the checkpoint
(`extra["uncertainty"]`) and applied wherever a standard deviation is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from qamoe.checkpoint import Checkpoint
from qamoe.tensors import TensorSplit
from qamoe.evaluate import Predictions, predict_mixture, predict_split, sigma_ref_tensors

NOMINAL_LEVELS = (0.5, 0.8, 0.95)
MAX_SCALE = 1e4  # beyond this a stored scale is damaged: sqrt(scale * variance) would overflow to infinity
FIT_SEED = 7  # the validation mixture's seed (evaluation reports use their own --seed on test)


@dataclass(frozen=True)
class VarianceScale:
    scale: float = 1.0  # multiplies sigma^2

    @classmethod
    def fit(cls, prediction: np.ndarray, log_variance: np.ndarray, truth: np.ndarray) -> "VarianceScale":
        """Maximum-likelihood scale of the predicted variances on held-out (validation) data; all (N,)."""
        variance = np.exp(np.asarray(log_variance, dtype=np.float64))
        residual2 = (np.asarray(truth, dtype=np.float64) - np.asarray(prediction, dtype=np.float64)) ** 2
        if len(residual2) == 0:
            raise ValueError("cannot calibrate on zero samples")
        return cls(float(np.mean(residual2 / variance)))

    def std(self, log_variance: np.ndarray) -> np.ndarray:
        """(N,) calibrated standard deviation from the (N,) predicted log variance."""
        return np.sqrt(self.scale * np.exp(np.asarray(log_variance, dtype=np.float64)))

    def to_dict(self) -> dict:
        return {"variance_scale": self.scale}

    @classmethod
    def from_extra(cls, extra: dict) -> "VarianceScale":
        """The scale stored in a checkpoint's `extra`, or 1 (uncalibrated) when there is none."""
        value = (extra or {}).get("uncertainty", {}).get("variance_scale", 1.0)
        if not isinstance(value, (int, float)) or not np.isfinite(value) or not 0 < value <= MAX_SCALE:
            raise ValueError(f"stored variance_scale must be a number in (0, {MAX_SCALE:g}], got {value!r}")
        return cls(float(value))


def coverage(prediction, std, truth, levels=NOMINAL_LEVELS) -> dict[str, float]:
    """Share of truths inside the central Gaussian interval of each nominal level; inputs (N,)."""
    z_scores = np.abs(np.asarray(truth) - np.asarray(prediction)) / np.asarray(std)
    return {f"{level:.0%}": float(np.mean(z_scores <= norm.ppf(0.5 + level / 2))) for level in levels}


def gaussian_nll(prediction, std, truth) -> float:
    std = np.asarray(std, dtype=np.float64)
    return float(np.mean(0.5 * np.log(2 * np.pi * std**2) + 0.5 * ((np.asarray(truth) - prediction) / std) ** 2))


def clean_and_mixture(checkpoint: Checkpoint, split: TensorSplit, seed: int) -> dict[str, Predictions]:
    """The split clean and under the Protocol III mixture drawn from `seed` (evaluate.mixture_levels)."""
    sigma_ref = sigma_ref_tensors(checkpoint.stats)
    return {
        "clean": predict_split(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed),
        "mixture": predict_mixture(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed),
    }


def fit_on_validation(checkpoint: Checkpoint, valid: TensorSplit, seed: int = FIT_SEED) -> VarianceScale:
    """One scale for clean and degraded inputs alike: fitted on both, pooled."""
    parts = clean_and_mixture(checkpoint, valid, seed).values()
    return VarianceScale.fit(
        np.concatenate([p.prediction for p in parts]),
        np.concatenate([p.log_variance for p in parts]),
        np.concatenate([p.labels for p in parts]),
    )


def coverage_table(checkpoint: Checkpoint, split: TensorSplit, scale: VarianceScale, seed: int = 0) -> dict:
    """{condition: {"before": {level: share}, "after": {...}}} on `split` clean and under the mixture;
    on the test split with `seed` = the evaluation seed, the mixture is Protocol III's test draw."""
    table = {}
    for name, p in clean_and_mixture(checkpoint, split, seed).items():
        table[name] = {
            "before": coverage(p.prediction, np.exp(0.5 * p.log_variance), p.labels),
            "after": coverage(p.prediction, scale.std(p.log_variance), p.labels),
        }
    return table
