"""The built-in simulator: a CMU-MOSI-sized multimodal sentiment data set generated from a seed.

Generative model (also in the README):

1. Sentiment y: a two-component Gaussian mixture (-1.4 sd 0.9 / +1.5 sd 0.8), 4 % exact zeros,
   clipped to [-3, 3] and rounded to multiples of 0.2 (five raters' mean), which matches
   CMU-MOSI's label histogram and its share of zeros.
2. Three latent affect factors z = (z_lex, z_voice, z_face) with w . z = y / 1.6 for fixed weights
   w = (0.72, 0.50, 0.48): z is a standard normal draw projected onto that constraint, so no
   factor alone carries y, and every factor carries a different part of it.
3. Each modality observes a mix of factors through its own fixed random directions, on a sparse set
   of salient frames, on top of background noise and a per-clip speaker offset. The affect lives in
   the first few "descriptor" dimensions, whose background is quiet (sd 0.35 against 1.0 for the
   rest), like pitch or action-unit intensities; so noise at the scale of the features' own spread
   (lambda * sigma_ref) really drowns it, as it does in real features:
     text   (T <= 40 tokens, d = 64):  z_lex strongly, z_voice weakly, on 1 + Poisson(1.5) tokens
     audio  (T <= 60 frames, d = 32) : z_voice, some z_lex, on one burst covering ~35 % of frames
     vision (T <= 50 frames, d = 24):  z_face, some z_voice, on one burst covering ~40 % of frames
   Sequence lengths follow a clip duration of 2-10 s (2.5 words, 6 audio frames, 5 video frames
   per second, the rates of word-aligned CMU-MOSI features). Text is most informative alone (as on CMU-MOSI), audio and vision less, and only
   their fusion recovers all of y.
4. Splits of 1,284 / 229 / 686 clips, the sizes of CMU-MOSI's standard folds.

Everything is drawn from one numpy Generator seeded by `seed`; the same seed gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec
from qamoe.data.dataset import ModalityData, MultimodalDataset, SplitData

FACTOR_WEIGHTS = np.array([0.72, 0.50, 0.48])
AFFECT_DIM_SD = 0.35
DIRECTION_SD = 0.35
LABEL_SCALE = 1.6


@dataclass(frozen=True)
class ModalityRecipe:
    dim: int
    max_len: int
    frames_per_second: float
    loadings: tuple[float, float, float]  # how strongly each latent factor shows on salient frames
    affect_dims: int  # the first dims: quiet descriptors (background sd 0.35) that carry the affect
    kind: str = CONTINUOUS


RECIPES = {
    "text": ModalityRecipe(64, 40, 2.5, (1.6, 0.5, 0.0), 16, TOKENS),
    "audio": ModalityRecipe(32, 60, 6.0, (0.25, 0.65, 0.0), 8),
    "vision": ModalityRecipe(24, 50, 5.0, (0.0, 0.3, 0.7), 8),
}
SPLIT_SIZES = {"train": 1284, "valid": 229, "test": 686}


def synthetic_modalities() -> tuple[ModalitySpec, ...]:
    return tuple(ModalitySpec(name, r.dim, r.kind) for name, r in RECIPES.items())


def sample_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) CMU-MOSI-like sentiment: bimodal, multiples of 0.2 in [-3, 3], ~4 % zeros."""
    positive = rng.random(n) < 0.5
    y = np.where(positive, rng.normal(1.5, 0.8, n), rng.normal(-1.4, 0.9, n))
    y[rng.random(n) < 0.04] = 0.0
    return (np.round(np.clip(y, -3, 3) * 5) / 5).astype(np.float32)


def sample_factors(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """(n, 3) latent factors with FACTOR_WEIGHTS . z = y / LABEL_SCALE exactly."""
    u = rng.standard_normal((len(y), 3))
    w = FACTOR_WEIGHTS
    gap = y / LABEL_SCALE - u @ w
    return u + gap[:, None] * w[None, :] / (w @ w)


def _salient_mask(rng: np.random.Generator, name: str, lengths: np.ndarray, max_len: int) -> np.ndarray:
    """(n, T) bool: the frames that carry the clip's affect."""
    n = len(lengths)
    mask = np.zeros((n, max_len), dtype=bool)
    for i, length in enumerate(lengths):
        if name == "text":
            k = min(length, 1 + rng.poisson(1.5))
            mask[i, rng.choice(length, size=k, replace=False)] = True
        else:
            share = 0.35 if name == "audio" else 0.40
            burst = max(1, int(round(share * length)))
            start = rng.integers(0, length - burst + 1)
            mask[i, start : start + burst] = True
    return mask


def _modality(
    rng: np.random.Generator, name: str, recipe: ModalityRecipe, z: np.ndarray, seconds: np.ndarray,
    directions: np.ndarray,
) -> ModalityData:
    n = len(z)
    lengths = np.clip(np.round(seconds * recipe.frames_per_second), 1, recipe.max_len).astype(np.int64)
    signal = (z * np.array(recipe.loadings)) @ directions  # (n, d): the clip's affect in feature space
    background_sd = np.where(np.arange(recipe.dim) < recipe.affect_dims, AFFECT_DIM_SD, 1.0)
    speaker = rng.normal(0.0, 0.6, (n, 1, recipe.dim)) * background_sd
    frames = rng.standard_normal((n, recipe.max_len, recipe.dim)) * background_sd + speaker
    frames += _salient_mask(rng, name, lengths, recipe.max_len)[..., None] * signal[:, None, :]
    valid = np.arange(recipe.max_len)[None, :] < lengths[:, None]
    return ModalityData((frames * valid[..., None]).astype(np.float32), lengths)


def draw_directions(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(3, d) feature directions per modality: a property of the simulated "world", shared by all
    splits, and the first draws of `make_synthetic`'s generator."""
    directions = {}
    for name, r in RECIPES.items():
        d = np.zeros((3, r.dim))
        d[:, : r.affect_dims] = rng.standard_normal((3, r.affect_dims)) * DIRECTION_SD
        directions[name] = d
    return directions


def world_directions(seed: int) -> dict[str, np.ndarray]:
    """The directions `make_synthetic(seed)` uses (the live demo draws features with them)."""
    return draw_directions(np.random.default_rng(seed))


def make_synthetic(seed: int = 0, sizes: dict[str, int] | None = None) -> MultimodalDataset:
    """The simulator's data set for `seed`. `sizes` overrides the split sizes (tests use small ones)."""
    sizes = sizes or SPLIT_SIZES
    rng = np.random.default_rng(seed)
    directions = draw_directions(rng)
    splits = {}
    for split, n in sizes.items():
        y = sample_labels(rng, n)
        z = sample_factors(rng, y)
        seconds = rng.uniform(2.0, 10.0, n)
        modalities = {
            name: _modality(rng, name, recipe, z, seconds, directions[name]) for name, recipe in RECIPES.items()
        }
        ids = [f"sim{seed}_{split}_{i:04d}$_$0" for i in range(n)]
        splits[split] = SplitData(modalities, y, ids)
    return MultimodalDataset(f"synthetic-{seed}", splits)


def pooled_features(split: SplitData, names) -> np.ndarray:
    """(N, 2 * sum d_m): mean and max |x| of each named modality over its valid frames."""
    parts = []
    for name in names:
        m = split.modalities[name]
        masked = m.features * m.mask()[..., None]
        parts += [masked.sum(1) / m.lengths[:, None], np.abs(masked).max(1)]
    return np.concatenate(parts, 1)


def ridge_test_predictions(data: MultimodalDataset, names, alpha: float = 1.0) -> np.ndarray:
    """A closed-form ridge regression on pooled features, fitted on train, predicting test: how
    informative the named modalities are without any learned temporal model."""
    x, xt = pooled_features(data.splits["train"], names), pooled_features(data.splits["test"], names)
    x1 = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(x1.T @ x1 + alpha * np.eye(x1.shape[1]), x1.T @ data.splits["train"].labels)
    return np.c_[xt, np.ones(len(xt))] @ w

