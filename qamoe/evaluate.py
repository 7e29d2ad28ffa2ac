"""Running a model over a split under a chosen degradation, and scoring the result.

The stochastic mixture of Protocol III is drawn here, once, from one seed rule (`mixture_levels`), so
the protocol, the paired comparisons and the variance scale's coverage all score the same draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qamoe.config import QAMoEConfig
from qamoe.tensors import TensorSplit
from qamoe.degradation import degrade, remove_modalities
from qamoe.metrics import classification_metrics, regression_metrics

EVAL_BATCH = 64  # fixed, so the seeded degradation of a split never depends on the caller
MIXTURE_MAX = 0.7  # upper end of lambda and eta in the stochastic mixture (Protocol III)


@dataclass
class Predictions:
    prediction: np.ndarray  # (N,) sentiment, or (N, C) class logits
    log_variance: np.ndarray  # (N,)
    labels: np.ndarray  # (N,)
    reliability: dict[str, np.ndarray]  # name -> (N,)
    missing: dict[str, np.ndarray]  # name -> (N,) bool
    noise: dict[str, np.ndarray]  # name -> (N,) lambda applied
    gates: dict[str, np.ndarray]  # name -> (N, num_experts)
    index: np.ndarray  # (N,) positions of these samples in the split

    @classmethod
    def concatenate(cls, parts: list["Predictions"]) -> "Predictions":
        """Joins shards (e.g. from several ranks) back into split order."""
        parts = [p for p in parts if len(p.index)] or parts[:1]  # a rank may have had no batch
        index = np.concatenate([p.index for p in parts])
        order = np.argsort(index, kind="stable")
        join = lambda arrays: np.concatenate(arrays)[order]  # noqa: E731
        per_mod = lambda attr: {m: join([getattr(p, attr)[m] for p in parts]) for m in getattr(parts[0], attr)}  # noqa: E731
        return cls(
            join([p.prediction for p in parts]), join([p.log_variance for p in parts]), join([p.labels for p in parts]),
            per_mod("reliability"), per_mod("missing"), per_mod("noise"), per_mod("gates"), index[order],
        )

    def metrics(self, config: QAMoEConfig) -> dict[str, float]:
        if config.num_classes:
            return classification_metrics(self.prediction, self.labels)
        return regression_metrics(self.prediction, self.labels)

    def errors(self, config: QAMoEConfig) -> np.ndarray:
        """(N,) error of each sample: absolute error, or 0/1 (wrong class) for classification."""
        if config.num_classes:
            return (np.asarray(self.prediction).argmax(-1) != self.labels).astype(np.float64)
        return np.abs(np.asarray(self.prediction, dtype=np.float64) - self.labels)


def sigma_ref_tensors(stats) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(s.sigma_ref) for name, s in stats.items()}


@torch.no_grad()
def predict_split(
    model: torch.nn.Module,
    split: TensorSplit,
    *,
    sigma_ref: dict[str, torch.Tensor],
    noise: float | np.ndarray = 0.0,
    missing_rate: float | np.ndarray = 0.0,
    drop: frozenset[str] = frozenset(),
    seed: int = 0,
    shard: tuple[int, int] = (0, 1),
) -> Predictions:
    """Degrades `split` with (noise, missing_rate) from `seed` and runs the model on it.

    noise, missing_rate: scalars, or (N, M) arrays giving each sample's level per modality (mixture).
    drop: modalities removed from every sample (Protocol I fixed subsets).
    shard: (i, n) runs only every n-th batch starting at i; `Predictions.concatenate` of all n shards
    equals the unsharded result, because each batch's degradation is seeded by its global number.
    """
    model.eval()
    config: QAMoEConfig = model.config
    device = next(model.parameters()).device
    out = {k: [] for k in ("prediction", "log_variance", "labels", "index")}
    per_mod = {k: {m: [] for m in config.modality_names} for k in ("reliability", "missing", "noise", "gates")}
    generator = torch.Generator()
    for number, batch in enumerate(split.batches(EVAL_BATCH)):
        if number % shard[1] != shard[0]:
            continue
        generator.manual_seed(seed * 1_000_003 + number)
        level = noise if np.isscalar(noise) else torch.as_tensor(np.asarray(noise)[batch.index.numpy()])
        rate = missing_rate if np.isscalar(missing_rate) else torch.as_tensor(np.asarray(missing_rate)[batch.index.numpy()])
        degraded = degrade(
            batch.features, batch.lengths, modalities=config.modalities, sigma_ref=sigma_ref,
            noise=level, missing_rate=rate, generator=generator,
        )
        if drop:
            degraded = remove_modalities(degraded, drop)
        features = {k: v.to(device) for k, v in degraded.features.items()}
        lengths = {k: v.to(device) for k, v in degraded.lengths.items()}
        result = model(features, lengths)
        out["prediction"].append(result.prediction.cpu())
        out["log_variance"].append(result.log_variance.cpu())
        out["labels"].append(batch.labels)
        out["index"].append(batch.index)
        for m in config.modality_names:
            per_mod["reliability"][m].append(result.reliability[m].cpu())
            per_mod["gates"][m].append(result.gates[m].cpu())
            per_mod["missing"][m].append(degraded.missing[m])
            per_mod["noise"][m].append(degraded.noise[m].cpu())
    cat = lambda parts: torch.cat(parts).numpy() if parts else np.zeros(0)  # noqa: E731
    return Predictions(
        cat(out["prediction"]),
        cat(out["log_variance"]),
        cat(out["labels"]),
        *({m: cat(v) for m, v in per_mod[k].items()} for k in ("reliability", "missing", "noise", "gates")),
        cat(out["index"]),
    )


def mixture_levels(n: int, m: int, seed: int, high: float = MIXTURE_MAX) -> tuple[np.ndarray, np.ndarray]:
    """(N, M) lambda and (N, M) eta of the stochastic mixture drawn from `seed`: per sample and
    modality lambda ~ U(0, high), eta ~ U(0, high) (the missing draw itself is predict_split's)."""
    rng = np.random.default_rng(10_007 + seed)
    return rng.uniform(0.0, high, (n, m)), rng.uniform(0.0, high, (n, m))


def predict_mixture(model: torch.nn.Module, split: TensorSplit, *, sigma_ref: dict[str, torch.Tensor],
                    seed: int = 0) -> Predictions:
    """`split` under the stochastic mixture drawn from `seed`: the same corruption for every model."""
    noise, missing_rate = mixture_levels(len(split), len(model.config.modalities), seed)
    return predict_split(model, split, sigma_ref=sigma_ref, noise=noise, missing_rate=missing_rate, seed=seed)
