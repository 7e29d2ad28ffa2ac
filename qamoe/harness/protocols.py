"""The paper's evaluation protocols (section 4, appendix A.4-A.5), one function each, returning a
typed result (`ProtocolResult`: `name`, and `to_dict()` for the JSON written per training seed). Every
protocol degrades the test split from a fixed seed, so all models and all training seeds are scored on
exactly the same corrupted inputs.

- `subsets`     Protocol I, fixed missing: the 2^M - 1 subsets of available modalities (Table 2)
- `missing`     Protocol I, random missing: each modality of each sample missing with probability eta,
                eta in 0.1 .. 0.7, one checkpoint (Table 3; the paper retrains per eta, see README)
- `noise`       Protocol II: noise intensity lambda in 0.1 .. 0.7 on every modality (Table 4)
- `mixture`     Protocol III: the stochastic mixture test set (Table 5): per sample and modality,
                lambda ~ U(0, 0.7), eta ~ U(0, 0.7), missing ~ Bernoulli(eta) (evaluate.mixture_levels)
- `grid`        one checkpoint on the 8 x 8 grid lambda, eta in {0, 0.1, ..., 0.7} (Figure 3, Table 9)
- `reliability` Spearman rho between r_m and the injected degradation, and error in five r_m bins (Table 6)
- `efficiency`  parameters (total, active), FLOPs per sample, latency, throughput, peak memory (Table 10)

The typed results and their aggregation over training seeds are in `qamoe.harness.records`; the
cost measurement (`efficiency`) in `qamoe.harness.efficiency`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from qamoe.evaluate import MIXTURE_MAX, Predictions, predict_mixture, predict_split
from qamoe.harness.efficiency import efficiency
from qamoe.harness.records import (Correlation, ErrorBin, GridResult, MissingCondition, ModalityReliability,
                                   NoiseCondition, ProtocolIIIResult, ProtocolIIResult, ProtocolIMissingResult,
                                   ProtocolISubsetsResult, ProtocolResult, QuantileBin, ReliabilityResult,
                                   SubsetCondition)
from qamoe.reliability_scale import MISSING_LEVEL, ReliabilityScale, mixture_levels_of, scaled
from qamoe.tensors import TensorSplit

LEVELS = tuple(round(0.1 * i, 1) for i in range(1, 8))  # 0.1 .. 0.7
GRID_LEVELS = (0.0, *LEVELS)  # 0.0 .. 0.7
RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PROTOCOLS = ("subsets", "missing", "noise", "mixture", "grid", "reliability", "efficiency")


# ---- the protocols ----


def _metrics(p: Predictions, config) -> dict[str, float]:
    return {k: float(v) for k, v in p.metrics(config).items()}


def _mean_reliability(p: Predictions) -> dict[str, float]:
    return {m: float(np.mean(r)) for m, r in p.reliability.items()}


def _scale(checkpoint) -> ReliabilityScale:
    """The checkpoint's one reliability scale (none for a checkpoint without: r_m as the model gives it)."""
    return ReliabilityScale.from_extra(getattr(checkpoint, "extra", None))


def _predict(checkpoint, split: TensorSplit, sigma_ref, **kwargs) -> Predictions:
    return scaled(predict_split(checkpoint.model, split, sigma_ref=sigma_ref, **kwargs), _scale(checkpoint))


def subsets(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0) -> ProtocolISubsetsResult:
    """Protocol I (fixed missing): metrics with only the given modalities available, clean otherwise."""
    names = checkpoint.config.modality_names
    rows = {}
    for size in range(len(names), 0, -1):
        for available in itertools.combinations(names, size):
            drop = frozenset(set(names) - set(available))
            p = _predict(checkpoint, split, sigma_ref, drop=drop, seed=seed)
            rows["{" + ",".join(m[0] for m in available) + "}"] = SubsetCondition(
                list(available), _metrics(p, checkpoint.config), _mean_reliability(p))
    return ProtocolISubsetsResult(seed, rows, scale=_scale(checkpoint).label)


def missing(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0, levels=LEVELS) -> ProtocolIMissingResult:
    """Protocol I (random missing), one checkpoint: every modality of every sample independently
    missing with probability eta (a sample may lose all three)."""
    rows = {}
    for eta in levels:
        p = _predict(checkpoint, split, sigma_ref, missing_rate=float(eta), seed=seed)
        rows[f"{eta:.1f}"] = MissingCondition(float(eta), _metrics(p, checkpoint.config), _mean_reliability(p))
    return ProtocolIMissingResult(seed, False, rows, scale=_scale(checkpoint).label)


def noise(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0, levels=LEVELS) -> ProtocolIIResult:
    """Protocol II: noise intensity lambda on every modality of every sample, nothing missing."""
    rows = {}
    for lam in levels:
        p = _predict(checkpoint, split, sigma_ref, noise=float(lam), seed=seed)
        rows[f"{lam:.1f}"] = NoiseCondition(float(lam), _metrics(p, checkpoint.config), _mean_reliability(p))
    return ProtocolIIResult(seed, rows, scale=_scale(checkpoint).label)


def mixture(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0) -> ProtocolIIIResult:
    """Protocol III: the stochastic mixture test set, plus the clean test set for reference."""
    p = predict_mixture(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed)
    clean = _predict(checkpoint, split, sigma_ref, seed=seed)
    return ProtocolIIIResult(
        seed, MIXTURE_MAX, _metrics(p, checkpoint.config), _metrics(clean, checkpoint.config),
        {m: float(np.mean(v)) for m, v in p.missing.items()},
    )


def grid(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0, levels=GRID_LEVELS) -> GridResult:
    """One checkpoint on the lambda x eta grid. metrics[key][i][j]: eta = levels[i], lambda = levels[j]
    (rows missing rate, columns noise intensity, as in the paper's Table 9)."""
    cells: dict[str, list[list[float]]] = {}
    for i, eta in enumerate(levels):
        for j, lam in enumerate(levels):
            m = _metrics(_predict(checkpoint, split, sigma_ref, noise=float(lam), missing_rate=float(eta), seed=seed),
                         checkpoint.config)
            for key, value in m.items():
                cells.setdefault(key, [[math.nan] * len(levels) for _ in levels])[i][j] = value
    return GridResult(seed, list(levels), list(levels), cells)


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan  # a constant score (a method without reliability) has no rank order
    result = spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def _binned(score: np.ndarray, error: np.ndarray) -> list[ErrorBin]:
    bins = []
    edges = RELIABILITY_BINS
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = k == len(edges) - 2
        inside = (score >= lo) & ((score <= hi) if last else (score < hi))
        bins.append(ErrorBin([lo, hi], last, int(inside.sum()), float(error[inside].mean()) if inside.any() else math.nan))
    return bins


def _quantile_binned(score: np.ndarray, error: np.ndarray, parts: int = 5) -> list[QuantileBin]:
    """Error in `parts` equal-count bins of the score (ranks, so ties never split unevenly by value)."""
    order = np.argsort(score, kind="stable")
    bins = []
    for chunk in np.array_split(order, parts):
        if chunk.size == 0:
            bins.append(QuantileBin([math.nan, math.nan], 0, math.nan))
            continue
        bins.append(QuantileBin([float(score[chunk].min()), float(score[chunk].max())], int(chunk.size),
                                float(error[chunk].mean())))
    return bins


def _monotone(bins: list[ErrorBin] | list[QuantileBin]) -> bool | None:
    """True when the error falls from bin to bin over the non-empty bins (None: fewer than two)."""
    values = [b.error for b in bins if b.count]
    if len(values) < 2:
        return None
    return bool(all(a > b for a, b in itertools.pairwise(values)))


def reliability(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0) -> ReliabilityResult:
    """Does r_m track the injected degradation, and does it predict the error?

    Test set: the stochastic mixture (per sample and modality lambda ~ U(0, 0.7), eta ~ U(0, 0.7),
    missing ~ Bernoulli(eta)). The degradation level of modality m in a sample is the lambda it got
    when present, and MISSING_LEVEL (1.0, total loss) when missing. Reported per modality and pooled
    over all (sample, modality) pairs: Spearman rho(r_m, level), also rho(r_m, lambda) over present
    modalities only; and the error (MAE, or error rate for classification) of the fused prediction in
    five bins of r: per modality by r_m, and per sample by the mean r over modalities (the headline);
    also in five equal-count bins (quintiles) of the mean r, which stay informative when r occupies
    only part of [0, 1].

    The r_m are read on the checkpoint's one reliability scale when it has one (`scale` says which;
    `pooled_unscaled` keeps the pooled rho of the r_m as the model gives them).
    """
    p = predict_mixture(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed)
    scale = _scale(checkpoint)
    return reliability_of(scaled(p, scale), mixture_levels_of(p), checkpoint.config, seed=seed,
                          unscaled=p.reliability if scale.fitted else None)


def reliability_of(p: Predictions, level: dict[str, np.ndarray], config, *, seed: int,
                   unscaled: dict[str, np.ndarray] | None = None, max_level: float = MIXTURE_MAX) -> ReliabilityResult:
    """The reliability protocol's numbers for evaluated predictions `p` whose modalities were degraded
    to `level` (name -> (N,) in [0, 1], MISSING_LEVEL where missing); `unscaled`: the r_m before the
    reliability scale, when `p` holds them after it."""
    error = p.errors(config)
    per_modality, all_r, all_level = {}, [], []
    for name in config.modality_names:
        r = np.asarray(p.reliability[name], dtype=np.float64)
        gone = np.asarray(p.missing[name], dtype=bool)
        lam = np.asarray(level[name], dtype=np.float64)
        rho, pval = _spearman(r, lam)
        rho_present, _ = _spearman(r[~gone], lam[~gone])
        bins = _binned(r, error)
        per_modality[name] = ModalityReliability(
            spearman_rho=rho, p_value=pval, spearman_rho_present_only=rho_present,
            mean_r_present=float(r[~gone].mean()) if (~gone).any() else math.nan,
            mean_r_missing=float(r[gone].mean()) if gone.any() else math.nan,
            bins=bins, error_falls_monotonically=_monotone(bins),
        )
        all_r.append(r)
        all_level.append(lam)
    pooled = Correlation(*_spearman(np.concatenate(all_r), np.concatenate(all_level)))
    pooled_unscaled = None
    if unscaled is not None:
        raw = np.concatenate([np.asarray(unscaled[m], dtype=np.float64) for m in config.modality_names])
        pooled_unscaled = Correlation(*_spearman(raw, np.concatenate(all_level)))
    mean_r = np.mean(np.stack(all_r), axis=0)
    sample_bins = _binned(mean_r, error)
    quintiles = _quantile_binned(mean_r, error)
    return ReliabilityResult(
        seed=seed, max_level=max_level, missing_level=MISSING_LEVEL,
        error="error rate" if config.num_classes else "MAE", pooled=pooled, modalities=per_modality,
        sample_bins=sample_bins, sample_error_falls_monotonically=_monotone(sample_bins),
        sample_quintiles=quintiles, quintile_error_falls_monotonically=_monotone(quintiles),
        r_range=[float(np.concatenate(all_r).min()), float(np.concatenate(all_r).max())],
        has_reliability=not all(np.ptp(r) == 0 for r in all_r),
        scale="validation" if unscaled is not None else "none", pooled_unscaled=pooled_unscaled,
    )


RUNNERS = {
    "subsets": subsets, "missing": missing, "noise": noise, "mixture": mixture, "grid": grid,
    "reliability": reliability, "efficiency": efficiency,
}


def run_protocol(name: str, checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0) -> ProtocolResult:
    if name not in RUNNERS:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)} or all")
    return RUNNERS[name](checkpoint, split, sigma_ref, seed=seed)
