"""Sparse mixture of GLU experts with a top-k softmax router (paper 3.4.2)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class GLUExpert(nn.Module):
    """E(x) = W_o ((W_a x) * sigmoid(W_b x)): one gated linear unit. (B, d) -> (B, d)."""

    def __init__(self, d_model: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.value = nn.Linear(d_model, hidden)
        self.gate = nn.Linear(d_model, hidden)
        self.out = nn.Linear(hidden, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.value(x) * torch.sigmoid(self.gate(x))))


class TopKRouter(nn.Module):
    """g = softmax(W_g x); keeps the k largest weights, renormalised to sum to 1.

    x (B, in_features) is what the router reads: mu_m, or [mu_m, log sigma^2_m] when the router is
    quality-aware. Returns (gates, probs): gates (B, N) with exactly k non-zeros per row, probs (B, N)
    the dense softmax the load-balance loss needs.
    """

    def __init__(self, in_features: int, num_experts: int, top_k: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, num_experts, bias=False)
        self.top_k = top_k

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = F.softmax(self.proj(x), dim=-1)  # (B, N)
        top_vals, top_idx = probs.topk(self.top_k, dim=-1)  # (B, k)
        top_vals = top_vals / top_vals.sum(dim=-1, keepdim=True)
        gates = torch.zeros_like(probs).scatter(-1, top_idx, top_vals)  # (B, N)
        return gates, probs


class MixtureOfExperts(nn.Module):
    """sum_i g_i(x) E_i(x) over the k selected experts.

    Only the selected experts run on each sample, so active compute is k/N of the bank.
    """

    def __init__(self, *, router: TopKRouter, experts: nn.ModuleList) -> None:
        super().__init__()
        self.router = router
        self.experts = experts

    def forward(
        self, x: torch.Tensor, route: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, d), route: (B, d_r) what the router reads (default x) -> (out (B, d), gates (B, N), probs (B, N))."""
        gates, probs = self.router(x if route is None else route)
        out = torch.zeros_like(x)
        for i, expert in enumerate(self.experts):
            rows = gates[:, i].nonzero(as_tuple=True)[0]
            if rows.numel():
                # under autocast the router's softmax runs in float32 while x and the experts run in
                # bf16/fp16; index_add needs one dtype, so the weighted output takes the buffer's
                out = out.index_add(0, rows, (gates[rows, i, None] * expert(x[rows])).to(out.dtype))
        return out, gates, probs


def load_balance_loss(gates: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Switch-Transformer auxiliary loss N * sum_i f_i P_i; equals 1 when routing is uniform.

    f_i: fraction of (sample, slot) assignments that went to expert i; P_i: mean router probability.
    """
    num_experts = probs.shape[-1]
    assigned = (gates > 0).float()  # (B, N)
    fraction = assigned.sum(0) / assigned.sum().clamp_min(1.0)
    return num_experts * (fraction * probs.mean(0)).sum()
