"""The voice-emotion head: a multinomial logistic regression from pooled Whisper encoder states (the
mean and std over an utterance's frames, `qamoe.extractors.voice.pool_states`) to the log-probabilities
of RAVDESS's 8 emotions.

One recipe (`fit`) makes both the shipped head (`qamoe/assets/voice/`, fitted on the train actors by
`python -m qamoe.extractors.datasets.voice_head`) and, inside `load_ravdess(voice=True)`, the heads that
give the train clips their voice features out of fold (`out_of_fold`): a head never scores a clip of
an actor it was fitted on, so a model trained on these features learns how far to trust them on
voices it never heard.

Stored as safetensors (`mean`, `scale`, `weight` (8, 2d), `bias` (8,)) with its card in the metadata:
no code is ever read from the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qamoe.errors import CheckpointError

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")  # RAVDESS codes 01..08
VOICE_NAMES = tuple(f"voice_{e}" for e in EMOTIONS)
L2 = 0.1  # weight decay per sample, chosen on the validation actors (benchmarks/results/voice-head.json)
FILE = "voice_emotion.safetensors"


@dataclass
class VoiceHead:
    """x (N, 2d) pooled states -> (N, 8) log-probabilities: log_softmax(((x - mean) / scale) @ weight.T + bias)."""

    mean: np.ndarray  # (2d,)
    scale: np.ndarray  # (2d,)
    weight: np.ndarray  # (8, 2d)
    bias: np.ndarray  # (8,)
    card: dict = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return int(self.mean.shape[0])

    def log_probs(self, pooled: np.ndarray) -> np.ndarray:
        """(2d,) or (N, 2d) -> (8,) or (N, 8) float32 log-probabilities."""
        x = np.asarray(pooled, np.float64)
        if x.shape[-1] != self.input_dim:
            raise ValueError(f"the voice head reads {self.input_dim} pooled values, got {x.shape[-1]}")
        logits = ((x - self.mean) / self.scale) @ self.weight.T + self.bias
        logits -= logits.max(-1, keepdims=True)
        return (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(np.float32)

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file  # noqa: PLC0415

        path = Path(folder) / FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(getattr(self, k), np.float32) for k in ("mean", "scale", "weight", "bias")}
        save_file(tensors, str(path), metadata={"card": json.dumps(self.card, sort_keys=True)})
        return path


def load(folder: str | Path) -> VoiceHead:
    """The head stored in `folder` (a CheckpointError when it is absent or not a voice head)."""
    from safetensors import safe_open  # noqa: PLC0415

    path = Path(folder) / FILE
    if not path.is_file():
        raise CheckpointError(f"no voice head at {path} (python -m qamoe.extractors.datasets.voice_head makes it)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            arrays = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
            card = json.loads((f.metadata() or {}).get("card", "{}"))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    needed = {"mean", "scale", "weight", "bias"}
    if set(arrays) != needed:
        raise CheckpointError(f"{path}: holds {sorted(arrays)}, a voice head holds {sorted(needed)}")
    d = arrays["mean"].shape[0]
    if arrays["scale"].shape != (d,) or arrays["weight"].shape != (len(EMOTIONS), d) or arrays["bias"].shape != (len(EMOTIONS),):
        raise CheckpointError(f"{path}: inconsistent shapes {({k: v.shape for k, v in arrays.items()})}")
    if not all(np.isfinite(v).all() for v in arrays.values()) or (arrays["scale"] <= 0).any():
        raise CheckpointError(f"{path}: non-finite values or a non-positive scale")
    return VoiceHead(arrays["mean"], arrays["scale"], arrays["weight"], arrays["bias"], card)


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = L2, card: dict | None = None) -> VoiceHead:
    """Multinomial logistic regression on standardised x (N, 2d) for labels y (N,) in 0..7, full-batch
    L-BFGS from zeros (deterministic). Rows of zeros (no speech) are left out."""
    import torch  # noqa: PLC0415

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    keep = np.abs(x).sum(1) > 0
    x, y = x[keep], y[keep]
    if len(np.unique(y)) < 2:
        raise ValueError("the voice head needs at least two emotions to fit")
    mean, scale = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / scale)
    yt = torch.tensor(y)
    weight = torch.zeros(len(EMOTIONS), x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(len(EMOTIONS), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=500, tolerance_grad=1e-7, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ weight.T + bias, yt) + 0.5 * l2 * (weight**2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return VoiceHead(mean, scale, weight.detach().numpy().copy(), bias.detach().numpy().copy(), dict(card or {}, l2=l2, n=int(len(y))))


def fold_heads(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int = 7, l2: float = L2
               ) -> tuple[dict[int, VoiceHead], dict]:
    """({fold: head fitted without that fold's groups}, {group: its fold}): the groups (actors) are
    dealt round-robin into `folds` folds in sorted order."""
    groups = np.asarray(groups)
    fold_of = {g: i % folds for i, g in enumerate(sorted(set(groups.tolist())))}
    fold = np.array([fold_of[g] for g in groups.tolist()])
    return {k: fit(x[fold != k], y[fold != k], l2=l2) for k in sorted(set(fold_of.values()))}, fold_of


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int = 7, l2: float = L2) -> np.ndarray:
    """(N, 8) log-probabilities of every row from the head fitted without its group (`fold_heads`)."""
    heads, fold_of = fold_heads(x, y, groups, folds=folds, l2=l2)
    out = np.zeros((len(x), len(EMOTIONS)), np.float32)
    for i, g in enumerate(np.asarray(groups).tolist()):
        out[i] = heads[fold_of[g]].log_probs(x[i])
    return out
