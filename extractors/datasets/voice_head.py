"""Fits the shipped voice-emotion head (`qamoe/assets/voice/`) on the train actors' pooled Whisper
encoder states, choosing its weight decay on the validation actors (mean log-loss over the clean and
noisy conditions: the head's log-probabilities are features, so they must be calibrated, not only
ranked right). Test actors are not read.

    python -m qamoe.extractors.datasets.voice_head [--data DIR] [--cache DIR] [--out qamoe/assets/voice]

Needs the "voice" views of every clip under `VOICE_HEAD_CONDITIONS` (`python -m
qamoe.extractors.datasets.ravdess --voice --snrs clean,20,10,5,0,-5`). Writes the head, its card
(`CARD.md`) and `benchmarks/results/voice-head.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qamoe.data import voice_head
from qamoe.data.ravdess import (
    ASR_MODEL, DEFAULT_FOLDS, NEGATIVE, POSITIVE, VOICE_HEAD_CONDITIONS, ClipKeys, FeatureCache, default_data, read_labels,
    split_clips,
)
from qamoe.dataset import DataError
from qamoe.shipped import ASSETS

L2_GRID = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)
SEED_NOTE = "deterministic: L-BFGS from zeros, no sampling"


def pooled_states(cache: FeatureCache, by_split: dict, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x (N, 768), emotion (N,), actor (N,), condition label per row) of a split under every head condition."""
    settings = cache.settings()
    if settings is None:
        raise DataError(f"no RAVDESS features in {cache.root}")
    keys = ClipKeys(by_split, settings)
    xs, ys, actors, labels, missing = [], [], [], [], 0
    for condition in VOICE_HEAD_CONDITIONS:
        for clip in by_split[split]:
            arrays = cache.get("voice", keys.voice(clip, split, condition))
            if arrays is None:
                missing += 1
                continue
            xs.append(arrays["pooled"])
            ys.append(clip.emotion_index)
            actors.append(clip.actor)
            labels.append(condition.label)
    if missing:
        raise DataError(f"{missing} voice view(s) of split {split!r} not built: python -m qamoe.extractors.datasets.ravdess "
                        "--voice --snrs clean,20,10,5,0,-5")
    return np.stack(xs), np.array(ys), np.array(actors), labels


def scores(head: voice_head.VoiceHead, x: np.ndarray, y: np.ndarray) -> dict:
    """Log-loss, 8-emotion accuracy and balanced accuracy, balanced binary valence (data README)."""
    speech = np.abs(x).sum(1) > 0
    lp = head.log_probs(x[speech])
    y = y[speech]
    pred = lp.argmax(1)
    recalls = [float((pred[y == k] == k).mean()) for k in np.unique(y)]
    names = voice_head.EMOTIONS
    pos = np.array([names[k] in POSITIVE for k in y])
    neg = np.array([names[k] in NEGATIVE for k in y])
    p_pos = np.exp(lp[:, [names.index(e) for e in POSITIVE]]).sum(1)
    p_neg = np.exp(lp[:, [names.index(e) for e in NEGATIVE]]).sum(1)
    says_pos = p_pos > p_neg
    valence = 0.5 * (float(says_pos[pos].mean()) + float((~says_pos[neg]).mean()))
    return {"n": int(len(y)), "log_loss": float(-lp[np.arange(len(y)), y].mean()), "accuracy": float((pred == y).mean()),
            "balanced_accuracy": float(np.mean(recalls)), "binary_valence": valence}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.extractors.datasets.voice_head", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="RAVDESS folder (default $QAMOE_SHARED_DATA/ravdess)")
    p.add_argument("--cache", help="RAVDESS feature cache (default $QAMOE_CACHE/ravdess)")
    p.add_argument("--out", default=str(ASSETS / "voice"))
    p.add_argument("--results", default="benchmarks/results/voice-head.json")
    args = p.parse_args(argv)
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console(stderr=True)
    root = Path(args.data) if args.data else default_data()
    by_split = split_clips(read_labels(root), DEFAULT_FOLDS)
    cache = FeatureCache(args.cache)
    try:
        x_train, y_train, actors, _ = pooled_states(cache, by_split, "train")
        x_valid, y_valid, _, valid_conditions = pooled_states(cache, by_split, "valid")
    except DataError as exc:
        raise SystemExit(f"{p.prog}: {exc}") from None
    table = Table(title="voice head: validation actors 15-17, every condition")
    for column in ("l2", "log-loss", "8-emotion acc", "balanced acc", "binary valence"):
        table.add_column(column, justify="right")
    grid = {}
    for l2 in L2_GRID:
        head = voice_head.fit(x_train, y_train, l2=l2)
        grid[l2] = scores(head, x_valid, y_valid)
        r = grid[l2]
        table.add_row(f"{l2:g}", f"{r['log_loss']:.3f}", f"{r['accuracy']:.3f}", f"{r['balanced_accuracy']:.3f}", f"{r['binary_valence']:.3f}")
    console.print(table)
    best = min(grid, key=lambda k: grid[k]["log_loss"])
    conditions = [c.label for c in VOICE_HEAD_CONDITIONS]
    head = voice_head.fit(x_train, y_train, l2=best, card={
        "encoder": f"whisper {ASR_MODEL} (qamoe.extractors.asr)", "pooling": "mean and std over the utterance's encoder states",
        "actors": sorted({int(a) for a in actors}), "conditions": conditions, "emotions": list(voice_head.EMOTIONS),
        "chosen_on": "validation actors 15-17, mean log-loss", "command": " ".join([p.prog, *(argv or [])]),
    })
    per_condition = {}
    valid_conditions = np.array(valid_conditions)
    for label in conditions:
        rows = valid_conditions == label
        per_condition[label] = scores(head, x_valid[rows], y_valid[rows])
    path = head.save(args.out)
    results = {"l2_grid": {f"{k:g}": v for k, v in grid.items()}, "chosen_l2": best, "valid_by_condition": per_condition,
               "train_rows": int(len(y_train)), "head": str(path), "seed": SEED_NOTE}
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(results, indent=2) + "\n")
    by_condition = Table(title=f"chosen l2 = {best:g}: validation by condition")
    for column in ("condition", "n", "8-emotion acc", "binary valence"):
        by_condition.add_column(column, justify="right")
    for label, r in per_condition.items():
        by_condition.add_row(label, str(r["n"]), f"{r['accuracy']:.3f}", f"{r['binary_valence']:.3f}")
    console.print(by_condition)
    print(json.dumps({"head": str(path), "chosen_l2": best, "valid": grid[best]}))


if __name__ == "__main__":
    main()
