"""Training objective: heteroscedastic NLL (Eq. 10) plus the experts' load-balance term."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from qamoe.config import QAMoEConfig
from qamoe.model import QAMoEOutput
from qamoe.moe import load_balance_loss
from qamoe.reliability import consistency_loss


def heteroscedastic_nll(
    prediction: torch.Tensor, log_variance: torch.Tensor, target: torch.Tensor, beta: float = 0.0
) -> torch.Tensor:
    """Eq. 10: mean_i ( exp(-s_i) (y_i - y_hat_i)^2 / 2 + s_i / 2 ). All inputs (B,).

    beta > 0: beta-NLL (Seitzer et al., 2022), each term weighted by stop-grad(exp(s_i)^beta), so
    samples the model calls uncertain do not stop the mean from learning.
    """
    per_sample = 0.5 * torch.exp(-log_variance) * (target - prediction) ** 2 + 0.5 * log_variance
    if beta:
        per_sample = per_sample * torch.exp(beta * log_variance).detach()
    return per_sample.mean()


def attenuated_loss(per_sample_loss: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """mean_i exp(-s_i) * loss_i + s_i / 2: Eq. 10 when loss_i = (y_i - y_hat_i)^2 / 2, and its
    classification analogue when loss_i is a cross-entropy (Kendall and Gal's loss attenuation)."""
    return (torch.exp(-log_variance) * per_sample_loss + 0.5 * log_variance).mean()


def unimodal_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig, *, attenuated: bool = True) -> torch.Tensor:
    """Each modality's own prediction, under its own variance when `attenuated` (the "unimodal"
    reliability objective) or plainly (the probes of the "consistency" objective)."""
    terms = []
    if not output.unimodal_prediction:  # a method without unimodal predictions (e.g. a baseline)
        return torch.zeros((), device=target.device)
    for name, pred in output.unimodal_prediction.items():
        if config.num_classes:
            per_sample = F.cross_entropy(pred, target, reduction="none")
        else:
            per_sample = 0.5 * (target - pred) ** 2
        if attenuated and config.modality_variance:
            terms.append(attenuated_loss(per_sample, output.unimodal_log_variance[name]))
        else:
            terms.append(per_sample.mean())
    return torch.stack(terms).mean()


def task_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> torch.Tensor:
    """The main loss for the config's task and ablations; target (B,) float, or (B,) class ids."""
    if config.num_classes:
        return F.cross_entropy(output.prediction, target)
    if config.heteroscedastic:
        return heteroscedastic_nll(output.prediction, output.log_variance, target, config.beta_nll)
    return F.mse_loss(output.prediction, target)


def total_loss(
    output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig, reliability_targets: dict | None = None,
    probe_answers: dict | None = None,
) -> tuple[torch.Tensor, dict]:
    """task loss + load-balance term + the reliability objective (the last two averaged over modalities).

    reliability_targets: name -> (B,) r*_m from `qamoe.reliability.consistency_targets`, for the
    "consistency" objective (absent on clean batches, where there is nothing to learn quality from);
    probe_answers: name -> (B,) the probes' answers on the clean view of the batch.
    """
    main = task_loss(output, target, config)
    with_experts = [m for m in output.gates if output.gates[m].shape[-1]]  # methods without experts report (B, 0)
    balance = (
        torch.stack([load_balance_loss(output.gates[m], output.router_probs[m]) for m in with_experts]).mean()
        if with_experts else torch.zeros((), device=target.device)
    )
    loss = main + config.load_balance_weight * balance
    parts = {"task": float(main.detach()), "balance": float(balance.detach())}
    if config.reliability_objective == "unimodal" and config.unimodal_weight > 0:
        unimodal = unimodal_loss(output, target, config)
        loss = loss + config.unimodal_weight * unimodal
        parts["unimodal"] = float(unimodal.detach())
    if config.reliability_objective == "consistency" and output.unimodal_prediction:
        # the probes are fitted plainly, on the degraded view and on the clean one when there is one
        # (see qamoe/reliability.py)
        probes = unimodal_loss(output, target, config, attenuated=False)
        if probe_answers:
            clean = replace(output, unimodal_prediction=probe_answers)
            probes = 0.5 * (probes + unimodal_loss(clean, target, config, attenuated=False))
        loss = loss + config.unimodal_weight * probes
        parts["probes"] = float(probes.detach())
    if config.reliability_objective == "consistency" and reliability_targets and config.modality_variance:
        consistency = consistency_loss(output.unimodal_log_variance, reliability_targets)
        loss = loss + config.reliability_weight * consistency
        parts["consistency"] = float(consistency.detach())
    return loss, parts
