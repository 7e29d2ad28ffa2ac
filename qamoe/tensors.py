"""A split as normalised torch tensors, cut into mini-batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qamoe.dataset import SplitData
from qamoe.feature_stats import FeatureStats


@dataclass
class Batch:
    features: dict[str, torch.Tensor]  # name -> (B, T_m, d_m), normalised
    lengths: dict[str, torch.Tensor]  # name -> (B,)
    labels: torch.Tensor  # (B,) float sentiment or long class ids
    index: torch.Tensor  # (B,) positions of these samples in the split

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(
            {k: v.to(device) for k, v in self.features.items()},
            {k: v.to(device) for k, v in self.lengths.items()},
            self.labels.to(device),
            self.index,
        )


class TensorSplit:
    """Holds one split, normalised with the training statistics, ready to batch."""

    def __init__(self, split: SplitData, stats: dict[str, FeatureStats]) -> None:
        self.features = {
            name: torch.from_numpy(stats[name].normalize(data.features, data.lengths))
            for name, data in split.modalities.items()
        }
        self.lengths = {name: torch.from_numpy(data.lengths) for name, data in split.modalities.items()}
        labels = torch.from_numpy(np.asarray(split.labels))
        self.labels = labels.long() if labels.dtype in (torch.int32, torch.int64) else labels.float()
        self.ids = split.ids

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: torch.Tensor) -> Batch:
        """The samples at `index`, padded only to the longest of them (padding is masked anyway)."""
        lengths = {k: v[index] for k, v in self.lengths.items()}
        features = {k: v[index, : int(lengths[k].max())] for k, v in self.features.items()}
        return Batch(features, lengths, self.labels[index], index)

    def batches(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None):
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            yield self.batch(order[start : start + batch_size])
