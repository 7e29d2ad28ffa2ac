"""Paired comparisons: every model is scored on the same test clips under the same corruptions, so
the difference of two models is measured clip by clip, not only as a difference of two means.

For two models A and B trained with the same seeds, `paired_test` takes their per-clip absolute
errors (S seeds, N clips) on one degraded test set and reports: the mean difference (A - B) with a
95 % bootstrap interval over clips (the seeds averaged per clip), the Wilcoxon signed-rank p-value of
the per-clip differences, and in how many seeds A's mean error is the lower.
"""

from __future__ import annotations

import numpy as np

from qamoe.evaluate import predict_mixture


def mixture_errors(checkpoint, split, sigma_ref, *, seed: int = 0) -> np.ndarray:
    """(N,) absolute error (or 0/1 error for classification) of the fused prediction per clip on the
    Protocol III mixture test set drawn from `seed`."""
    return predict_mixture(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed).errors(checkpoint.config)


def paired_test(errors_a: np.ndarray, errors_b: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> dict:
    """errors_a, errors_b: (S, N) per-seed, per-clip errors of two models on the same clips."""
    from scipy.stats import wilcoxon

    errors_a, errors_b = np.atleast_2d(errors_a), np.atleast_2d(errors_b)
    if errors_a.shape != errors_b.shape:
        raise ValueError(f"paired errors need the same seeds and clips, got {errors_a.shape} and {errors_b.shape}")
    per_clip = (errors_a - errors_b).mean(0)  # (N,)
    rng = np.random.default_rng(seed)
    boot = per_clip[rng.integers(0, len(per_clip), (resamples, len(per_clip)))].mean(1)
    nonzero = per_clip[per_clip != 0]
    p_value = float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 10 else float("nan")
    per_seed = (errors_a - errors_b).mean(1)
    return {
        "mean_difference": float(per_clip.mean()),
        "ci95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
        "wilcoxon_p": p_value,
        "seeds_a_lower": int((per_seed < 0).sum()),
        "seeds": int(len(per_seed)),
        "clips": int(per_clip.size),
    }
