"""Runs a QA-MoE checkpoint on one set of raw modality features and says what it predicts.

The engine normalises each present modality's (T, d) features with the checkpoint's training
statistics, leaves missing modalities out of the input dict (QA-MoE reads an absent modality as
missing) and returns the sentiment, its standard deviation, r_m per modality and the top experts of
each modality's router. The live pipeline (its windows), `Predictor` (whole clips) and the
benchmarks all call it; it knows nothing about where the features came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from qamoe.reliability_scale import ReliabilityScale
from qamoe.variance_scale import VarianceScale
from qamoe.checkpoint import Checkpoint

NEUTRAL_BAND = 0.5  # |sentiment| below this reads as neutral (rounds to 0 on the 7-class scale)


def sentiment_label(value: float) -> str:
    """'negative' / 'neutral' / 'positive' for a score on the -3..+3 scale."""
    if value <= -NEUTRAL_BAND:
        return "negative"
    if value >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


@dataclass(frozen=True)
class Inference:
    sentiment: float  # -3..+3 (clipped)
    std: float  # calibrated predictive standard deviation: exp(s / 2) x sqrt(the checkpoint's variance scale)
    reliability: dict[str, float]  # r_m in [0, 1] per modality, on the checkpoint's reliability scale when it has one (0 there when missing)
    top_experts: dict[str, list[tuple[int, float]]]  # modality -> [(expert index, gate weight)], largest first
    raw_std: float = 0.0  # exp(s / 2), before the variance scale


class InferenceEngine:
    """One checkpoint, batch size 1, no gradients. `modalities` are the names the model reads."""

    def __init__(self, checkpoint: Checkpoint, *, feature_map: Callable[[str, np.ndarray], np.ndarray] | None = None,
                 device: str = "cpu") -> None:
        """feature_map(modality, raw (T, d)) -> raw (T, d): a device profile's correction, applied
        before the checkpoint's own normalisation (qamoe.calibration.profile); device: cpu, cuda
        (an error without a usable GPU) or auto. The model runs in float32 on either."""
        from qamoe.distributed import resolve_device  # noqa: PLC0415

        self.device = resolve_device(device)
        if self.device.type != "cpu":
            checkpoint.model.to(self.device)
        self.checkpoint = checkpoint
        self.feature_map = feature_map
        self.variance_scale = VarianceScale.from_extra(checkpoint.extra)  # validation-fitted; 1 when it has none
        self.reliability_scale = ReliabilityScale.from_extra(checkpoint.extra)  # one scale for every modality
        self.model = checkpoint.model.eval()
        self.config = checkpoint.config
        if self.config.num_classes:
            raise ValueError("the live pipeline shows sentiment: it needs a regression checkpoint (num_classes = 0)")
        self.modalities = self.config.modality_names
        self.dims = {m.name: m.dim for m in self.config.modalities}

    def _reported(self, name: str, r: float, given: bool) -> float:
        """r_m as shown: on the checkpoint's reliability scale when it has one, where a modality without
        input reads 0 (nothing of it is left; the map, fitted on present inputs, would read its zero
        frame's r_m as the lowest present one); without a scale, as the model gives it."""
        if not self.reliability_scale.fitted:
            return r
        return float(self.reliability_scale.apply(name, r)) if given else 0.0

    @torch.inference_mode()
    def infer(self, present: Mapping[str, np.ndarray]) -> Inference:
        """present: modality -> raw (T, d) float32 features, T >= 1; a modality left out is missing."""
        features, lengths = {}, {}
        for name in self.modalities:
            values = present.get(name)
            if values is None:
                continue
            values = values if self.feature_map is None else self.feature_map(name, values)
            normalised = self.checkpoint.stats[name].normalize(values)  # (T, d)
            features[name] = torch.from_numpy(normalised).unsqueeze(0).to(self.device)  # (1, T, d)
            lengths[name] = torch.tensor([normalised.shape[0]], device=self.device)
        if not features:  # everything missing: the model still answers (its prior), batch size 1
            first = self.config.modalities[0]
            features[first.name] = torch.zeros(1, 1, first.dim, device=self.device)
            lengths[first.name] = torch.tensor([1], device=self.device)
        out = self.model(features, lengths)
        top = {}
        for name, gates in out.gates.items():
            weights, index = gates[0].topk(self.config.top_k)
            top[name] = [(int(i), round(float(w), 4)) for w, i in zip(weights, index, strict=True)]
        return Inference(
            sentiment=float(out.prediction[0].clamp(-3, 3)),
            std=float(self.variance_scale.std(out.log_variance[:1].cpu().numpy())[0]),
            reliability={name: self._reported(name, float(r[0]), present.get(name) is not None) for name, r in out.reliability.items()},
            top_experts=top,
            raw_std=float(out.std[0]),
        )
