"""In-memory multimodal data sets: padded feature sequences, lengths and labels per split.

Every data source (the simulator, the MMSA pickles, extracted shards) produces a `MultimodalDataset`,
so training, evaluation and the protocols never care where the features came from. `pool_frames` is
the one rule that shortens a long feature sequence (extracted shards, the built data sets, the live
window all use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qamoe.errors import DataError  # noqa: F401 - defined there, raised and imported from here too

SPLITS = ("train", "valid", "test")


def pool_frames(values: np.ndarray, max_frames: int) -> np.ndarray:
    """(T, d) float -> (min(T, max_frames), d) of the same dtype: averages runs of consecutive frames
    (contiguous, near-equal bins) when T is larger; a sequence that fits is returned as it is."""
    t = len(values)
    if t <= max_frames:
        return values
    edges = np.linspace(0, t, max_frames + 1).round().astype(int)
    return (np.add.reduceat(values, edges[:-1], axis=0) / np.diff(edges)[:, None]).astype(values.dtype)




@dataclass
class ModalityData:
    """One modality of one split.

    features: (N, T, d) float32, zero-padded after `lengths[i]` frames.
    lengths:  (N,) int64, number of valid frames per sample (>= 1).
    """

    features: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, dtype=np.float32)
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        if self.features.ndim != 3:
            raise DataError(f"features must be (N, T, d), got shape {self.features.shape}")
        n, t, _ = self.features.shape
        if self.lengths.shape != (n,):
            raise DataError(f"lengths must be ({n},), got shape {self.lengths.shape}")
        if n and (self.lengths.min() < 1 or self.lengths.max() > t):
            raise DataError(f"lengths must lie in [1, {t}], got [{self.lengths.min()}, {self.lengths.max()}]")
        if not np.isfinite(self.features).all():
            raise DataError("features hold NaN or infinity; clean them (e.g. np.nan_to_num) before use")

    @classmethod
    def from_sequences(cls, sequences: list[np.ndarray], dim: int) -> "ModalityData":
        """Zero-pads (T_i, dim) sequences into one (N, max T_i, dim) block; an empty sequence becomes
        one zero frame (length 1), which is how a missing modality reads."""
        lengths = np.array([max(1, len(s)) for s in sequences], np.int64)
        features = np.zeros((len(sequences), int(lengths.max()), dim), np.float32)
        for i, s in enumerate(sequences):
            features[i, : len(s)] = s
        return cls(features, lengths)

    @property
    def dim(self) -> int:
        return int(self.features.shape[2])

    @property
    def max_len(self) -> int:
        return int(self.features.shape[1])

    def mask(self) -> np.ndarray:
        """(N, T) bool, True on valid frames."""
        return np.arange(self.max_len)[None, :] < self.lengths[:, None]

    def take(self, index: np.ndarray) -> "ModalityData":
        return ModalityData(self.features[index], self.lengths[index])


@dataclass
class SplitData:
    """One split: the same N samples in every modality."""

    modalities: dict[str, ModalityData]
    labels: np.ndarray  # (N,) float32 sentiment in [-3, 3], or int64 class ids
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels)
        n = len(self.labels)
        if not self.ids:
            self.ids = [str(i) for i in range(n)]
        if len(self.ids) != n:
            raise DataError(f"{len(self.ids)} ids for {n} labels")
        for name, data in self.modalities.items():
            if len(data.lengths) != n:
                raise DataError(f"modality {name!r} has {len(data.lengths)} samples, labels have {n}")
        if self.labels.dtype.kind == "f" and not np.isfinite(self.labels).all():
            raise DataError("labels hold NaN or infinity")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> "SplitData":
        index = np.asarray(index)
        return SplitData(
            {name: data.take(index) for name, data in self.modalities.items()},
            self.labels[index],
            [self.ids[i] for i in index],
        )


@dataclass
class MultimodalDataset:
    """train / valid / test splits sharing modality names and feature sizes."""

    name: str
    splits: dict[str, SplitData]
    task: str = "regression"  # or "classification"
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        missing = [s for s in SPLITS if s not in self.splits]
        if missing:
            raise DataError(f"data set {self.name!r} lacks split(s) {missing}")
        for split in SPLITS:
            if len(self.splits[split]) == 0:
                raise DataError(f"split {split!r} of data set {self.name!r} is empty")
        reference = self.splits["train"].modalities
        for split in SPLITS[1:]:
            other = self.splits[split].modalities
            if set(other) != set(reference):
                raise DataError(f"split {split!r} has modalities {sorted(other)}, train has {sorted(reference)}")
            for name in reference:
                if other[name].dim != reference[name].dim:
                    raise DataError(
                        f"modality {name!r}: feature size {other[name].dim} in {split!r}, "
                        f"{reference[name].dim} in 'train'"
                    )

    @property
    def modality_dims(self) -> dict[str, int]:
        return {name: data.dim for name, data in self.splits["train"].modalities.items()}

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.task == "classification" else 0
