"""Builds the FER2013 face-feature cache that `qamoe.data.fer.load_part` reads.

Features: `qamoe.extractors.still_face.fer_face_features` with `FaceFeatures(expression=True,
static_images=True)` - the canvas (pad 2x with the edge colour, 192 px) and analysis
`Predictor.predict(image=...)` uses (27 values: geometry + expression). Faces where the mesh finds no
face are stored with found = False (vision-missing).

Degradations (on the RGB canvas, before the face mesh and the network; `DEGRADATIONS`, two levels each):
blur (Gaussian, sigma 2 / 4 px on the 192 px canvas), dark (intensity x 0.3 / x 0.12, then 8-bit
rounding and sensor noise sigma 2 grey levels, seeded), occlude (a grey block over the lower half / the
eye band and the lower half of the face), downscale (to 32 / 16 px side, then back up).

Parts (one `<name>.npz` each: values, found, index): `<split>-clean-<n>` (the first n faces of the
split's ranking), `train-<kind>-<n>-s<seed>` (each of the first n train faces under one kind, at a
level drawn per face, seeded), `test-<kind>-<level>-<n>-s<seed>` (the first n test faces under every
kind and level), `valid-<kind>-<level>-<n>-s<seed>` likewise for the first n valid faces with
`--valid-views n` (what the live checkpoint's reliability scale is fitted on). A part already in the
cache is kept.

    python -m qamoe.extractors.datasets.fer --train 3000 --valid 800 --test 800 --train-views 1200 --test-views 300
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qamoe.data.fer import default_cache, default_data, read_fer, split_indices
from qamoe.dataset import DataError
from qamoe.extractors.still_face import fer_face_features
from qamoe.extractors.vision import FaceFeatures
from qamoe.files import atomic_write_json, atomic_write_npz

DEGRADATIONS = {  # kind -> the two levels (mild, strong)
    "blur": (2.0, 4.0),
    "dark": (0.3, 0.12),
    "occlude": ("mouth", "eyes+mouth"),
    "downscale": (32, 16),
}
FORMAT = 1


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
    values = np.zeros((len(images), faces.dim), np.float32)
    found = np.zeros(len(images), bool)
    for i, image in enumerate(images):
        frame = fer_face_features(image, faces, transform=transforms[i] if transforms else None)
        values[i], found[i] = frame.values, not frame.missing
        progress.update(task, advance=1)
    return values, found


def build(data=None, cache=None, *, train=3000, valid=800, test=800, train_views=1200, test_views=300,
          valid_views=0, seed=0, console=None) -> dict:
    """Extracts (or finds in the cache) every part named in the module docstring; returns the manifest.
    `data`: the fer2013-48px.npz file (default under $QAMOE_SHARED_DATA)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    cache = Path(cache) if cache else default_cache()
    data = Path(data) if data is not None else default_data()
    images, _, _ = read_fer(data)
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
    for split, n in (("valid", valid_views), ("test", test_views)):
        idx = order[split][:n]
        for kind, levels in DEGRADATIONS.items():
            for k, level in enumerate(levels):
                if n:
                    transforms = [degrade(kind, level, seed * 1_000_003 + int(i)) for i in idx]
                    parts.append((f"{split}-{kind}-{k}-{n}-s{seed}", idx, transforms, {}))
    todo = [p for p in parts if not (cache / f"{p[0]}.npz").exists()]
    faces = FaceFeatures(expression=True, static_images=True)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        for name, index, transforms, extra in todo:
            task = progress.add_task(name, total=len(index))
            values, found = _extract(images[index], transforms, faces, progress, task)
            atomic_write_npz(cache / f"{name}.npz", {"values": values, "found": found, "index": index, "format": np.int64(FORMAT), **extra})
    manifest = {"data": str(Path(data).resolve()), "parts": [p[0] for p in parts], "seed": seed,
                "degradations": {k: list(map(str, v)) for k, v in DEGRADATIONS.items()},
                "seconds": round(time.perf_counter() - started, 1)}
    atomic_write_json(cache / "manifest.json", manifest)
    return manifest


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.extractors.datasets.fer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="fer2013-48px.npz (default: $QAMOE_SHARED_DATA/fer2013/fer2013-48px.npz)")
    p.add_argument("--cache", help="cache folder (default: $QAMOE_CACHE/live/fer, else ~/.cache/qamoe/live/fer)")
    for name, default in (("train", 3000), ("valid", 800), ("test", 800), ("train-views", 1200), ("test-views", 300),
                          ("valid-views", 0)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    try:
        manifest = build(args.data, args.cache, train=args.train, valid=args.valid, test=args.test,
                         train_views=args.train_views, test_views=args.test_views, valid_views=args.valid_views, seed=args.seed)
    except DataError as exc:
        raise SystemExit(f"{p.prog}: {exc}") from None
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
