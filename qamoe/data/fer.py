"""FER2013 faces through the live vision extractor (geometry + expression, 27 values), with camera-like
degradations of the picture, for the default live checkpoint.

Source: `../shared/data/fer2013/fer2013-48px.npz` (research use; 30,504 grey 48x48 faces, 7 expressions).
No subject ids: the split is by the sha1 of the image bytes (`split_of`: train 80 %, valid 10 %, test
10 %), and subsets are the first faces of a second hash ranking (`rank_of`), so every count is a
deterministic prefix.

Features: `qamoe.extractors.vision.fer_face_features` with `FaceFeatures(expression=True,
static_images=True)` - the canvas (pad 2x with the edge colour, 192 px) and analysis `Predictor.predict(image=...)`
uses. A still face reaches the model as `STILL_FACE_FRAMES` copies of its frame (`still_face_window`).
Faces where the mesh finds no face are vision-missing.

Degradations (on the RGB canvas, before the face mesh and the network; `DEGRADATIONS`, two levels each):
blur (Gaussian, sigma 2 / 4 px on the 192 px canvas), dark (intensity x 0.3 / x 0.12, then 8-bit
rounding and sensor noise sigma 2 grey levels, seeded), occlude (a grey block over the lower half / the
eye band and the lower half of the face), downscale (to 32 / 16 px side, then back up).

Labels: the data README's table (angry -2, disgust -2, fear -1.5, happy +2, neutral 0, sad -2,
surprise +0.5); the binary view keeps happy (positive) and angry, disgust, fear, sad (negative).

Cache: `~/.cache/qamoe/live/fer/<name>.npz` (values, found, index), one per (split subset, degradation).

    python -m qamoe.data.fer --train 3000 --valid 800 --test 800 --train-views 1200 --test-views 300
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from qamoe.dataset import DataError
from qamoe.data.paths import missing_data_hint, shared_data_dir

DEFAULT_DATA = shared_data_dir() / "fer2013" / "fer2013-48px.npz"
CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
SENTIMENT = {"angry": -2.0, "disgust": -2.0, "fear": -1.5, "happy": 2.0, "neutral": 0.0, "sad": -2.0, "surprise": 0.5}
POSITIVE = ("happy",)
NEGATIVE = ("angry", "disgust", "fear", "sad")
DEGRADATIONS = {  # kind -> the two levels (mild, strong)
    "blur": (2.0, 4.0),
    "dark": (0.3, 0.12),
    "occlude": ("mouth", "eyes+mouth"),
    "downscale": (32, 16),
}
FORMAT = 1


def default_cache() -> Path:
    base = os.environ.get("QAMOE_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "qamoe") / "live" / "fer"


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.sha1(data).digest()[:8], "big")


def split_of(image: np.ndarray) -> str:
    bucket = _hash(np.ascontiguousarray(image).tobytes()) % 10
    return "valid" if bucket == 8 else "test" if bucket == 9 else "train"


def rank_of(image: np.ndarray) -> int:
    return _hash(b"rank:" + np.ascontiguousarray(image).tobytes())


def read_fer(path: str | Path = DEFAULT_DATA) -> tuple[np.ndarray, np.ndarray, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_data_hint(path))
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


def degrade(kind: str, level, seed: int):
    """A transform RGB canvas -> RGB uint8 (for `fer_face_features(transform=...)`)."""
    import cv2  # noqa: PLC0415

    if kind == "blur":
        return lambda rgb: cv2.GaussianBlur(rgb, (0, 0), float(level))
    if kind == "dark":
        def dark(rgb):
            rng = np.random.default_rng(seed)
            x = rgb.astype(np.float32) * float(level) + rng.normal(0, 2.0, rgb.shape)
            return np.clip(np.round(x), 0, 255).astype(np.uint8)
        return dark
    if kind == "occlude":
        def occlude(rgb):
            out = rgb.copy()
            n = out.shape[0]
            face0, side = n // 4, n // 2  # the crop fills the middle half of the canvas (pad 2)
            out[face0 + int(0.55 * side): face0 + int(0.95 * side), face0: face0 + side] = 128  # mouth
            if level == "eyes+mouth":
                out[face0 + int(0.2 * side): face0 + int(0.45 * side), face0: face0 + side] = 128
            return out
        return occlude
    if kind == "downscale":
        def downscale(rgb):
            n = rgb.shape[0]
            small = cv2.resize(rgb, (int(level) * 4, int(level) * 4), interpolation=cv2.INTER_AREA)  # canvas 4x the face
            return cv2.resize(small, (n, n), interpolation=cv2.INTER_LINEAR)
        return downscale
    raise ValueError(f"unknown degradation {kind!r}")


def _extract(images: np.ndarray, transforms: list, faces, progress, task) -> tuple[np.ndarray, np.ndarray]:
    from qamoe.extractors.vision import fer_face_features  # noqa: PLC0415

    values = np.zeros((len(images), faces.dim), np.float32)
    found = np.zeros(len(images), bool)
    for i, image in enumerate(images):
        frame = fer_face_features(image, faces, transform=transforms[i] if transforms else None)
        values[i], found[i] = frame.values, not frame.missing
        progress.update(task, advance=1)
    return values, found


def _save(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def build(data=DEFAULT_DATA, cache=None, *, train=3000, valid=800, test=800, train_views=1200, test_views=300,
          seed=0, console=None) -> dict:
    """Extracts (or finds) every part; returns the manifest. Parts:
    `<split>-clean` (the first n faces of the split's ranking), `train-views` (each of the first
    `train_views` train faces under every kind, at a level drawn per face, seeded), `test-<kind>-<level>`
    (the first `test_views` test faces under every kind and level)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    from qamoe.extractors.vision import FaceFeatures  # noqa: PLC0415

    cache = Path(cache) if cache else default_cache()
    images, labels, _ = read_fer(data)
    order = split_indices(images)
    parts: list[tuple[str, np.ndarray, list | None, dict]] = []
    for split, n in (("train", train), ("valid", valid), ("test", test)):
        parts.append((f"{split}-clean-{n}", order[split][:n], None, {}))
    rng = np.random.default_rng(seed)
    idx = order["train"][:train_views]
    for kind, levels in DEGRADATIONS.items():
        pick = rng.integers(0, len(levels), len(idx))
        transforms = [degrade(kind, levels[p], seed * 1_000_003 + int(i)) for p, i in zip(pick, idx)]
        parts.append((f"train-{kind}-{train_views}-s{seed}", idx, transforms, {"level_index": pick}))
    idx = order["test"][:test_views]
    for kind, levels in DEGRADATIONS.items():
        for k, level in enumerate(levels):
            transforms = [degrade(kind, level, seed * 1_000_003 + int(i)) for i in idx]
            parts.append((f"test-{kind}-{k}-{test_views}-s{seed}", idx, transforms, {}))
    todo = [p for p in parts if not (cache / f"{p[0]}.npz").exists()]
    faces = FaceFeatures(expression=True, static_images=True)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        for name, index, transforms, extra in todo:
            task = progress.add_task(name, total=len(index))
            values, found = _extract(images[index], transforms, faces, progress, task)
            _save(cache / f"{name}.npz", {"values": values, "found": found, "index": index, "format": np.int64(FORMAT), **extra})
    manifest = {"data": str(Path(data).resolve()), "parts": [p[0] for p in parts], "seed": seed,
                "degradations": {k: list(map(str, v)) for k, v in DEGRADATIONS.items()},
                "seconds": round(time.perf_counter() - started, 1)}
    (cache / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def load_part(name: str, cache=None) -> dict:
    path = (Path(cache) if cache else default_cache()) / f"{name}.npz"
    if not path.exists():
        raise DataError(f"{path} not built (python -m qamoe.data.fer)")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.data.fer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--cache")
    for name, default in (("train", 3000), ("valid", 800), ("test", 800), ("train-views", 1200), ("test-views", 300)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    print(json.dumps(build(args.data, args.cache, train=args.train, valid=args.valid, test=args.test,
                           train_views=args.train_views, test_views=args.test_views, seed=args.seed)))


if __name__ == "__main__":
    main()
