"""The built-in simulator: a CMU-MOSI-sized multimodal sentiment data set generated from a seed.

Generative model (also in the README):

1. Sentiment y: a two-component Gaussian mixture (-1.4 sd 0.9 / +1.5 sd 0.8), 4 % exact zeros,
   clipped to [-3, 3] and rounded to multiples of 0.2 (five raters' mean), which matches
   CMU-MOSI's label histogram and its share of zeros.
2. Three latent affect factors z = (z_lex, z_voice, z_face) with w . z = y / 1.6 for fixed weights
   w = (0.72, 0.50, 0.48): z is a standard normal draw projected onto that constraint, so no
   factor alone carries y, and every factor carries a different part of it.
3. Each modality observes a mix of factors through its own fixed random directions, on a short burst
   of salient frames, on top of within-clip frame noise and a per-clip speaker offset. The affect
   lives in the first few "descriptor" dimensions (like pitch or action-unit intensities), where the
   spread *between* clips (speaker sd 1.2) dwarfs the spread *within* a clip (frame sd 0.2) and the
   affect itself (a change of about 0.25 on the burst). The training-set spread sigma_ref is therefore
   set by the speakers, and noise at lambda * sigma_ref per frame buries the small within-clip change
   the affect makes: the information is lost, not averaged out, as on real features (an oracle that
   knows the burst loses a third or more of its correlation at lambda = 0.7; `oracle_correlation`):
     text   (T <= 40 tokens, d = 64):  z_lex strongly, z_voice weakly, on 1 + Poisson(1.5) tokens
     audio  (T <= 60 frames, d = 32) : z_voice, some z_lex, on one burst covering ~15 % of frames
     vision (T <= 50 frames, d = 24):  z_face, some z_voice, on one burst covering ~15 % of frames
   Sequence lengths follow a clip duration of 2-10 s (2.5 words, 6 audio frames, 5 video frames
   per second, the rates of word-aligned CMU-MOSI features). Text is most informative alone (as on
   CMU-MOSI), audio and vision less, and only their fusion recovers all of y.
4. Splits of 1,284 / 229 / 686 clips, the sizes of CMU-MOSI's standard folds.

Everything is drawn from one numpy Generator seeded by `seed`; the same seed gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec
from qamoe.dataset import ModalityData, MultimodalDataset, SplitData

FACTOR_WEIGHTS = np.array([0.72, 0.50, 0.48])
AFFECT_DIM_SD = 0.35  # text: frame sd of the descriptor dims (tokens have no speaker to speak of)
FRAME_SD = 0.2  # audio, vision: within-clip frame sd of the descriptor dims
SPEAKER_SD = 3.0  # audio, vision: between-clip (speaker) sd of the descriptor dims
OTHER_SPEAKER_SD = 0.6  # every modality: speaker sd of the other dims, in units of their frame sd 1.0
BURST_SHARE = {"audio": 0.15, "vision": 0.15}
BURST_GAIN = 2.5  # audio, vision: scale of the affect on the burst frames  # share of a clip's frames that carry its affect
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
    "audio": ModalityRecipe(32, 60, 6.0, (0.18, 0.45, 0.0), 8),
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


def frame_and_speaker_sd(name: str, recipe: ModalityRecipe) -> tuple[np.ndarray, np.ndarray]:
    """(d,) within-clip frame sd and (d,) between-clip speaker sd of every dimension of a modality."""
    descriptor = np.arange(recipe.dim) < recipe.affect_dims
    if recipe.kind == TOKENS:
        frame = np.where(descriptor, AFFECT_DIM_SD, 1.0)
        return frame, OTHER_SPEAKER_SD * frame
    return np.where(descriptor, FRAME_SD, 1.0), np.where(descriptor, SPEAKER_SD, OTHER_SPEAKER_SD)


def _salient_mask(rng: np.random.Generator, name: str, lengths: np.ndarray, max_len: int) -> np.ndarray:
    """(n, T) bool: the frames that carry the clip's affect."""
    n = len(lengths)
    mask = np.zeros((n, max_len), dtype=bool)
    for i, length in enumerate(lengths):
        if name == "text":
            k = min(length, 1 + rng.poisson(1.5))
            mask[i, rng.choice(length, size=k, replace=False)] = True
        else:
            burst = max(1, int(round(BURST_SHARE[name] * length)))
            start = rng.integers(0, length - burst + 1)
            mask[i, start : start + burst] = True
    return mask


def _modality(
    rng: np.random.Generator, name: str, recipe: ModalityRecipe, z: np.ndarray, seconds: np.ndarray,
    directions: np.ndarray,
) -> tuple[ModalityData, np.ndarray]:
    """The modality's frames and its (n, T) salient-frame mask."""
    n = len(z)
    lengths = np.clip(np.round(seconds * recipe.frames_per_second), 1, recipe.max_len).astype(np.int64)
    signal = (z * np.array(recipe.loadings)) @ directions  # (n, d): the clip's affect in feature space
    frame_sd, speaker_sd = frame_and_speaker_sd(name, recipe)
    speaker = rng.standard_normal((n, 1, recipe.dim)) * speaker_sd
    frames = rng.standard_normal((n, recipe.max_len, recipe.dim)) * frame_sd + speaker
    salient = _salient_mask(rng, name, lengths, recipe.max_len)
    gain = BURST_GAIN if recipe.kind != TOKENS else 1.0
    frames += salient[..., None] * signal[:, None, :] * gain
    valid = np.arange(recipe.max_len)[None, :] < lengths[:, None]
    return ModalityData((frames * valid[..., None]).astype(np.float32), lengths), salient


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


def make_synthetic_with_salient(
    seed: int = 0, sizes: dict[str, int] | None = None
) -> tuple[MultimodalDataset, dict[str, dict[str, np.ndarray]]]:
    """`make_synthetic` plus split -> modality -> (N, T) mask of the frames that carry the affect."""
    sizes = sizes or SPLIT_SIZES
    rng = np.random.default_rng(seed)
    directions = draw_directions(rng)
    splits, salient = {}, {}
    for split, n in sizes.items():
        y = sample_labels(rng, n)
        z = sample_factors(rng, y)
        seconds = rng.uniform(2.0, 10.0, n)
        drawn = {name: _modality(rng, name, recipe, z, seconds, directions[name]) for name, recipe in RECIPES.items()}
        ids = [f"sim{seed}_{split}_{i:04d}$_$0" for i in range(n)]
        splits[split] = SplitData({name: data for name, (data, _) in drawn.items()}, y, ids)
        salient[split] = {name: mask for name, (_, mask) in drawn.items()}
    return MultimodalDataset(f"synthetic-{seed}", splits), salient


def make_synthetic(seed: int = 0, sizes: dict[str, int] | None = None) -> MultimodalDataset:
    """The simulator's data set for `seed`. `sizes` overrides the split sizes (tests use small ones)."""
    return make_synthetic_with_salient(seed, sizes)[0]


def pooled_features(split: SplitData, names) -> np.ndarray:
    """(N, 3 * sum d_m): per modality, the clip mean of the frames, and the max and min over the clip
    of the frames with the clip's own mean and spread removed (where a short burst shows)."""
    parts = []
    for name in names:
        m = split.modalities[name]
        valid = m.mask()[..., None]
        mean = (m.features * valid).sum(1) / m.lengths[:, None]
        spread = np.sqrt((((m.features - mean[:, None]) * valid) ** 2).sum(1) / m.lengths[:, None]) + 0.1
        contrast = (m.features - mean[:, None]) / spread[:, None]
        parts += [mean, np.where(valid, contrast, -np.inf).max(1), np.where(valid, contrast, np.inf).min(1)]
    return np.concatenate(parts, 1)


def ridge_test_predictions(data: MultimodalDataset, names, alpha: float = 1.0) -> np.ndarray:
    """A closed-form ridge regression on pooled features, fitted on train, predicting test: how
    informative the named modalities are without any learned temporal model."""
    x, xt = pooled_features(data.splits["train"], names), pooled_features(data.splits["test"], names)
    x1 = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(x1.T @ x1 + alpha * np.eye(x1.shape[1]), x1.T @ data.splits["train"].labels)
    return np.c_[xt, np.ones(len(xt))] @ w



def burst_contrast(x: np.ndarray, valid: np.ndarray, salient: np.ndarray) -> np.ndarray:
    """(N, T, d) -> (N, d): mean of the salient frames minus mean of the other valid frames."""
    rest = valid & ~salient
    inside = (x * salient[..., None]).sum(1) / np.maximum(salient.sum(1, keepdims=True), 1)
    outside = (x * rest[..., None]).sum(1) / np.maximum(rest.sum(1, keepdims=True), 1)
    return inside - outside


def oracle_correlation(seed: int, name: str, noise: float, *, sizes: dict[str, int] | None = None,
                       degradation_seed: int = 0, alpha: float = 1.0) -> float:
    """Test correlation of an oracle unimodal model at noise `noise`: it knows which frames carry the
    affect and reads their contrast with the rest of the clip (the speaker offset cancels), through a
    ridge regression fitted on the training split degraded at the same level. How much a modality can
    tell at that noise level, whatever model reads it."""
    import torch

    from qamoe.feature_stats import fit_stats
    from qamoe.degradation import degrade
    from qamoe.config import ModalitySpec

    data, salient = make_synthetic_with_salient(seed, sizes)
    stats = fit_stats({name: data.splits["train"].modalities[name]})[name]
    spec = ModalitySpec(name, RECIPES[name].dim, RECIPES[name].kind)
    summaries = {}
    for k, split in enumerate(("train", "test")):
        m = data.splits[split].modalities[name]
        x = torch.from_numpy(stats.normalize(m.features, m.lengths))
        degraded = degrade(
            {name: x}, {name: torch.from_numpy(m.lengths)}, modalities=(spec,),
            sigma_ref={name: torch.from_numpy(stats.sigma_ref)}, noise=noise, missing_rate=0.0,
            generator=torch.Generator().manual_seed(degradation_seed * 1_000_003 + k),
        )
        summaries[split] = burst_contrast(degraded.features[name].numpy(), m.mask(), salient[split][name])
    x, xt = summaries["train"], summaries["test"]
    x1 = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(x1.T @ x1 + alpha * np.eye(x1.shape[1]), x1.T @ data.splits["train"].labels)
    prediction = np.c_[xt, np.ones(len(xt))] @ w
    return float(np.corrcoef(prediction, data.splits["test"].labels)[0, 1])
