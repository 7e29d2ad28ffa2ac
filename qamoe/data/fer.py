"""FER2013 faces and their built face features: the loader.

Source: `$QAMOE_SHARED_DATA/fer2013/fer2013-48px.npz` (research use; 30,504 grey 48x48 faces, 7
expressions). No subject ids: the split is by the sha1 of the image bytes (`split_of`: train 80 %,
valid 10 %, test 10 %), and subsets are the first faces of a second hash ranking (`rank_of`), so every
count is a deterministic prefix.

Labels: the data README's table (angry -2, disgust -2, fear -1.5, happy +2, neutral 0, sad -2,
surprise +0.5); the binary view keeps happy (positive) and angry, disgust, fear, sad (negative).

The face features (the live vision extractor's 27 values, clean and under camera-like degradations)
are built by `python -m qamoe.extractors.datasets.fer` into a cache, `~/.cache/qamoe/live/fer/` (or
$QAMOE_CACHE/live/fer): one `<part>.npz` (values, found, index) per split subset and degradation;
`load_part` reads one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qamoe.data import paths
from qamoe.dataset import DataError
from qamoe.data.hashing import sha1_int

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
SENTIMENT = {"angry": -2.0, "disgust": -2.0, "fear": -1.5, "happy": 2.0, "neutral": 0.0, "sad": -2.0, "surprise": 0.5}
POSITIVE = ("happy",)
NEGATIVE = ("angry", "disgust", "fear", "sad")


def default_data() -> Path:
    """$QAMOE_SHARED_DATA/fer2013/fer2013-48px.npz (a DataError naming --data when absent)."""
    return paths.default_data("fer2013", "fer2013-48px.npz")


def default_cache() -> Path:
    return paths.cache_root() / "live" / "fer"


def split_of(image: np.ndarray) -> str:
    bucket = sha1_int(np.ascontiguousarray(image).tobytes()) % 10
    return "valid" if bucket == 8 else "test" if bucket == 9 else "train"


def rank_of(image: np.ndarray) -> int:
    return sha1_int(b"rank:" + np.ascontiguousarray(image).tobytes())


def read_fer(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (n, 48, 48) uint8, labels (n,) int64, class names) of the .npz at `path`."""
    path = Path(path) if path is not None else default_data()
    if not path.is_file():
        raise DataError(f"{path} not found: give --data the fer2013-48px.npz file")
    with np.load(path, allow_pickle=False) as z:
        images, labels, classes = z["images"], z["labels"].astype(np.int64), [str(c) for c in z["classes"]]
    if tuple(classes) != CLASSES:
        raise DataError(f"{path}: classes {classes}, expected {CLASSES}")
    return images, labels, classes


def split_indices(images: np.ndarray) -> dict[str, np.ndarray]:
    """split -> indices of its faces in rank order (exact duplicates share a split by construction)."""
    splits = np.array([split_of(im) for im in images])
    ranks = np.array([rank_of(im) for im in images], dtype=np.uint64)
    out = {}
    for s in ("train", "valid", "test"):
        idx = np.flatnonzero(splits == s)
        out[s] = idx[np.argsort(ranks[idx], kind="stable")]
    return out


def sentiment_of(labels: np.ndarray) -> np.ndarray:
    return np.array([SENTIMENT[CLASSES[k]] for k in labels], np.float32)


def valence_of(labels: np.ndarray) -> np.ndarray:
    """1 positive, 0 negative, -1 left out (neutral, surprise)."""
    names = [CLASSES[k] for k in labels]
    return np.array([1 if n in POSITIVE else 0 if n in NEGATIVE else -1 for n in names], np.int64)


def load_part(name: str, cache=None) -> dict:
    path = (Path(cache) if cache else default_cache()) / f"{name}.npz"
    if not path.exists():
        raise DataError(f"{path} not built (python -m qamoe.extractors.datasets.fer)")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
