"""Simple anchors on RAVDESS, on the same actor folds as `--dataset ravdess`: logistic regression on

- log-mel statistics: mean and std over the whole clip of the 40 log-mel bands of the project's own
  audio front end (`qamoe.extractors.audio.AudioFeatures`, every 10 ms frame of the clip, 80 numbers);
- the 35 OpenFace action units of the take (`openface-au.csv`);
- both together (115 numbers);

for binary valence (positive = happy, calm; negative = sad, angry, fearful, disgust; neutral and
surprised left out; the data README's convention) and the 8 emotions, scored by balanced accuracy
(the mean of the per-class recalls) on the validation and the test actors. Features are standardised
with the training actors' statistics; classes are weighted inversely to their frequency; the inverse
regularisation C is chosen on the validation actors only (grid 1e-5 .. 1e3, half decades), then the model is
scored once on test.

    python benchmarks/ravdess_baselines.py [--data DIR] [--folds 1-14:15-17:18-20] [--seed 0] [--out benchmarks/results/ravdess-baselines.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import qamoe  # noqa: F401  (sets the OpenMP policy before torch / sklearn load)
from qamoe.data.ravdess import DEFAULT_FOLDS, EMOTIONS, default_data, read_action_units, read_labels, split_clips
from qamoe.extractors.datasets.ravdess import read_samples

C_GRID = tuple(10.0 ** k for k in np.arange(-5, 3.01, 0.5))


def logmel_stats(samples: np.ndarray) -> np.ndarray:
    """(80,) mean and std over the clip's frames of the 40 log-mel bands (AudioFeatures, 16 kHz)."""
    from qamoe.extractors.audio import N_MELS, AudioFeatures
    from qamoe.extractors.base import AudioChunk

    frames = AudioFeatures().run([AudioChunk(0.0, samples, 16000)])
    mel = np.stack([f.values[:N_MELS] for f in frames])
    return np.concatenate([mel.mean(0), mel.std(0)]).astype(np.float32)


def balanced_accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    classes = np.unique(truth)
    return float(np.mean([np.mean(pred[truth == c] == c) for c in classes]))


def fit_select(x: dict, y: dict, seed: int) -> dict:
    """Standardise on train, choose C on valid by balanced accuracy, score valid and test."""
    from sklearn.linear_model import LogisticRegression

    mean, std = x["train"].mean(0), x["train"].std(0) + 1e-8
    z = {s: (v - mean) / std for s, v in x.items()}
    scores = []
    for c in C_GRID:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed)
        model.fit(z["train"], y["train"])
        scores.append((balanced_accuracy(y["valid"], model.predict(z["valid"])), c, model))
    best_valid, best_c, model = max(scores, key=lambda t: (t[0], -abs(np.log10(t[1]))))  # ties: nearest to C = 1
    return {"C": float(best_c), "valid": best_valid, "test": balanced_accuracy(y["test"], model.predict(z["test"])),
            "train": balanced_accuracy(y["train"], model.predict(z["train"])),
            "n": {s: int(len(v)) for s, v in y.items()}}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="RAVDESS folder (default $QAMOE_SHARED_DATA/ravdess)")
    p.add_argument("--folds", default=DEFAULT_FOLDS)
    p.add_argument("--seed", type=int, default=0, help="random_state of the solver (lbfgs is deterministic)")
    p.add_argument("--out", default="benchmarks/results/ravdess-baselines.json")
    args = p.parse_args(argv)
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    console = Console()
    root = Path(args.data) if args.data else default_data()
    by_split = split_clips(read_labels(root), args.folds)
    aus, _ = read_action_units(root)
    started = time.perf_counter()
    feats: dict[str, dict[str, np.ndarray]] = {"logmel": {}, "au": {}}
    labels: dict[str, np.ndarray] = {}
    for split, clips in by_split.items():
        clips = [c for c in clips if c.id in aus]  # the few takes OpenFace lost are left out of every set alike
        mel = [logmel_stats(read_samples(str(c.path))) for c in track(clips, description=f"log-mel statistics, {split}", console=console)]
        feats["logmel"][split] = np.stack(mel)
        feats["au"][split] = np.stack([aus[c.id] for c in clips])
        labels[split] = np.array([c.emotion_index for c in clips])
        by_split[split] = clips
    feats["logmel+au"] = {s: np.concatenate([feats["logmel"][s], feats["au"][s]], 1) for s in by_split}
    extract_s = time.perf_counter() - started
    valence = {s: np.array([c.valence if c.valence is not None else -1 for c in cs]) for s, cs in by_split.items()}
    results = {}
    for name, x in feats.items():
        keep = {s: valence[s] >= 0 for s in x}
        results[name] = {
            "valence": fit_select({s: x[s][keep[s]] for s in x}, {s: valence[s][keep[s]] for s in x}, args.seed),
            "emotion8": fit_select(x, labels, args.seed),
        }
    payload = {
        "command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "data": str(root), "folds": args.folds, "seed": args.seed, "C_grid": list(C_GRID),
        "actors": {s: sorted({c.actor for c in cs}) for s, cs in by_split.items()},
        "feature_seconds": round(extract_s, 1), "results": results,
        "chance": {"valence": 0.5, "emotion8": 1 / len(EMOTIONS)},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
    table = Table(title=f"RAVDESS baselines, balanced accuracy (folds {args.folds}, C chosen on valid)")
    for col in ("features", "task", "C", "train", "valid", "test"):
        table.add_column(col, justify="left" if col in ("features", "task") else "right")
    for name, tasks in results.items():
        for task, r in tasks.items():
            table.add_row(name, task, f"{r['C']:.3g}", f"{r['train']:.3f}", f"{r['valid']:.3f}", f"{r['test']:.3f}")
    console.print(table)
    console.print(f"written to {out}")
    return payload


if __name__ == "__main__":
    main()
