"""The label-free target that teaches sigma^2_m (hence r_m) what quality is.

Spectrum training holds both views of every sample: the clean features and their degraded copy.
Each modality also has a small probe, a linear head that reads the target from mu_m alone, fitted on
both views (fitted on the clean view alone it read the label well but broke at the slightest noise:
test MAE 0.73 against 0.51 after 10 epochs on the simulator, seed 1111). How far the probe's answer on the degraded view lands from its answer on the clean
view, against how much the clean answers spread over clips, is the share of the modality's signal
that the degradation destroyed:

    r*_m = clip(1 - (p_m(degraded) - p_m(clean))^2 / Var(p_m(clean)), 0, 1),   and 0 when m is missing

1 on clean input, 0 when nothing of the clip survives (the answer is as far off as another clip's), and in
between as noise, blur or dropped words take their toll. Var is a running mean over batches. The
quality head is fitted to r*_m with a binary cross-entropy on r_m (logit(1 - r_m) = log mean
sigma^2_m); both answers come from a no-grad pass in eval mode (stop-gradient). A first version
measured the distance between the two views' mu_m instead: mu_m carries the speaker as much as the
affect, so noise that destroyed the affect hardly moved it and every present input scored about 1.
At inference r_m reads the features alone; lambda and eta are never an input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ConsistencyTargets:
    """Computes r*_m for training batches; keeps the running spread of the clean answers."""

    def __init__(self, momentum: float = 0.05) -> None:
        self.momentum = momentum
        self.spread: dict[str, float] = {}

    @torch.no_grad()
    def __call__(
        self,
        model: torch.nn.Module,
        clean: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
        degraded: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
        missing: dict[str, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """name -> (B,) r*_m in [0, 1]. clean, degraded: (features, lengths); missing: name -> (B,) bool.

        `model` must have `encode` and `probe` (QA-MoE); its train/eval mode is restored afterwards.
        """
        was_training = model.training
        model.eval()
        try:
            clean_answer = model.probe(model.encode(*clean))  # name -> (B,) or (B, C)
            degraded_answer = model.probe(model.encode(*degraded))
        finally:
            model.train(was_training)
        targets = {}
        for name, reference in clean_answer.items():
            reference, answer = _as_points(reference), _as_points(degraded_answer[name])  # (B, k)
            spread = float(((reference - reference.mean(0)) ** 2).sum(-1).mean())
            previous = self.spread.get(name)
            self.spread[name] = spread if previous is None else (1 - self.momentum) * previous + self.momentum * spread
            lost = ((answer - reference) ** 2).sum(-1) / max(self.spread[name], 1e-8)
            target = (1.0 - lost).clamp(0.0, 1.0)
            targets[name] = target.masked_fill(missing[name].to(target.device), 0.0)
        return targets


def _as_points(answer: torch.Tensor) -> torch.Tensor:
    """(B,) regression answers or (B, C) class logits -> (B, k) points to measure distances between."""
    return answer[:, None].float() if answer.ndim == 1 else answer.float().softmax(-1)


def consistency_loss(log_mean_variance: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over modalities of BCE(r_m, r*_m), computed from logit(1 - r_m) = log mean sigma^2_m."""
    terms = [
        F.binary_cross_entropy_with_logits(log_mean_variance[name].float(), 1.0 - target)
        for name, target in targets.items()
    ]
    return torch.stack(terms).mean()
