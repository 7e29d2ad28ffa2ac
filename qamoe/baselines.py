"""Baselines in the same harness as QA-MoE: same config, same inputs, same output, same training,
degradation and seeds (paper section 4 compares against these families).

- `late-fusion`: one temporal encoder and one predictor per modality; the prediction is a learned,
  input-independent weighted average of the unimodal predictions (decision-level fusion).
- `mult`: a MulT-style cross-modal transformer (Tsai et al., 2019): every modality attends to every
  other through cross-modal attention blocks, then self-attention over its own cross-modal stream;
  the pooled streams are concatenated and read out.
- `topk-moe`: QA-MoE's encoders and a plain sparse top-k mixture of GLU experts per modality, with
  no variance, no quality score, no quality gating and no prior: what is left of QA-MoE without
  quality awareness.

They pool their streams over time by the mean, as their designs do; with the config's
`baseline_max_pooling` they pool by mean and max as QA-MoE does (`ClipPool`), so a comparison can
isolate quality awareness from pooling (variants `late-fusion-maxpool`, `mult-maxpool`, `topk-moe-maxpool`).

None of them has a reliability score, so each reports r_m = 1 (documented in the registry). Methods
without experts report (B, 0) gates, which the load-balance loss ignores; a method without
unimodal predictions leaves those dicts empty. Their log variance is zero, so under the default
heteroscedastic objective they train on 0.5 * MSE (the same optimum as MSE under Adam).

A new method joins by registering one class the same way (see qamoe/registry.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from qamoe.config import QAMoEConfig
from qamoe.model import QAMoEOutput, TemporalEncoder, masked_mean, modality_inputs, sinusoidal_positions
from qamoe.moe import GLUExpert, MixtureOfExperts, TopKRouter
from qamoe.registry import register_model


def _no_quality_output(config: QAMoEConfig, prediction, batch: int, device, gates=None, probs=None, uni=None):
    names = config.modality_names
    ones = {m: torch.ones(batch, device=device) for m in names}
    empty = {m: torch.zeros(batch, 0, device=device) for m in names}
    return QAMoEOutput(
        prediction=prediction,
        log_variance=torch.zeros(batch, device=device),
        reliability=ones,
        gates=gates if gates is not None else empty,
        router_probs=probs if probs is not None else dict(empty),
        unimodal_prediction=uni or {},
        unimodal_log_variance={},
    )


class ClipPool(nn.Module):
    """(B, T, d) states -> (B, d): the masked mean, or with `max_pooling` the mean and max of the valid
    frames projected back to d (QA-MoE's mu pooling, Eq. 4's input)."""

    def __init__(self, d: int, max_pooling: bool) -> None:
        super().__init__()
        self.project = nn.Linear(2 * d, d) if max_pooling else None

    def forward(self, h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        pooled = masked_mean(h, valid)  # (B, d)
        if self.project is None:
            return pooled
        peak = h.masked_fill(~valid[..., None], float("-inf")).amax(1)  # (B, d)
        return self.project(torch.cat([pooled, peak], -1))


def _squeeze(config: QAMoEConfig, y: torch.Tensor) -> torch.Tensor:
    return y if config.num_classes else y.squeeze(-1)


@register_model("late-fusion")
class LateFusion(nn.Module):
    """Decision-level fusion: y = sum_m softmax(w)_m * y_m, y_m from modality m alone."""

    def __init__(self, config: QAMoEConfig) -> None:
        super().__init__()
        self.config = config
        d, out = config.d_model, config.num_classes or 1
        self.encoders = nn.ModuleDict({m.name: TemporalEncoder(m.dim, config) for m in config.modalities})
        self.pool = nn.ModuleDict({m.name: ClipPool(d, config.baseline_max_pooling) for m in config.modalities})
        self.heads = nn.ModuleDict(
            {
                m.name: nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, out))
                for m in config.modalities
            }
        )
        self.weights = nn.Parameter(torch.zeros(len(config.modalities)))

    def forward(self, features, lengths) -> QAMoEOutput:
        device = self.weights.device
        preds = {}
        for spec, x, valid in modality_inputs(self.config, features, lengths, device):
            h = self.pool[spec.name](self.encoders[spec.name](x, valid), valid)  # (B, d)
            preds[spec.name] = self.heads[spec.name](h)  # (B, out)
        stacked = torch.stack([preds[m] for m in self.config.modality_names], dim=0)  # (M, B, out)
        weights = torch.softmax(self.weights, 0)[:, None, None]
        prediction = _squeeze(self.config, (weights * stacked).sum(0))
        batch = prediction.shape[0]
        return _no_quality_output(self.config, prediction, batch, device)


class CrossModalBlock(nn.Module):
    """Pre-norm cross-modal attention (queries from the target, keys/values from the source) + FFN."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ff = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attention = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * d, d))

    def forward(self, target, source, source_valid):
        kv = self.norm_kv(source)
        attended, _ = self.attention(self.norm_q(target), kv, kv, key_padding_mask=~source_valid, need_weights=False)
        target = target + attended
        return target + self.ff(self.norm_ff(target))


@register_model("mult")
class MulTStyle(nn.Module):
    """Cross-modal transformer after MulT: for each target modality, one cross-modal block per source
    modality (source -> target), the streams concatenated and passed through self-attention, pooled
    over the target's valid frames; the pooled vectors of all targets are fused by an MLP."""

    def __init__(self, config: QAMoEConfig) -> None:
        super().__init__()
        self.config = config
        d, out = config.d_model, config.num_classes or 1
        names = config.modality_names
        # temporal 1-D convolution as MulT's input projection
        self.proj = nn.ModuleDict({m.name: nn.Conv1d(m.dim, d, kernel_size=3, padding=1) for m in config.modalities})
        self.cross = nn.ModuleDict(
            {
                f"{src}_to_{tgt}": CrossModalBlock(d, config.encoder_heads, config.dropout)
                for tgt in names
                for src in names
                if src != tgt
            }
        )
        n_sources = max(1, len(names) - 1)
        self.stream_dim = n_sources * d
        heads = config.encoder_heads
        layer = nn.TransformerEncoderLayer(
            self.stream_dim, heads, dim_feedforward=2 * d, dropout=config.dropout, batch_first=True, norm_first=True
        )
        self.self_attention = nn.ModuleDict(
            {m: nn.TransformerEncoder(layer, config.encoder_layers, enable_nested_tensor=False) for m in names}
        )
        self.pool = nn.ModuleDict({m: ClipPool(self.stream_dim, config.baseline_max_pooling) for m in names})
        self.readout = nn.Sequential(
            nn.Linear(len(names) * self.stream_dim, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, out)
        )

    def forward(self, features, lengths) -> QAMoEOutput:
        device = next(self.parameters()).device
        d = self.config.d_model
        states, valids = {}, {}
        for spec, x, valid in modality_inputs(self.config, features, lengths, device):
            x = x * valid[..., None]  # padding must not leak into the last valid frames through the kernel
            h = self.proj[spec.name](x.transpose(1, 2)).transpose(1, 2)  # (B, T, d)
            h = (h + sinusoidal_positions(h.shape[1], d, h.device)) * valid[..., None]
            states[spec.name], valids[spec.name] = h, valid
        names = self.config.modality_names
        pooled = []
        for tgt in names:
            sources = [s for s in names if s != tgt]
            if sources:
                streams = [self.cross[f"{s}_to_{tgt}"](states[tgt], states[s], valids[s]) for s in sources]
                stream = torch.cat(streams, dim=-1)  # (B, T_tgt, (M-1) d)
            else:
                stream = states[tgt]
            stream = self.self_attention[tgt](stream, src_key_padding_mask=~valids[tgt])
            pooled.append(self.pool[tgt](stream, valids[tgt]))  # (B, (M-1) d)
        prediction = _squeeze(self.config, self.readout(torch.cat(pooled, dim=-1)))
        return _no_quality_output(self.config, prediction, prediction.shape[0], device)


@register_model("topk-moe")
class TopKMoE(nn.Module):
    """QA-MoE's encoders and top-k GLU experts without any quality awareness: y_m = sum_i g_i E_i(h_m)."""

    def __init__(self, config: QAMoEConfig) -> None:
        super().__init__()
        self.config = config
        d, out = config.d_model, config.num_classes or 1
        self.encoders = nn.ModuleDict({m.name: TemporalEncoder(m.dim, config) for m in config.modalities})
        self.pool = nn.ModuleDict({m.name: ClipPool(d, config.baseline_max_pooling) for m in config.modalities})
        self.moes = nn.ModuleDict(
            {
                m.name: MixtureOfExperts(
                    router=TopKRouter(d, config.num_experts, config.top_k),
                    experts=nn.ModuleList(
                        GLUExpert(d, config.expert_hidden, config.dropout) for _ in range(config.num_experts)
                    ),
                )
                for m in config.modalities
            }
        )
        n = len(config.modalities)
        self.fusion = nn.Sequential(nn.Linear(n * d, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, d))
        self.head = nn.Linear(d, out)

    def forward(self, features, lengths) -> QAMoEOutput:
        device = self.head.weight.device
        ys, gates, probs = [], {}, {}
        for spec, x, valid in modality_inputs(self.config, features, lengths, device):
            h = self.pool[spec.name](self.encoders[spec.name](x, valid), valid)  # (B, d)
            y, gates[spec.name], probs[spec.name] = self.moes[spec.name](h)
            ys.append(y)
        prediction = _squeeze(self.config, self.head(self.fusion(torch.cat(ys, dim=-1))))
        return _no_quality_output(self.config, prediction, prediction.shape[0], device, gates, probs)


BASELINES = ("late-fusion", "mult", "topk-moe")
