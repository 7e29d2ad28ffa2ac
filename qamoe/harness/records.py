"""The protocols' results as typed records, and their aggregate over training seeds.

Every record reads back what it writes: `Record.from_dict(record.to_dict())` rebuilds the same typed
record (ProtocolResult.from_dict picks the record of the dict's "protocol"), so PROTOCOL.json files on
disk render exactly like fresh results. Over several training seeds, `aggregate_results` gives the
same record type with every number a `Spread` (mean, std, values). A comparison of several models on
one protocol is a `ProtocolPayload` of `ModelResults`.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import ClassVar

import numpy as np


# ---- the results: one dataclass per protocol; field names are the JSON keys ----


class Record:
    """A dataclass written to JSON by `to_dict()` and read back by `from_dict()`, which rebuilds the
    nested records from the field types."""

    def to_dict(self) -> dict:
        return _json_fields(self)

    @classmethod
    def from_dict(cls, data: dict):
        return _read_fields(cls, data)


def _json_fields(record) -> dict:
    """A record's fields as JSON-ready values, nested records included. A field with a default (one
    added after results were first written) is left out while it holds that default, so results
    without it write exactly what they wrote before."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.default is not MISSING and value == f.default:
            continue
        out[f.name] = _json_value(value)
    return out


def _json_value(value):
    if is_dataclass(value):
        return _json_fields(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


@functools.cache
def _field_types(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _read_fields(cls: type, data: dict):
    """cls(**data) with every field read as its annotated type; unknown keys, and missing keys of fields
    without a default (a default marks a field added after results were first written), raise ValueError."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    annotated = _field_types(cls)
    optional = {f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}
    unknown = sorted(set(data) - set(annotated))
    absent = [k for k in annotated if k not in data and k not in optional]
    if unknown or absent:
        raise ValueError(f"{cls.__name__}: unknown fields {unknown}, missing fields {absent}")
    return cls(**{k: _read(tp, data[k]) for k, tp in annotated.items() if k in data})


def _read(tp, value):
    """A JSON value as the annotated type `tp`: records from objects, lists and dicts element by
    element, everything else as it is, except that a {"mean", "std", "values"} object where a number
    belongs is a Spread (the aggregate over seeds)."""
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_dict(value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and isinstance(value, list):
        return [_read(args[0], v) for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _read(args[1], v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        return None if value is None else _read(next(a for a in args if a is not type(None)), value)
    if tp in (int, float) and isinstance(value, dict):
        return Spread.from_dict(value)
    return value


@dataclass(frozen=True)
class Spread(Record):
    """One number over several training seeds: mean and population std of the finite values (NaN when
    none is), and every value in seed order."""

    mean: float
    std: float
    values: list[float]


@dataclass(frozen=True)
class ProtocolResult(Record):
    """What every protocol returns for one checkpoint (one training seed)."""

    name: ClassVar[str]

    def to_dict(self) -> dict:
        """The JSON-ready record written in PROTOCOL.json's per_seed list."""
        return {"protocol": self.name, **_json_fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> ProtocolResult:
        """The record of the protocol named by data["protocol"]; called on a subclass, only that one's."""
        kind = RESULT_TYPES.get(data.get("protocol")) if isinstance(data, dict) else None
        if kind is None or not issubclass(kind, cls):
            found = data.get("protocol") if isinstance(data, dict) else data
            raise ValueError(f"{cls.__name__} cannot read a result of protocol {found!r}")
        return _read_fields(kind, {k: v for k, v in data.items() if k != "protocol"})


@dataclass(frozen=True)
class SubsetCondition(Record):
    available: list[str]
    metrics: dict[str, float]
    mean_reliability: dict[str, float]  # modality -> mean r_m over the split


@dataclass(frozen=True)
class MissingCondition(Record):
    missing_rate: float
    metrics: dict[str, float]
    mean_reliability: dict[str, float]


@dataclass(frozen=True)
class NoiseCondition(Record):
    noise: float
    metrics: dict[str, float]
    mean_reliability: dict[str, float]


@dataclass(frozen=True)
class ProtocolISubsetsResult(ProtocolResult):
    name: ClassVar[str] = "subsets"
    seed: int
    conditions: dict[str, SubsetCondition]  # "{t,a}" -> condition
    scale: str = "none"  # what each condition's mean_reliability is read on, as ReliabilityResult.scale


@dataclass(frozen=True)
class ProtocolIMissingResult(ProtocolResult):
    name: ClassVar[str] = "missing"
    seed: int
    retrained_per_rate: bool
    conditions: dict[str, MissingCondition]  # "0.3" -> condition
    scale: str = "none"  # what each condition's mean_reliability is read on, as ReliabilityResult.scale


@dataclass(frozen=True)
class ProtocolIIResult(ProtocolResult):
    name: ClassVar[str] = "noise"
    seed: int
    conditions: dict[str, NoiseCondition]  # "0.3" -> condition
    scale: str = "none"  # what each condition's mean_reliability is read on, as ReliabilityResult.scale


@dataclass(frozen=True)
class ProtocolIIIResult(ProtocolResult):
    name: ClassVar[str] = "mixture"
    seed: int
    max_level: float
    metrics: dict[str, float]
    clean_metrics: dict[str, float]
    missing_share: dict[str, float]  # modality -> share of samples that lost it


@dataclass(frozen=True)
class GridResult(ProtocolResult):
    name: ClassVar[str] = "grid"
    seed: int
    noise: list[float]  # columns
    missing: list[float]  # rows
    metrics: dict[str, list[list[float]]]  # key -> (rows eta, columns lambda)


@dataclass(frozen=True)
class ErrorBin(Record):
    """Samples whose score lies in [lo, hi) ([lo, hi] for the closed last bin) and their mean error."""

    range: list[float]
    closed: bool
    count: int
    error: float


@dataclass(frozen=True)
class QuantileBin(Record):
    """An equal-count bin of the score: the score range it spans and the mean error inside."""

    range: list[float]
    count: int
    error: float


@dataclass(frozen=True)
class Correlation(Record):
    spearman_rho: float
    p_value: float


@dataclass(frozen=True)
class ModalityReliability(Record):
    spearman_rho: float  # against the level (lambda, or MISSING_LEVEL when missing)
    p_value: float
    spearman_rho_present_only: float  # against lambda, present modalities only
    mean_r_present: float
    mean_r_missing: float
    bins: list[ErrorBin]
    error_falls_monotonically: bool | None


@dataclass(frozen=True)
class ReliabilityResult(ProtocolResult):
    name: ClassVar[str] = "reliability"
    seed: int
    max_level: float
    missing_level: float
    error: str  # "MAE" or "error rate"
    pooled: Correlation
    modalities: dict[str, ModalityReliability]
    sample_bins: list[ErrorBin]  # by the mean r over modalities (the headline)
    sample_error_falls_monotonically: bool | None
    sample_quintiles: list[QuantileBin]
    quintile_error_falls_monotonically: bool | None
    r_range: list[float]
    has_reliability: bool
    # "validation": r_m read on the checkpoint's one reliability scale (qamoe.reliability_scale);
    # "none": as the model gives them (results written before the scale existed read as "none")
    scale: str = "none"
    pooled_unscaled: Correlation | None = None  # the pooled rho of the r_m as the model gives them


@dataclass(frozen=True)
class BatchCost(Record):
    latency_ms: float
    throughput_per_s: float
    peak_memory_mb: float


@dataclass(frozen=True)
class EfficiencyResult(ProtocolResult):
    name: ClassVar[str] = "efficiency"
    device: str
    threads: int
    total_parameters: int
    active_parameters: int
    batches: dict[str, BatchCost]  # batch size -> cost
    parameter_mb: float
    flops_per_sample: float
    gflops_per_sample: float


RESULT_TYPES: dict[str, type[ProtocolResult]] = {
    r.name: r for r in (ProtocolISubsetsResult, ProtocolIMissingResult, ProtocolIIResult, ProtocolIIIResult,
                        GridResult, ReliabilityResult, EfficiencyResult)
}


# ---- several training seeds: mean and standard deviation of every number, as MMSA reports ----


def aggregate(results: list):
    """Results of the same protocol for several training seeds -> the same tree with every number
    replaced by {"mean", "std", "values"} (population std, ddof 0 as numpy's default; NaNs ignored)."""
    first = results[0]
    if isinstance(first, dict):
        return {k: aggregate([r[k] for r in results]) for k in first}
    if isinstance(first, list):
        if len({len(r) for r in results}) != 1:
            raise ValueError("results of different shapes cannot be aggregated")
        return [aggregate([r[i] for r in results]) for i in range(len(first))]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first if all(r == first for r in results) else list(results)
    if isinstance(first, (int, float)):
        values = np.asarray(results, dtype=np.float64)
        finite = values[np.isfinite(values)]
        return {
            "mean": float(finite.mean()) if finite.size else math.nan,
            "std": float(finite.std()) if finite.size else math.nan,
            "values": [float(v) for v in values],
        }
    return first


def mean_of(value):
    """The mean of an aggregated number, or the number itself."""
    if isinstance(value, dict) and "mean" in value:
        return value["mean"]
    return value


def aggregate_results(results: Sequence[ProtocolResult]) -> ProtocolResult:
    """Results of one protocol for several training seeds -> one record of the same type whose every
    number is a Spread over the seeds (strings and flags kept where the seeds agree, else their list).
    Seeds whose r_m were read on different scales are refused: their correlations do not average."""
    scales = sorted({getattr(r, "scale", "none") for r in results})
    if len(scales) > 1:
        raise ValueError(f"the seeds read r_m on different scales ({', '.join(scales)}): give every checkpoint its "
                         "reliability scale (python scripts/fit_reliability_scale.py CHECKPOINT) or none")
    return ProtocolResult.from_dict(aggregate([r.to_dict() for r in results]))


# ---- one protocol over several models and training seeds: what PROTOCOL.json holds ----


@dataclass(frozen=True)
class ModelResults(Record):
    """One model's results of one protocol: a record per training seed, and their aggregate."""

    checkpoints: list[str]
    architecture: str
    seeds: list[int | None]
    per_seed: list[ProtocolResult]

    @functools.cached_property
    def aggregate(self) -> ProtocolResult:
        """aggregate_results(per_seed): the per-seed record type with a Spread for every number."""
        return aggregate_results(self.per_seed)

    def to_dict(self) -> dict:
        return {"checkpoints": self.checkpoints, "architecture": self.architecture, "seeds": self.seeds,
                "per_seed": [r.to_dict() for r in self.per_seed], "aggregate": self.aggregate.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> ModelResults:
        """The JSON's "aggregate" is derived from per_seed: recomputed, not read."""
        return _read_fields(cls, {k: v for k, v in data.items() if k != "aggregate"})


@dataclass(frozen=True)
class ProtocolPayload(Record):
    """One protocol run on every model and seed of a comparison, on one data set split."""

    protocol: str
    dataset: str
    split: str
    eval_seed: int
    command: str
    models: dict[str, ModelResults]

    def __post_init__(self) -> None:
        wrong = {label for label, m in self.models.items() for r in m.per_seed if r.name != self.protocol}
        if wrong:
            raise ValueError(f"{self.protocol} payload holds results of another protocol for {sorted(wrong)}")

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "dataset": self.dataset, "split": self.split, "eval_seed": self.eval_seed,
                "command": self.command, "models": {label: m.to_dict() for label, m in self.models.items()}}
