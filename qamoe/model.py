"""QA-MoE (paper section 3.4): probabilistic encoders, quality scores, quality-aware MoE, fusion, heads.

Shapes: B batch, T_m frames of modality m, d_m its feature size, d = d_model, N experts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from qamoe.config import QAMoEConfig
from qamoe.moe import GLUExpert, MixtureOfExperts, TopKRouter
from qamoe.registry import register_model


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """(length, dim) fixed sinusoidal position table, so any window length works live."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


class TemporalEncoder(nn.Module):
    """(B, T, d_m) frames -> (B, T, d) contextual frame states: projection, positions, self-attention.

    Padded frames (index >= length) neither attend nor are attended to.
    """

    def __init__(self, in_dim: int, config: QAMoEConfig) -> None:
        super().__init__()
        d = config.d_model
        self.proj = nn.Linear(in_dim, d)
        layer = nn.TransformerEncoderLayer(
            d, config.encoder_heads, dim_feedforward=2 * d, dropout=config.dropout, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, config.encoder_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x: (B, T, d_m), valid: (B, T) bool -> (B, T, d)."""
        h = self.proj(x) + sinusoidal_positions(x.shape[1], self.proj.out_features, x.device)
        return self.layers(h, src_key_padding_mask=~valid)


def masked_mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, T, d) and (B, T) bool -> (B, d) mean over valid frames."""
    return (x * valid[..., None]).sum(1) / valid.sum(1, keepdim=True).clamp_min(1)


class ProbabilisticProjection(nn.Module):
    """Eq. 4-6 on every frame, then over the clip: mu = mean_t (W_mu h_t + b),
    sigma^2 = mean_t softplus(MLP(h_t)), r = 1 / (1 + mean_k sigma^2_k).

    The variance branch is the paper's two-layer "quality predictor". It reads each frame before
    pooling, so frame-level corruption that averages out of the mean still raises the variance.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.mean = nn.Linear(d_model, d_model)
        self.log_scale = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, d_model))

    def forward(self, h: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h: (B, T, d), valid: (B, T) bool -> mu (B, d), sigma2 (B, d), r (B,)."""
        mu = self.mean(masked_mean(h, valid))
        sigma2 = masked_mean(F.softplus(self.log_scale(h)), valid)
        r = 1.0 / (1.0 + sigma2.mean(-1))
        return mu, sigma2, r


class QualityAwareMoE(nn.Module):
    """Eq. 7: y_m = r_m * sum_i g_i(mu_m) E_i(mu_m) + (1 - r_m) * y_prior."""

    def __init__(self, *, moe: MixtureOfExperts, d_model: int, use_prior: bool) -> None:
        super().__init__()
        self.moe = moe
        self.prior = nn.Parameter(torch.zeros(d_model), requires_grad=use_prior)  # y_prior, (d,)

    def forward(self, mu: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """mu: (B, d), r: (B,) -> y (B, d), gates (B, N), router probs (B, N)."""
        expert_out, gates, probs = self.moe(mu)
        r = r[:, None]
        return r * expert_out + (1 - r) * self.prior, gates, probs


def batch_size(features: dict[str, torch.Tensor]) -> int:
    sizes = {x.shape[0] for x in features.values()}
    if len(sizes) != 1:
        raise ValueError(f"modalities disagree on batch size: {sorted(sizes)}" if sizes else "no modality given")
    return sizes.pop()


def modality_inputs(config: QAMoEConfig, features: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor], device):
    """Yields (spec, x (B, T_m, d_m), valid (B, T_m) bool) per modality of the config, after checking
    feature size and finiteness. A modality absent from `features` is one zero frame (missing)."""
    batch = batch_size(features)
    for spec in config.modalities:
        x = features.get(spec.name)
        if x is None:
            x = torch.zeros(batch, 1, spec.dim, device=device)
            n_frames = torch.ones(batch, dtype=torch.long, device=device)
        else:
            if x.shape[-1] != spec.dim:
                raise ValueError(f"modality {spec.name!r}: feature size {x.shape[-1]}, model expects {spec.dim}")
            if not torch.isfinite(x).all():
                raise ValueError(f"modality {spec.name!r}: features hold NaN or infinity")
            n_frames = lengths[spec.name]
        yield spec, x, torch.arange(x.shape[1], device=x.device)[None, :] < n_frames[:, None]


@dataclass
class QAMoEOutput:
    prediction: torch.Tensor  # (B,) sentiment, or (B, C) class logits
    log_variance: torch.Tensor  # (B,) s_final of Eq. 9 (zeros when heteroscedastic is off)
    reliability: dict[str, torch.Tensor]  # name -> (B,) r_m of Eq. 6 (ones without variance)
    gates: dict[str, torch.Tensor]  # name -> (B, N) sparse top-k weights
    router_probs: dict[str, torch.Tensor]  # name -> (B, N) dense softmax
    unimodal_prediction: dict[str, torch.Tensor]  # name -> (B,) or (B, C): the target from mu_m alone
    unimodal_log_variance: dict[str, torch.Tensor]  # name -> (B,) log mean_k sigma^2_{m,k}

    @property
    def std(self) -> torch.Tensor:
        """(B,) predictive standard deviation exp(s / 2)."""
        return torch.exp(0.5 * self.log_variance)


@register_model("qamoe")
class QAMoE(nn.Module):
    def __init__(self, config: QAMoEConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.encoders = nn.ModuleDict({m.name: TemporalEncoder(m.dim, config) for m in config.modalities})
        self.projections = nn.ModuleDict({m.name: ProbabilisticProjection(d) for m in config.modalities})
        self.experts = nn.ModuleDict(
            {
                m.name: QualityAwareMoE(
                    moe=MixtureOfExperts(
                        router=TopKRouter(d, config.num_experts, config.top_k),
                        experts=nn.ModuleList(
                            GLUExpert(d, config.expert_hidden, config.dropout) for _ in range(config.num_experts)
                        ),
                    ),
                    d_model=d,
                    use_prior=config.use_prior,
                )
                for m in config.modalities
            }
        )
        out_dim = config.num_classes if config.num_classes else 1
        self.unimodal_heads = nn.ModuleDict({m.name: nn.Linear(d, out_dim) for m in config.modalities})
        n = len(config.modalities)
        self.fusion = nn.Sequential(nn.Linear(n * d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, d))
        self.value_head = nn.Linear(d, out_dim)  # Eq. 8
        self.log_variance_head = nn.Linear(d, 1) if config.heteroscedastic and not config.num_classes else None  # Eq. 9

    def forward(self, features: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> QAMoEOutput:
        """features: name -> (B, T_m, d_m); lengths: name -> (B,).

        A modality of the config that is absent from `features` is missing for the whole batch:
        it reads as one zero frame, exactly like a zeroed modality under Protocol I.
        """
        batch = batch_size(features)
        device = next(self.parameters()).device
        ys, reliability, gates, probs, uni_pred, uni_logvar = [], {}, {}, {}, {}, {}
        for spec, x, valid in modality_inputs(self.config, features, lengths, device):
            h = self.encoders[spec.name](x, valid)  # (B, T, d)
            mu, sigma2, r = self.projections[spec.name](h, valid)  # (B, d), (B, d), (B,)
            if not self.config.heteroscedastic:  # the mean vector alone
                sigma2, r = torch.zeros_like(sigma2), torch.ones_like(r)
            uni_pred[spec.name] = self.unimodal_heads[spec.name](mu).squeeze(-1)
            uni_logvar[spec.name] = torch.log(sigma2.mean(-1).clamp_min(1e-12))
            gate = r if self.config.quality_gating else torch.ones_like(r)
            y, gates[spec.name], probs[spec.name] = self.experts[spec.name](mu, gate)
            ys.append(y)
            reliability[spec.name] = r
        h_final = self.fusion(torch.cat(ys, dim=-1))  # (B, d)
        prediction = self.value_head(h_final)
        if not self.config.num_classes:
            prediction = prediction.squeeze(-1)
        if self.log_variance_head is not None:
            log_variance = self.log_variance_head(h_final).squeeze(-1)
        else:
            log_variance = torch.zeros(batch, device=device)
        return QAMoEOutput(prediction, log_variance, reliability, gates, probs, uni_pred, uni_logvar)
