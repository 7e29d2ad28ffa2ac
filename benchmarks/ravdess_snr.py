"""Protocol II on real audio: a checkpoint's r_audio over an SNR sweep on held-out RAVDESS actors.

For each condition (clean, 20, 10, 5, 0, -5 dB by default) the test actors' waveforms get noise at that
SNR before extraction (`--dataset ravdess --audio-snr DB`, the same noise realisation per clip scaled
to each SNR, so the conditions are paired), and the checkpoint runs on every clip. Reported per SNR:
mean r_audio (and the other r_m), the share of clips whose audio went missing (the VAD found no
speech), MAE / correlation (sentiment) or accuracy (emotion), binary-valence balanced accuracy
(sentiment checkpoints: sign of the prediction on the clips of the README's positive / negative sets).
Over all (clip, condition) samples: Spearman rho between r_audio and the SNR (clean ranked highest),
pooled and among clips where audio is present; per clip: the share of clips whose r_audio never rises as
the SNR falls, and the mean within-clip rho. A table and a JSON file.

    python benchmarks/ravdess_snr.py --checkpoint runs/ravdess [--data DIR] [--split test] [--snrs clean,20,10,5,0,-5] \
        [--noise-kind white] [--noise-seed 0] [--out benchmarks/results/ravdess-snr.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import qamoe  # noqa: F401
from qamoe.data.ravdess import NEGATIVE, POSITIVE, Condition, load_ravdess, parse_snrs


def balanced_valence(prediction: np.ndarray, clips) -> float | None:
    truth = np.array([1 if c.emotion in POSITIVE else 0 if c.emotion in NEGATIVE else -1 for c in clips])
    keep = truth >= 0
    if not keep.any():
        return None
    pred = (np.asarray(prediction)[keep] > 0).astype(int)
    truth = truth[keep]
    return float(np.mean([np.mean(pred[truth == c] == c) for c in (0, 1) if (truth == c).any()]))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", help="RAVDESS folder (default: the checkpoint's, else $QAMOE_SHARED_DATA/ravdess)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test", "all"))
    p.add_argument("--snrs", default="clean,20,10,5,0,-5")
    p.add_argument("--noise-kind", default="white", choices=("white", "pink", "babble"))
    p.add_argument("--noise-seed", type=int, default=0)
    p.add_argument("--cache", help="feature cache (default ~/.cache/qamoe/ravdess)")
    p.add_argument("--out", default="benchmarks/results/ravdess-snr.json")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table
    from scipy.stats import spearmanr

    from qamoe.checkpoint import load_checkpoint
    from qamoe.data.ravdess import concat_splits
    from qamoe.tensors import TensorSplit
    from qamoe.evaluate import predict_split, sigma_ref_tensors
    from qamoe.metrics import regression_metrics

    console = Console(width=140)
    checkpoint = load_checkpoint(args.checkpoint)
    stored = checkpoint.provenance.get("dataset_args", {}).get("ravdess") or {}
    data = args.data or stored.get("data")
    options = {"task": stored.get("task", "sentiment"), "text": stored.get("text", "statement"), "folds": stored.get("folds"),
               "noise_kind": args.noise_kind, "noise_seed": args.noise_seed, "cache": args.cache}
    if args.split == "all":
        options["all_clips"] = True
    else:
        options["snr_splits"] = (args.split,)
    snrs = parse_snrs(args.snrs)
    rows, per_clip_r, per_clip_present, ids = [], [], [], None
    for snr in snrs:
        dataset = load_ravdess(data, audio_snr=snr, **options)
        dataset.refill(checkpoint.stats)  # absent audio (no speech found) -> the checkpoint's "missing" frame
        split = concat_splits(dataset) if args.split == "all" else dataset.splits[args.split]
        clips = dataset.clips["test" if args.split == "all" else args.split]
        present = dataset.present["test" if args.split == "all" else args.split]["audio"]
        if ids is None:
            ids = split.ids
        assert split.ids == ids, "conditions must hold the same clips in the same order"
        pred = predict_split(checkpoint.model, TensorSplit(split, checkpoint.stats), sigma_ref=sigma_ref_tensors(checkpoint.stats))
        label = Condition(snr, args.noise_kind, args.noise_seed).label
        row = {"condition": label, "snr_db": snr, "n": len(ids), "audio_missing": float(np.mean(~present)),
               "mean_r": {m: float(np.mean(r)) for m, r in pred.reliability.items()}}
        if checkpoint.config.num_classes:
            row["accuracy"] = float(np.mean(np.argmax(pred.prediction, 1) == pred.labels))
        else:
            metrics = regression_metrics(pred.prediction, pred.labels)
            row.update({"MAE": metrics["MAE"], "Corr": metrics["Corr"], "valence_balanced_acc": balanced_valence(pred.prediction, clips)})
        rows.append(row)
        per_clip_r.append(pred.reliability["audio"])
        per_clip_present.append(present)
    r = np.stack(per_clip_r, 1)  # (clips, conditions)
    present = np.stack(per_clip_present, 1)
    rank = np.array([np.inf if s is None else s for s in snrs])
    rank = np.argsort(np.argsort(rank)).astype(float)  # clean ranked highest
    level = np.broadcast_to(rank, r.shape)
    rho, pval = spearmanr(r.ravel(), level.ravel())
    rho_present, _ = spearmanr(r[present], level[present]) if present.sum() > 2 else (float("nan"), None)
    order = np.argsort(-rank)  # from the cleanest to the noisiest
    within = [spearmanr(r[i], rank)[0] for i in range(len(r)) if np.ptp(r[i]) > 0]
    monotone_clips = float(np.mean(np.all(np.diff(r[:, order], axis=1) <= 1e-9, axis=1)))
    means = [row["mean_r"]["audio"] for row in rows]
    payload = {
        "command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "checkpoint": str(Path(args.checkpoint).resolve()), "split": args.split, "noise_kind": args.noise_kind,
        "noise_seed": args.noise_seed, "dataset_options": {k: v for k, v in options.items() if k != "cache"},
        "rows": rows,
        # positive: r_audio falls as the SNR falls; vs the noise level (the reliability protocol's sign) it is -rho
        "spearman_rho_r_audio_vs_snr": float(rho), "p_value": float(pval), "spearman_rho_present_only": float(rho_present),
        "spearman_rho_r_audio_vs_noise_level": float(-rho),
        "mean_r_audio_monotone": bool(np.all(np.diff(np.array(means)[order]) < 0)),
        "share_of_clips_monotone": monotone_clips,
        "mean_within_clip_rho": float(np.mean(within)) if within else None,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
    table = Table(title=f"{args.checkpoint}: {args.split} actors, {args.noise_kind} noise on the waveform")
    columns = ["condition", "r_audio", "r_text", "r_vision", "audio missing"]
    columns += ["accuracy"] if checkpoint.config.num_classes else ["MAE", "Corr", "valence bal. acc"]
    for col in columns:
        table.add_column(col, justify="left" if col == "condition" else "right")
    for row in rows:
        cells = [row["condition"], *(f"{row['mean_r'].get(m, float('nan')):.3f}" for m in ("audio", "text", "vision")),
                 f"{row['audio_missing']:.3f}"]
        if checkpoint.config.num_classes:
            cells.append(f"{row['accuracy']:.3f}")
        else:
            bal = row["valence_balanced_acc"]
            cells += [f"{row['MAE']:.3f}", f"{row['Corr']:.3f}", "" if bal is None else f"{bal:.3f}"]
        table.add_row(*cells)
    console.print(table)
    console.print(f"Spearman rho(r_audio, SNR) = {rho:.3f} (vs the noise level {-rho:.3f}; p = {pval:.2g}; audio present only {rho_present:.3f}); "
                  f"mean r_audio monotone: {payload['mean_r_audio_monotone']}; clips monotone: {monotone_clips:.2f}; "
                  f"mean within-clip rho {payload['mean_within_clip_rho']}")
    console.print(f"written to {out}")
    return payload


if __name__ == "__main__":
    main()
