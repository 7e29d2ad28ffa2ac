"""One reliability scale for every modality, fitted on the validation split.

The quality head's r_m (Eq. 6) is fitted to a per-modality target (qamoe/reliability.py), and the
modalities do not share its scale: on the simulator a clean text clip reads about 0.93, a clean audio
or vision clip about 0.65, because their probes are fragile to the first bit of noise. Pooled over
modalities, r then ranks "text at lambda 0.6" above "clean audio".

The reliability scale maps each modality's r_m through a non-decreasing function fitted on the
validation split under the Protocol III mixture (the same draw as `variance_scale`'s fit):

    r~_m = E[1 - level_m | r_m],   level_m = lambda_m when present, 1 when missing,

the expected share of the modality left undegraded given what its quality head reads (isotonic
regression, stored as knots at quantiles of the validation r_m, linear between them). Each
modality's own ranking is kept; what changes is that 0.8 is meant to read the same in text, audio and
vision (how closely it does, measured on held-out data: docs/reliability-report).
The model still fuses with its own r_m: the scale changes what is reported and shown (the
protocols, qamoe-eval, qamoe-predict, the live screen and its JSONL), stored in the checkpoint's
`extra["reliability_scale"]`. A checkpoint without one reports r_m as it is. The shipped live
checkpoint's audio and face quality heads were trained on signal degradations that the feature
mixture does not reproduce, so its scale is fitted on those instead, to the share of each modality's
answer that survives (`qamoe.harness.signal_reliability`; docs/reliability-report, "One reliability
scale"). On a scale, a modality without input reads 0 (`InferenceEngine`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

MISSING_LEVEL = 1.0  # the degradation level of a missing modality: nothing of it is left
KNOTS = 21  # points of the fitted map per modality (quantiles 0, 5, ..., 100 % of the validation r_m)
FIT_SEED = 7  # the validation mixture's seed, as the variance scale's


@dataclass(frozen=True)
class ReliabilityScale:
    """name -> (r_knots, mapped): r_knots strictly increasing, mapped non-decreasing in [0, 1]."""

    knots: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, pair in self.knots.items():
            check_knots(name, *pair)

    @property
    def fitted(self) -> bool:
        return bool(self.knots)

    @property
    def label(self) -> str:
        """What r_m read through this scale are on, as every output names it: "validation" (a fitted
        scale) or "none" (r_m as the model gives them)."""
        return "validation" if self.fitted else "none"

    def apply(self, name: str, r: np.ndarray | float) -> np.ndarray:
        """r_m -> r~_m for one modality; a modality without knots is returned as it is."""
        r = np.asarray(r, dtype=np.float64)
        if name not in self.knots:
            return r
        x, y = self.knots[name]
        return np.interp(r, x, y)

    def apply_all(self, reliability: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: self.apply(name, r) for name, r in reliability.items()}

    @classmethod
    def fit(cls, reliability: Mapping[str, np.ndarray], level: Mapping[str, np.ndarray],
            points: int = KNOTS) -> ReliabilityScale:
        """reliability, level: name -> (N,) r_m and degradation level in [0, 1] of the same samples.
        A modality whose r_m never varies (a method without a quality score) gets no knots."""
        from scipy.optimize import isotonic_regression  # noqa: PLC0415

        knots = {}
        for name, r in reliability.items():
            r = np.asarray(r, dtype=np.float64)
            kept = 1.0 - np.asarray(level[name], dtype=np.float64)
            if len(r) < 2 or np.ptp(r) == 0:
                continue
            # equal r (every missing input reads the same zero frame) are one point with their mean, so the
            # fit does not depend on the order of ties
            values, inverse, counts = np.unique(r, return_inverse=True, return_counts=True)
            means = np.bincount(inverse, weights=kept) / counts
            fitted = isotonic_regression(means, weights=counts.astype(np.float64), increasing=True).x  # E[1 - level | r]
            x = np.unique(np.quantile(r, np.linspace(0.0, 1.0, points)))
            y = np.interp(x, values, fitted)  # the fitted step function read at the knots
            knots[name] = (tuple(float(v) for v in x), tuple(float(np.clip(v, 0.0, 1.0)) for v in np.maximum.accumulate(y)))
        return cls(knots)

    def to_dict(self) -> dict:
        return {name: {"r": list(x), "kept": list(y)} for name, (x, y) in self.knots.items()}

    @classmethod
    def from_dict(cls, data) -> ReliabilityScale:
        if not isinstance(data, dict):
            raise ValueError(f"reliability_scale must be a JSON object, got {type(data).__name__}")
        knots = {}
        for name, pair in data.items():
            if not isinstance(pair, dict) or set(pair) != {"r", "kept"}:
                raise ValueError(f"reliability_scale[{name!r}] must be an object with lists 'r' and 'kept'")
            for key in ("r", "kept"):
                values = pair[key]
                if not isinstance(values, list) or not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                    raise ValueError(f"reliability_scale[{name!r}][{key!r}] must be a list of numbers")
            knots[name] = (tuple(pair["r"]), tuple(pair["kept"]))
        return cls(knots)

    @classmethod
    def from_extra(cls, extra: dict | None) -> ReliabilityScale:
        """The scale stored in a checkpoint's `extra`, or none (r_m as it is)."""
        data = (extra or {}).get("reliability_scale")
        if data is None:
            return cls()
        if not isinstance(data, dict) or "knots" not in data:
            raise ValueError("reliability_scale must be an object with 'knots' (and 'fitted_on')")
        return cls.from_dict(data["knots"])

    def to_extra(self, fitted_on: str) -> dict:
        """What `from_extra` reads back, for `checkpoint.extra["reliability_scale"]`."""
        return {"fitted_on": fitted_on, "knots": self.to_dict()}


def check_knots(name: str, x, y) -> None:
    """Refuses knots that would not map r_m in [0, 1] monotonically into [0, 1]."""
    try:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"reliability_scale[{name!r}]: knots must be numbers") from None
    if x.ndim != 1 or x.shape != y.shape or len(x) < 1:
        raise ValueError(f"reliability_scale[{name!r}]: 'r' and 'kept' must be lists of the same length, at least 1")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"reliability_scale[{name!r}]: knots must be finite")
    if np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
        raise ValueError(f"reliability_scale[{name!r}]: 'r' must increase and 'kept' must not decrease")
    if y.min() < 0 or y.max() > 1:
        raise ValueError(f"reliability_scale[{name!r}]: 'kept' must lie in [0, 1]")


def mixture_levels_of(p) -> dict[str, np.ndarray]:
    """name -> (N,) degradation level of evaluated `Predictions`: lambda when present, 1 when missing."""
    return {m: np.where(np.asarray(p.missing[m], dtype=bool), MISSING_LEVEL, np.asarray(p.noise[m], dtype=np.float64))
            for m in p.reliability}


def scaled(p, scale: ReliabilityScale):
    """`Predictions` with r_m read on the scale (the same object when the scale is not fitted).

    Missing inputs pass through the map with the r_m their quality head reads: the protocols measure
    the head, missing included. (The engine instead shows a modality without input at 0; a map fitted
    on present inputs only, as the live checkpoint's, reads a missing one as its lowest present value.)"""
    return dataclasses.replace(p, reliability=scale.apply_all(p.reliability)) if scale.fitted else p


def fit_on_validation(checkpoint, valid, seed: int = FIT_SEED, present: Mapping[str, np.ndarray] | None = None
                      ) -> ReliabilityScale:
    """The scale of a checkpoint from its validation split under the Protocol III mixture.
    `present`: name -> (N,) bool, the samples that really have the modality (a data set whose sources
    lack some modalities, e.g. text-only reviews): the others are left out of that modality's fit,
    since the mixture would count an absent modality it did not drop as present and barely degraded."""
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors  # noqa: PLC0415

    p = predict_mixture(checkpoint.model, valid, sigma_ref=sigma_ref_tensors(checkpoint.stats), seed=seed)
    level = mixture_levels_of(p)
    keep = {m: np.ones(len(r), dtype=bool) if present is None or m not in present else np.asarray(present[m], dtype=bool)
            for m, r in p.reliability.items()}
    return ReliabilityScale.fit({m: np.asarray(r)[keep[m]] for m, r in p.reliability.items()},
                                {m: v[keep[m]] for m, v in level.items()})


def fit_and_store(checkpoint, valid, fitted_on: str = "valid (Protocol III mixture, seed 7)", *,
                  present: Mapping[str, np.ndarray] | None = None) -> ReliabilityScale:
    """A checkpoint with a quality score (QA-MoE with sigma^2_m) gets its scale fitted on `valid` and
    stored in `extra["reliability_scale"]`; other methods report r_m = 1 and get none."""
    if getattr(checkpoint.model, "architecture", "qamoe") != "qamoe" or not checkpoint.config.modality_variance:
        return ReliabilityScale()
    scale = fit_on_validation(checkpoint, valid, present=present)
    if scale.fitted:
        checkpoint.extra["reliability_scale"] = scale.to_extra(fitted_on)
    return scale

