"""Training objective: heteroscedastic NLL (Eq. 10) plus the experts' load-balance term."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from qamoe.config import QAMoEConfig
from qamoe.model import QAMoEOutput
from qamoe.moe import load_balance_loss


def heteroscedastic_nll(prediction: torch.Tensor, log_variance: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 10: mean_i ( exp(-s_i) (y_i - y_hat_i)^2 / 2 + s_i / 2 ). All inputs (B,)."""
    return (0.5 * torch.exp(-log_variance) * (target - prediction) ** 2 + 0.5 * log_variance).mean()


def attenuated_loss(per_sample_loss: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """mean_i exp(-s_i) * loss_i + s_i / 2: Eq. 10 when loss_i = (y_i - y_hat_i)^2 / 2, and its
    classification analogue when loss_i is a cross-entropy (Kendall and Gal's loss attenuation)."""
    return (torch.exp(-log_variance) * per_sample_loss + 0.5 * log_variance).mean()


def unimodal_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> torch.Tensor:
    """Each modality's own prediction under its own variance (the self-supervised reliability)."""
    terms = []
    if not output.unimodal_prediction:  # a method without unimodal predictions (e.g. a baseline)
        return torch.zeros((), device=target.device)
    for name, pred in output.unimodal_prediction.items():
        if config.num_classes:
            per_sample = F.cross_entropy(pred, target, reduction="none")
        else:
            per_sample = 0.5 * (target - pred) ** 2
        if config.heteroscedastic:
            terms.append(attenuated_loss(per_sample, output.unimodal_log_variance[name]))
        else:
            terms.append(per_sample.mean())
    return torch.stack(terms).mean()


def task_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> torch.Tensor:
    """The main loss for the config's task and ablations; target (B,) float, or (B,) class ids."""
    if config.num_classes:
        return F.cross_entropy(output.prediction, target)
    if config.heteroscedastic:
        return heteroscedastic_nll(output.prediction, output.log_variance, target)
    return F.mse_loss(output.prediction, target)


def total_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> tuple[torch.Tensor, dict]:
    """task loss + load-balance term + unimodal reliability term (the last two averaged over modalities)."""
    main = task_loss(output, target, config)
    with_experts = [m for m in output.gates if output.gates[m].shape[-1]]  # methods without experts report (B, 0)
    balance = (
        torch.stack([load_balance_loss(output.gates[m], output.router_probs[m]) for m in with_experts]).mean()
        if with_experts else torch.zeros((), device=target.device)
    )
    loss = main + config.load_balance_weight * balance
    parts = {"task": float(main.detach()), "balance": float(balance.detach())}
    if config.unimodal_weight > 0:
        unimodal = unimodal_loss(output, target, config)
        loss = loss + config.unimodal_weight * unimodal
        parts["unimodal"] = float(unimodal.detach())
    return loss, parts
