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
        self.clip_contrast = config.clip_contrast
        self.proj = nn.Linear(2 * in_dim if config.clip_contrast else in_dim, d)
        layer = nn.TransformerEncoderLayer(
            d, config.encoder_heads, dim_feedforward=2 * d, dropout=config.dropout, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, config.encoder_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x: (B, T, d_m), valid: (B, T) bool -> (B, T, d)."""
        if self.clip_contrast:  # [x_t, (x_t - mean_t x) / std_t x]: the clip's own baseline and scale removed
            mean = masked_mean(x, valid)  # (B, d_m)
            contrast = (x - mean[:, None]) / (masked_std(x, valid, mean)[:, None] + 0.1)
            x = torch.cat([x, contrast * valid[..., None]], dim=-1)
        h = self.proj(x) + sinusoidal_positions(x.shape[1], self.proj.out_features, x.device)
        return self.layers(h, src_key_padding_mask=~valid)


def masked_mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, T, d) and (B, T) bool -> (B, d) mean over valid frames."""
    return (x * valid[..., None]).sum(1) / valid.sum(1, keepdim=True).clamp_min(1)


def masked_std(x: torch.Tensor, valid: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(B, T, d), (B, T) bool and its (B, d) masked mean -> (B, d) std over valid frames."""
    return masked_mean((x - mean[:, None]) ** 2, valid).clamp_min(1e-8).sqrt()


def clip_summary(h: torch.Tensor, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """What the quality head reads about a clip: (B, 2 d + 2 d_m + 2).

    Mean and spread over the valid frames of the encoder states h (B, T, d) and of the normalised
    input x (B, T, d_m) (noise widens the spread of the input, a missing or dropped frame is all zeros),
    the share of valid frames that are exactly zero (dropped tokens, dead frames) and log(1 + length).
    """
    h_mean, x_mean = masked_mean(h, valid), masked_mean(x, valid)
    zero = (x == 0).all(-1) & valid  # (B, T)
    n_valid = valid.sum(1, keepdim=True).float()  # (B, 1)
    return torch.cat(
        [h_mean, masked_std(h, valid, h_mean), x_mean, masked_std(x, valid, x_mean),
         zero.sum(1, keepdim=True) / n_valid.clamp_min(1), torch.log1p(n_valid)], dim=-1
    )


class ProbabilisticProjection(nn.Module):
    """Eq. 4-6: mu = W_mu mean_t h_t + b, sigma^2 = softplus(quality head), r = 1 / (1 + mean_k sigma^2_k).

    pooling "clip": the quality head (the paper's two-layer "quality predictor") reads one summary of
    the whole clip (`clip_summary`), so sigma^2 is a property of the clip, not an average of frames;
    "frames": it reads every frame state and sigma^2 is the mean over frames (the first version).
    """

    def __init__(self, d_model: int, in_dim: int, pooling: str = "clip", max_pooling: bool = False) -> None:
        super().__init__()
        self.pooling = pooling
        self.max_pooling = max_pooling
        self.mean = nn.Linear(2 * d_model if max_pooling else d_model, d_model)
        head_in = 2 * d_model + 2 * in_dim + 2 if pooling == "clip" else d_model
        self.log_scale = nn.Sequential(nn.Linear(head_in, d_model), nn.GELU(), nn.Linear(d_model, d_model))

    def forward(
        self, h: torch.Tensor, x: torch.Tensor, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h: (B, T, d), x: (B, T, d_m) input, valid: (B, T) bool -> mu (B, d), sigma2 (B, d), r (B,)."""
        pooled = masked_mean(h, valid)  # (B, d)
        if self.max_pooling:  # (B, 2d): a short burst survives the max where the mean dilutes it
            pooled = torch.cat([pooled, h.masked_fill(~valid[..., None], float("-inf")).amax(1)], -1)
        mu = self.mean(pooled)
        if self.pooling == "clip":
            sigma2 = F.softplus(self.log_scale(clip_summary(h, x, valid)))
        else:
            sigma2 = masked_mean(F.softplus(self.log_scale(h)), valid)
        sigma2 = sigma2.clamp_min(1e-6)  # r stays below 1, so log(1 - r) stays finite
        r = 1.0 / (1.0 + sigma2.mean(-1))
        return mu, sigma2, r


class QualityAwareMoE(nn.Module):
    """Eq. 7: y_m = r_m * sum_i g_i(mu_m) E_i(mu_m) + (1 - r_m) * y_prior."""

    def __init__(self, *, moe: MixtureOfExperts, d_model: int, use_prior: bool) -> None:
        super().__init__()
        self.moe = moe
        self.prior = nn.Parameter(torch.zeros(d_model), requires_grad=use_prior)  # y_prior, (d,)

    def forward(
        self, mu: torch.Tensor, r: torch.Tensor, route: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """mu: (B, d), r: (B,), route: (B, d_r) router input (default mu) -> y (B, d), gates (B, N), probs (B, N)."""
        expert_out, gates, probs = self.moe(mu, route)
        r = r[:, None].to(expert_out.dtype)
        return r * expert_out + (1 - r) * self.prior.to(expert_out.dtype), gates, probs


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
class ModalityEncoding:
    """One modality of a batch after Eq. 3-6."""

    mu: torch.Tensor  # (B, d)
    sigma2: torch.Tensor  # (B, d); zeros without modality variance
    reliability: torch.Tensor  # (B,) r_m; ones without modality variance

    @property
    def log_mean_variance(self) -> torch.Tensor:
        """(B,) log mean_k sigma^2_k, i.e. logit(1 - r_m)."""
        return torch.log(self.sigma2.mean(-1).clamp_min(1e-12))


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
        route_dim = 2 * d if self.routes_on_quality else d
        self.encoders = nn.ModuleDict({m.name: TemporalEncoder(m.dim, config) for m in config.modalities})
        self.projections = nn.ModuleDict(
            {m.name: ProbabilisticProjection(d, m.dim, config.variance_pooling, config.max_pooling) for m in config.modalities}
        )
        self.experts = nn.ModuleDict(
            {
                m.name: QualityAwareMoE(
                    moe=MixtureOfExperts(
                        router=TopKRouter(route_dim, config.num_experts, config.top_k),
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
        if config.reliability_objective in ("unimodal", "consistency"):  # the consistency target's probes
            self.unimodal_heads = nn.ModuleDict({m.name: nn.Linear(d, out_dim) for m in config.modalities})
        n = len(config.modalities)
        self.fusion = nn.Sequential(nn.Linear(n * d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, d))
        self.value_head = nn.Linear(d, out_dim)  # Eq. 8
        self.log_variance_head = nn.Linear(d, 1) if config.heteroscedastic and not config.num_classes else None  # Eq. 9

    @property
    def routes_on_quality(self) -> bool:
        return self.config.router_quality and self.config.modality_variance

    def encode(self, features: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> dict[str, ModalityEncoding]:
        """Eq. 3-6 for every modality of the config: name -> ModalityEncoding. A modality absent from
        `features` is missing for the whole batch (one zero frame, exactly like Protocol I)."""
        device = next(self.parameters()).device
        encodings = {}
        for spec, x, valid in modality_inputs(self.config, features, lengths, device):
            h = self.encoders[spec.name](x, valid)  # (B, T, d)
            mu, sigma2, r = self.projections[spec.name](h, x, valid)  # (B, d), (B, d), (B,)
            if not self.config.modality_variance:  # the mean vector alone
                sigma2, r = torch.zeros_like(sigma2), torch.ones_like(r)
            encodings[spec.name] = ModalityEncoding(mu, sigma2, r)
        return encodings

    def probe(self, encodings: dict[str, ModalityEncoding]) -> dict[str, torch.Tensor]:
        """name -> (B,) or (B, C): each modality's own answer from mu_m (empty without probes)."""
        if not hasattr(self, "unimodal_heads"):
            return {}
        return {name: self.unimodal_heads[name](enc.mu).squeeze(-1) for name, enc in encodings.items()}

    def forward(self, features: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> QAMoEOutput:
        """features: name -> (B, T_m, d_m); lengths: name -> (B,)."""
        batch = batch_size(features)
        encodings = self.encode(features, lengths)
        ys, gates, probs = [], {}, {}
        uni_pred = self.probe(encodings)
        for name, enc in encodings.items():
            gate = enc.reliability if self.config.gate_gradient else enc.reliability.detach()
            if not self.config.quality_gating:
                gate = torch.ones_like(gate)
            route = torch.cat([enc.mu, torch.log(enc.sigma2)], -1) if self.routes_on_quality else None  # (B, 2d)
            y, gates[name], probs[name] = self.experts[name](enc.mu, gate, route)  # (B, d)
            ys.append(y)
        if self.config.reliability_fusion:  # M * r_m / sum_m r_m: modalities share the fusion by reliability
            r = torch.stack([enc.reliability for enc in encodings.values()], -1)  # (B, M)
            weights = r.shape[-1] * r / r.sum(-1, keepdim=True).clamp_min(1e-6)
            ys = [y * weights[:, i, None].to(y.dtype) for i, y in enumerate(ys)]
        h_final = self.fusion(torch.cat(ys, dim=-1))  # (B, d)
        prediction = self.value_head(h_final)
        if not self.config.num_classes:
            prediction = prediction.squeeze(-1)
        if self.log_variance_head is not None:
            log_variance = self.log_variance_head(h_final).squeeze(-1)
        else:
            log_variance = torch.zeros(batch, device=prediction.device)
        reliability = {name: enc.reliability for name, enc in encodings.items()}
        uni_logvar = {name: enc.log_mean_variance for name, enc in encodings.items()}
        return QAMoEOutput(prediction, log_variance, reliability, gates, probs, uni_pred, uni_logvar)
