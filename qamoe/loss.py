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


def task_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> torch.Tensor:
    """The main loss for the config's task and ablations; target (B,) float, or (B,) class ids."""
    if config.num_classes:
        return F.cross_entropy(output.prediction, target)
    if config.heteroscedastic:
        return heteroscedastic_nll(output.prediction, output.log_variance, target)
    return F.mse_loss(output.prediction, target)


def total_loss(output: QAMoEOutput, target: torch.Tensor, config: QAMoEConfig) -> tuple[torch.Tensor, dict]:
    """task loss + load_balance_weight * mean over modalities of the load-balance loss."""
    main = task_loss(output, target, config)
    balance = torch.stack([load_balance_loss(output.gates[m], output.router_probs[m]) for m in output.gates]).mean()
    loss = main + config.load_balance_weight * balance
    return loss, {"task": float(main.detach()), "balance": float(balance.detach())}
