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

Every record reads back what it writes: `Record.from_dict(record.to_dict())` rebuilds the same typed
record (ProtocolResult.from_dict picks the record of the dict's "protocol"), so PROTOCOL.json files on
disk render exactly like fresh results. Over several training seeds, `aggregate_results` gives the
same record type with every number a `Spread` (mean, std, values).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
import types
import typing
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import numpy as np
import torch

from qamoe.tensors import TensorSplit
from qamoe.evaluate import MIXTURE_MAX, Predictions, predict_mixture, predict_split

LEVELS = tuple(round(0.1 * i, 1) for i in range(1, 8))  # 0.1 .. 0.7
GRID_LEVELS = (0.0, *LEVELS)  # 0.0 .. 0.7
RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
MISSING_LEVEL = 1.0  # the degradation level of a missing modality in the reliability protocol
PROTOCOLS = ("subsets", "missing", "noise", "mixture", "grid", "reliability", "efficiency")


# ---- the results: one dataclass per protocol; field names are the JSON keys ----


class Record:
    """A dataclass written to JSON by `to_dict()` and read back by `from_dict()`, which rebuilds the
    nested records from the field types."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        return _read_fields(cls, data)


@functools.cache
def _field_types(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _read_fields(cls: type, data: dict):
    """cls(**data) with every field read as its annotated type; unknown or missing keys raise ValueError."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    annotated = _field_types(cls)
    unknown, absent = sorted(set(data) - set(annotated)), [k for k in annotated if k not in data]
    if unknown or absent:
        raise ValueError(f"{cls.__name__}: unknown fields {unknown}, missing fields {absent}")
    return cls(**{k: _read(tp, data[k]) for k, tp in annotated.items()})


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
        return {"protocol": self.name, **asdict(self)}

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


@dataclass(frozen=True)
class ProtocolIMissingResult(ProtocolResult):
    name: ClassVar[str] = "missing"
    seed: int
    retrained_per_rate: bool
    conditions: dict[str, MissingCondition]  # "0.3" -> condition


@dataclass(frozen=True)
class ProtocolIIResult(ProtocolResult):
    name: ClassVar[str] = "noise"
    seed: int
    conditions: dict[str, NoiseCondition]  # "0.3" -> condition


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


# ---- the protocols ----


def _metrics(p: Predictions, config) -> dict[str, float]:
    return {k: float(v) for k, v in p.metrics(config).items()}


def _mean_reliability(p: Predictions) -> dict[str, float]:
    return {m: float(np.mean(r)) for m, r in p.reliability.items()}


def _predict(checkpoint, split: TensorSplit, sigma_ref, **kwargs) -> Predictions:
    return predict_split(checkpoint.model, split, sigma_ref=sigma_ref, **kwargs)


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
    return ProtocolISubsetsResult(seed, rows)


def missing(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0, levels=LEVELS) -> ProtocolIMissingResult:
    """Protocol I (random missing), one checkpoint: every modality of every sample independently
    missing with probability eta (a sample may lose all three)."""
    rows = {}
    for eta in levels:
        p = _predict(checkpoint, split, sigma_ref, missing_rate=float(eta), seed=seed)
        rows[f"{eta:.1f}"] = MissingCondition(float(eta), _metrics(p, checkpoint.config), _mean_reliability(p))
    return ProtocolIMissingResult(seed, False, rows)


def noise(checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0, levels=LEVELS) -> ProtocolIIResult:
    """Protocol II: noise intensity lambda on every modality of every sample, nothing missing."""
    rows = {}
    for lam in levels:
        p = _predict(checkpoint, split, sigma_ref, noise=float(lam), seed=seed)
        rows[f"{lam:.1f}"] = NoiseCondition(float(lam), _metrics(p, checkpoint.config), _mean_reliability(p))
    return ProtocolIIResult(seed, rows)


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
    """
    config = checkpoint.config
    p = predict_mixture(checkpoint.model, split, sigma_ref=sigma_ref, seed=seed)
    error = p.errors(config)
    per_modality, all_r, all_level = {}, [], []
    for name in config.modality_names:
        r = np.asarray(p.reliability[name], dtype=np.float64)
        gone = np.asarray(p.missing[name], dtype=bool)
        lam = np.asarray(p.noise[name], dtype=np.float64)
        level = np.where(gone, MISSING_LEVEL, lam)
        rho, pval = _spearman(r, level)
        rho_present, _ = _spearman(r[~gone], lam[~gone])
        bins = _binned(r, error)
        per_modality[name] = ModalityReliability(
            spearman_rho=rho, p_value=pval, spearman_rho_present_only=rho_present,
            mean_r_present=float(r[~gone].mean()) if (~gone).any() else math.nan,
            mean_r_missing=float(r[gone].mean()) if gone.any() else math.nan,
            bins=bins, error_falls_monotonically=_monotone(bins),
        )
        all_r.append(r)
        all_level.append(level)
    pooled = Correlation(*_spearman(np.concatenate(all_r), np.concatenate(all_level)))
    mean_r = np.mean(np.stack(all_r), axis=0)
    sample_bins = _binned(mean_r, error)
    quintiles = _quantile_binned(mean_r, error)
    return ReliabilityResult(
        seed=seed, max_level=MIXTURE_MAX, missing_level=MISSING_LEVEL,
        error="error rate" if config.num_classes else "MAE", pooled=pooled, modalities=per_modality,
        sample_bins=sample_bins, sample_error_falls_monotonically=_monotone(sample_bins),
        sample_quintiles=quintiles, quintile_error_falls_monotonically=_monotone(quintiles),
        r_range=[float(np.concatenate(all_r).min()), float(np.concatenate(all_r).max())],
        has_reliability=not all(np.ptp(r) == 0 for r in all_r),
    )


def _active_parameters(model: torch.nn.Module) -> int:
    """Parameters minus the experts a sample does not use: of each MixtureOfExperts bank of N experts
    only top_k run per sample (router and everything else always run)."""
    from qamoe.moe import MixtureOfExperts

    total = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, MixtureOfExperts):
            bank = sum(p.numel() for p in module.experts.parameters())
            n = len(module.experts)
            total -= bank - bank * module.router.top_k // n
    return int(total)


class _LiveTensorBytes:
    """Peak bytes of tensors alive during a forward pass on CPU (a dispatch mode that adds each new
    storage when an op creates it and subtracts it when its tensor is freed); parameters excluded."""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode

        tracker = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                tracker._record(out)
                return out

        self.mode = Mode()
        self.live = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _record(self, out) -> None:
        import weakref

        from torch.utils._pytree import tree_flatten

        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if not key or key in self._seen:
                continue
            size = storage.nbytes()
            self._seen.add(key)
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(t, self._free, key, size)

    def _free(self, key: int, size: int) -> None:
        if key in self._seen:
            self._seen.discard(key)
            self.live -= size

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def efficiency(checkpoint, split: TensorSplit, sigma_ref=None, *, seed: int = 0, batch_sizes=(1, 16, 64),
               repeats: int = 10, device: str | None = None) -> EfficiencyResult:
    """Cost of inference on clean test batches: FLOPs per sample (torch.utils.flop_counter, which
    counts the matrix products and attention; the MoE runs only the selected experts, so they are
    what is counted), median latency per batch, throughput, and peak memory: parameters plus the
    peak of live activation tensors (CUDA: torch's max allocated; CPU: tracked per op)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = checkpoint.model
    dev = torch.device(device) if device else next(model.parameters()).device
    model.to(dev).eval()
    n = len(split)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    batches: dict[str, BatchCost] = {}
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        index = torch.randperm(n, generator=generator)[: min(64, n)]
        batch = split.batch(index).to(dev)
        counter = FlopCounterMode(display=False)
        with counter:
            model(batch.features, batch.lengths)
        flops_per_sample = float(counter.get_total_flops() / len(index))
        for size in batch_sizes:
            size = min(size, n)
            sub = split.batch(index[:size] if size <= len(index) else torch.arange(size)).to(dev)
            if dev.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            for _ in range(2):  # warm-up
                model(sub.features, sub.lengths)
            times = []
            for _ in range(repeats):
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(sub.features, sub.lengths)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            latency = float(np.median(times))
            if dev.type == "cuda":
                peak = torch.cuda.max_memory_allocated() / 2**20
            else:
                with _LiveTensorBytes() as tracker:
                    model(sub.features, sub.lengths)
                peak = (param_bytes + tracker.peak) / 2**20
            batches[str(size)] = BatchCost(latency * 1e3, size / latency, float(peak))
    return EfficiencyResult(
        device=str(dev), threads=torch.get_num_threads(), total_parameters=int(sum(p.numel() for p in model.parameters())),
        active_parameters=_active_parameters(model), batches=batches, parameter_mb=param_bytes / 2**20,
        flops_per_sample=flops_per_sample, gflops_per_sample=flops_per_sample / 1e9,
    )


RUNNERS = {
    "subsets": subsets, "missing": missing, "noise": noise, "mixture": mixture, "grid": grid,
    "reliability": reliability, "efficiency": efficiency,
}


def run_protocol(name: str, checkpoint, split: TensorSplit, sigma_ref, *, seed: int = 0) -> ProtocolResult:
    if name not in RUNNERS:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)} or all")
    return RUNNERS[name](checkpoint, split, sigma_ref, seed=seed)


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
    number is a Spread over the seeds (strings and flags kept where the seeds agree, else their list)."""
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
