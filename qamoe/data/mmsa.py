"""The standard processed CMU-MOSI / CMU-MOSEI pickles, read without executing code from them.

MMSA (`aligned_50.pkl`, `unaligned_50.pkl`): {split: {...}} with split in train / valid / test and
    text             (N, T_t, 768) BERT hidden states (or (N, T_t, 300) GloVe in older files)
    text_bert        (N, 3, T_t) token ids, attention mask, segment ids
    audio            (N, T_a, 5 | 74) COVAREP; may hold -inf (MMSA sets it to 0, so do we)
    vision           (N, T_v, 20 | 35) Facet
    audio_lengths, vision_lengths   lists or arrays of N ints (unaligned files; aligned ones may lack them)
    regression_labels (N,) float in [-3, 3]   (classification sets: classification_labels (N,) ints)
    id               (N,) strings like '03bSnISJMiM$_$11'
    raw_text         (N,) strings
  Lengths 50/50/50 aligned, 50/500/375 (MOSI) unaligned. Text length comes from the BERT attention
  mask when text_bert is there; aligned audio/vision without their own lengths share it.

MulT (`mosi_data.pkl`, `mosei_senti_data.pkl`): {split: {'vision': (N, 50, d_v), 'audio': (N, 50, d_a),
    'text': (N, 50, 300) GloVe, 'labels': (N, 1, 1), 'id': (N, 3) or (N,) ...}}, split names
    train / valid (or dev) / test. Sequences are zero-padded at the *front* and carry no lengths:
    the valid frames are the span from the first to the last non-zero frame, moved to the front.

Ids are reported as 'video$_$clip' (a 2-D MulT id row [video, a, b] becomes 'video$_$a_b').
Everything goes through `safe_load`, which refuses any pickle that names a global other than the
numpy array machinery and plain containers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData
from qamoe.data.safe_pickle import safe_load

MODALITIES = ("text", "audio", "vision")
SPLIT_ALIASES = {"train": ("train",), "valid": ("valid", "dev", "val", "validation"), "test": ("test",)}
IEMOCAP_CLASSES = ["happy", "sad", "angry", "fearful", "frustrated", "neutral"]
MINTREC_CLASSES = [
    "complain", "praise", "apologise", "thank", "criticize", "care", "agree", "taunt", "flaunt", "joke",
    "oppose", "comfort", "inform", "advise", "arrange", "introduce", "leave", "prevent", "greet", "ask for help",
]


def _array(split: dict, key: str, where: str) -> np.ndarray:
    if key not in split:
        raise DataError(f"{where} lacks the key {key!r} (it has {sorted(split)})")
    try:
        return np.asarray(split[key])
    except (TypeError, ValueError) as err:
        raise DataError(f"{where}[{key!r}] is not an array: {err}") from None


def _clean(features: np.ndarray, where: str) -> np.ndarray:
    if features.ndim != 3:
        raise DataError(f"{where} must be (N, T, d), got shape {features.shape}")
    try:
        features = features.astype(np.float32)
    except (TypeError, ValueError) as err:
        raise DataError(f"{where} is not numeric: {err}") from None
    features[np.isneginf(features)] = 0.0  # COVAREP's -inf, as MMSA does
    return np.nan_to_num(features, nan=0.0, posinf=0.0)


def compact(features: np.ndarray, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, d) zero-padded at the front or the back -> (features padded at the back, lengths).

    With `lengths`, a sample whose non-zero frames lie past its length is front-padded and its last
    `length` frames are taken; otherwise the first `length`. Without, the valid frames are the span
    from the first to the last non-zero frame. A sample with no non-zero frame keeps one zero frame.
    """
    n, t, _ = features.shape
    nonzero = np.abs(features).sum(-1) > 0  # (N, T)
    out = np.zeros_like(features)
    result = np.ones(n, dtype=np.int64)
    for i in range(n):
        frames = np.flatnonzero(nonzero[i])
        if lengths is not None:
            length = int(np.clip(lengths[i], 1, t))
            front_padded = length < t and frames.size and frames[-1] >= length
            chunk = features[i, t - length :] if front_padded else features[i, :length]
        elif frames.size:
            chunk = features[i, frames[0] : frames[-1] + 1]
        else:
            chunk = features[i, :1]
        out[i, : len(chunk)] = chunk
        result[i] = max(1, len(chunk))
    return out, result


def _lengths(split: dict, key: str, n: int, where: str) -> np.ndarray | None:
    if key not in split or split[key] is None:
        return None
    lengths = np.asarray(split[key]).astype(np.int64).ravel()
    if lengths.shape != (n,):
        raise DataError(f"{where}[{key!r}] holds {lengths.size} lengths for {n} samples")
    return lengths


def _ids(raw, n: int) -> list[str]:
    if raw is None:
        return []
    ids = np.asarray(raw)

    def text(value) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    if ids.ndim == 2 and ids.shape[0] == n:
        out = []
        for row in ids:
            parts = [text(v) for v in row]
            out.append(parts[0] if len(parts) == 1 else f"{parts[0]}$_${'_'.join(parts[1:])}")
        return out
    flat = ids.ravel()
    if flat.shape[0] != n:
        raise DataError(f"{n} samples but {flat.shape[0]} ids")
    return [text(v) for v in flat]


def _find_split(data: dict, split: str, where: str) -> dict:
    for alias in SPLIT_ALIASES[split]:
        if alias in data:
            if not isinstance(data[alias], dict):
                raise DataError(f"{where}: split {alias!r} is a {type(data[alias]).__name__}, expected a dict")
            return data[alias]
    raise DataError(f"{where} lacks the split {split!r} (it has {sorted(map(str, data))})")


def _labels(split: dict, where: str) -> tuple[np.ndarray, str]:
    if "regression_labels" in split:
        return _array(split, "regression_labels", where).astype(np.float32).ravel(), "regression"
    if "classification_labels" in split:
        labels = _array(split, "classification_labels", where).ravel()
        return labels.astype(np.int64), "classification"
    if "labels" in split:  # MulT: (N, 1, 1) sentiment
        return _array(split, "labels", where).astype(np.float32).reshape(len(split["labels"]), -1)[:, 0], "regression"
    raise DataError(f"{where} has no labels (regression_labels, classification_labels or labels)")


def _split_data(split: dict, where: str, layout: str) -> tuple[SplitData, str]:
    labels, task = _labels(split, where)
    n = len(labels)
    if layout == "mmsa":
        text_mask = None
        if "text_bert" in split and split["text_bert"] is not None:
            bert = np.asarray(split["text_bert"])
            if bert.ndim != 3 or bert.shape[0] != n or bert.shape[1] != 3:
                raise DataError(f"{where}['text_bert'] must be (N, 3, T) ids/mask/segments, got {bert.shape}")
            text_mask = bert[:, 1, :].astype(np.int64).sum(1)
        aligned_lengths = text_mask
    modalities = {}
    for name in MODALITIES:
        features = _clean(_array(split, name, where), f"{where}[{name!r}]")
        if features.shape[0] != n:
            raise DataError(f"{where}[{name!r}] holds {features.shape[0]} samples, the labels {n}")
        if layout == "mmsa":
            lengths = text_mask if name == "text" else _lengths(split, f"{name}_lengths", n, where)
            if lengths is None and aligned_lengths is not None and features.shape[1] == len(split["text_bert"][0][0]):
                lengths = aligned_lengths
        else:
            lengths = None
        data, lens = compact(features, lengths)
        modalities[name] = ModalityData(data, lens)
    raw_ids = split.get("id", split.get("ids"))
    return SplitData(modalities, labels, _ids(raw_ids, n)), task


def load_pickle_dataset(path: str | Path, *, name: str, layout: str = "auto",
                        class_names: list[str] | None = None) -> MultimodalDataset:
    """An MMSA or MulT pickle (layout 'mmsa', 'mult' or 'auto': MMSA when the splits carry
    regression_labels / classification_labels, MulT when they carry labels)."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / f for f in ("unaligned_50.pkl", "aligned_50.pkl", "mosi_data.pkl", "mosei_senti_data.pkl")]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise DataError(f"{path} holds none of {', '.join(c.name for c in candidates)}")
        path = found[0]
    data = safe_load(path)
    if not isinstance(data, dict):
        raise DataError(f"{path} holds a {type(data).__name__}, expected a dict of splits")
    splits, tasks = {}, set()
    for split in SPLITS:
        raw = _find_split(data, split, str(path))
        kind = layout
        if kind == "auto":
            kind = "mult" if "labels" in raw and "regression_labels" not in raw and "classification_labels" not in raw else "mmsa"
        splits[split], task = _split_data(raw, f"{path}[{split!r}]", kind)
        tasks.add(task)
    if len(tasks) != 1:
        raise DataError(f"{path}: splits disagree on the task ({sorted(tasks)})")
    task = tasks.pop()
    if task == "classification":
        seen = int(max(int(s.labels.max()) for s in splits.values())) + 1
        if min(int(s.labels.min()) for s in splits.values()) < 0:
            raise DataError(f"{path}: class labels must be >= 0")
        names = list(class_names) if class_names else [str(i) for i in range(seen)]
        if seen > len(names):
            raise DataError(f"{path}: class label {seen - 1} but only {len(names)} classes")
        return MultimodalDataset(name, splits, task="classification", class_names=names)
    return MultimodalDataset(name, splits)
