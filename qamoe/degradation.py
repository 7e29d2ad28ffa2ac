"""Spectrum degradation (paper Eq. 2 and appendix A.1).

For every sample and modality:
  continuous (audio, vision): u + N(0, (lambda * sigma_ref)^2) on valid frames (Eq. 12)
  tokens (text): each valid token replaced by a zero vector with probability lambda (Eq. 13)
  then, with probability eta, the whole modality is missing: one zero frame (length 1), exactly what
  the live pipeline feeds for a modality with nothing in its window.

`lambda` and `eta` may be scalars (one value for the batch, as in training, Eq. 11) or (B, M) tensors
(one value per sample and modality, as in the mixture protocol). All randomness comes from the
generator passed in, so evaluation is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qamoe.config import TOKENS, ModalitySpec


@dataclass
class DegradedBatch:
    features: dict[str, torch.Tensor]  # name -> (B, T_m, d_m)
    lengths: dict[str, torch.Tensor]  # name -> (B,)
    missing: dict[str, torch.Tensor]  # name -> (B,) bool, True where the modality was dropped
    noise: dict[str, torch.Tensor]  # name -> (B,) lambda applied to that sample


def _per_sample(value: float | torch.Tensor, batch: int, column: int) -> torch.Tensor:
    """A scalar, (B,) or (B, M) level -> (B,) levels of modality `column`."""
    value = torch.as_tensor(value, dtype=torch.float32)
    if value.ndim == 0:
        return value.expand(batch)
    if value.ndim == 1:
        return value
    return value[:, column]


def degrade(
    features: dict[str, torch.Tensor],
    lengths: dict[str, torch.Tensor],
    *,
    modalities: tuple[ModalitySpec, ...],
    sigma_ref: dict[str, torch.Tensor],
    noise: float | torch.Tensor,
    missing_rate: float | torch.Tensor,
    generator: torch.Generator,
) -> DegradedBatch:
    """Returns new tensors; the inputs are left untouched. sigma_ref: name -> (d_m,)."""
    out_features, out_lengths, out_missing, out_noise = {}, {}, {}, {}
    for column, spec in enumerate(modalities):
        if spec.name not in features:
            continue
        x, n = features[spec.name], lengths[spec.name]
        b, t, _ = x.shape
        level = _per_sample(noise, b, column).to(x.device)  # (B,)
        eta = _per_sample(missing_rate, b, column).to(x.device)  # (B,)
        valid = (torch.arange(t, device=x.device)[None, :] < n[:, None])[..., None]  # (B, T, 1)
        if spec.kind == TOKENS:
            drop = torch.rand(b, t, 1, generator=generator).to(x.device) < level[:, None, None]
            x = x.masked_fill(drop & valid, 0.0)
        else:
            eps = torch.randn(x.shape, generator=generator).to(x.device)
            x = x + eps * sigma_ref[spec.name].to(x.device) * level[:, None, None] * valid
        gone = torch.rand(b, generator=generator).to(x.device) < eta  # (B,)
        x = x.masked_fill(gone[:, None, None], 0.0)
        n = torch.where(gone, torch.ones_like(n), n)
        out_features[spec.name], out_lengths[spec.name] = x, n
        out_missing[spec.name], out_noise[spec.name] = gone, level
    return DegradedBatch(out_features, out_lengths, out_missing, out_noise)


def remove_modalities(batch: DegradedBatch, names: set[str] | frozenset[str]) -> DegradedBatch:
    """Marks the named modalities missing for every sample (Protocol I fixed subsets)."""
    features, lengths, missing = dict(batch.features), dict(batch.lengths), dict(batch.missing)
    for name in names:
        if name in features:
            features[name] = torch.zeros_like(features[name])
            lengths[name] = torch.ones_like(lengths[name])
            missing[name] = torch.ones_like(missing[name])
    return DegradedBatch(features, lengths, missing, dict(batch.noise))
