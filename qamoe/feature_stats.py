"""Training-split feature statistics: normalisation and the noise reference sigma_ref.

Features are standardised per dimension with the training split's mean and std before they reach
the model, and the same numbers travel in the checkpoint so live features are normalised the way
the training data was. sigma_ref (Eq. 12) is the per-dimension std of the *normalised* training
features, so lambda = 1 adds noise as large as the signal's own spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamoe.dataset import DataError, ModalityData

MIN_STD = 1e-6  # a constant feature is left unscaled instead of divided by zero


@dataclass
class FeatureStats:
    mean: np.ndarray  # (d,)
    std: np.ndarray  # (d,)
    sigma_ref: np.ndarray  # (d,)

    @classmethod
    def fit(cls, data: ModalityData) -> "FeatureStats":
        frames = data.features[data.mask()]  # (total valid frames, d)
        if len(frames) == 0:
            raise DataError("cannot compute feature statistics from zero frames")
        mean = frames.mean(0)
        std = frames.std(0)
        std = np.where(std < MIN_STD, 1.0, std)
        sigma_ref = ((frames - mean) / std).std(0)
        return cls(mean.astype(np.float32), std.astype(np.float32), sigma_ref.astype(np.float32))

    def normalize(self, features: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """(..., T, d) raw -> standardised; padding (frames past `lengths`) stays zero."""
        if features.shape[-1] != self.mean.shape[0]:
            raise DataError(f"feature size {features.shape[-1]}, statistics were fitted on {self.mean.shape[0]}")
        out = ((features - self.mean) / self.std).astype(np.float32)
        if lengths is not None:
            valid = np.arange(features.shape[-2])[None, :] < np.asarray(lengths)[:, None]
            out = out * valid[..., None]
        return out

    def to_dict(self) -> dict:
        return {k: getattr(self, k).astype(float).tolist() for k in ("mean", "std", "sigma_ref")}

    @classmethod
    def from_dict(cls, raw: dict, dim: int) -> "FeatureStats":
        try:
            values = {k: np.asarray(raw[k], dtype=np.float32) for k in ("mean", "std", "sigma_ref")}
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"feature statistics are malformed: {err!r}") from None
        for key, value in values.items():
            if value.shape != (dim,):
                raise DataError(f"feature statistics {key!r} has shape {value.shape}, expected ({dim},)")
            if not np.isfinite(value).all():
                raise DataError(f"feature statistics {key!r} hold NaN or infinity")
        return cls(**values)


def fit_stats(train_modalities: dict[str, ModalityData]) -> dict[str, FeatureStats]:
    return {name: FeatureStats.fit(data) for name, data in train_modalities.items()}
