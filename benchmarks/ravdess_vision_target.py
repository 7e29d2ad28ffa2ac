"""Why r_vision does not follow the feature noise among present faces on RAVDESS.

RAVDESS's vision is one vector of 35 OpenFace action units per clip (the mean over the take's frames).
On the held-out actors, every clip's face gets feature noise lambda ~ U(0, 0.7) (as in the reliability
protocol; nothing missing) and this measures, against lambda:

- r_vision, as the model gives it;
- the consistency target r*_vision the quality head is trained towards (`qamoe.reliability`: how far
  the vision probe's answer moves from its clean answer, against the spread of clean answers);
- the vision probe's own error against the label (what the face alone still tells);
- how far the noisy vector lies outside the range of the clean training vectors (a cue that needs no
  model: it shows the noise is visible in the input).

How far a quality head fitted to the target could rank noisy faces by lambda is bounded by how the
target itself ranks them; how closely the trained head follows the target is rho(r, r*). The target is
`qamoe.reliability.ConsistencyTargets` on the split as one batch (training keeps a running spread over
its batches of 16 instead).

    python benchmarks/ravdess_vision_target.py --checkpoint runs/ravdess-1111 [--split test] [--seed 0] \
        [--out docs/reliability-report/ravdess/vision-target-seed1111.json]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

import qamoe  # noqa: F401

MAX_LAMBDA = 0.7  # the mixture's upper bound (evaluate.MIXTURE_MAX)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--seed", type=int, default=0, help="the noise's draw")
    p.add_argument("--out", help="JSON file for the numbers")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from qamoe.checkpoint import load_checkpoint
    from qamoe.data.ravdess.loader import load_ravdess
    from qamoe.degradation import degrade
    from qamoe.evaluate import sigma_ref_tensors
    from qamoe.files import atomic_write_json
    from qamoe.reliability import ConsistencyTargets
    from qamoe.tensors import TensorSplit

    checkpoint = load_checkpoint(args.checkpoint)
    model, config = checkpoint.model.eval(), checkpoint.config
    if "vision" not in config.modality_names or not hasattr(model, "probe"):
        raise SystemExit("the checkpoint has no vision modality or no probes (a QA-MoE trained with the consistency target)")
    stored = checkpoint.provenance.get("dataset_args", {}).get("ravdess") or {}
    dataset = load_ravdess(stored.get("data"), task=stored.get("task", "sentiment"), text=stored.get("text", "statement"),
                           folds=stored.get("folds"), voice=bool(stored.get("voice", False)))
    present = np.asarray(dataset.present[args.split]["vision"], bool)  # (N,) clips with action units
    split = TensorSplit(dataset.splits[args.split], checkpoint.stats)
    batch = split.batch(torch.arange(len(split)))
    n = len(split)
    generator = torch.Generator().manual_seed(args.seed)
    lam = torch.rand(n, generator=generator) * MAX_LAMBDA  # (N,)
    noise = torch.zeros(n, len(config.modality_names))
    noise[:, config.modality_names.index("vision")] = lam
    noisy = degrade(batch.features, batch.lengths, modalities=config.modalities, sigma_ref=sigma_ref_tensors(checkpoint.stats),
                    noise=noise, missing_rate=0.0, generator=generator)
    with torch.no_grad():
        clean_enc, noisy_enc = model.encode(batch.features, batch.lengths), model.encode(noisy.features, noisy.lengths)
        clean_answer, noisy_answer = model.probe(clean_enc)["vision"].float(), model.probe(noisy_enc)["vision"].float()
    if clean_answer.ndim > 1:  # class logits: compare probabilities, as the target does
        raise SystemExit("a classification checkpoint: this diagnosis reads a sentiment regression")
    keep = torch.as_tensor(present)
    # r*_vision as training computes it (the split as one batch: the spread of its clean answers), (N,)
    target = ConsistencyTargets()(model, (batch.features, batch.lengths), (noisy.features, noisy.lengths), noisy.missing)["vision"]
    r = noisy_enc["vision"].reliability
    train = TensorSplit(dataset.splits["train"], checkpoint.stats).features["vision"][:, 0]  # (N_train, 35)
    train = train[torch.as_tensor(np.asarray(dataset.present["train"]["vision"], bool))]
    x = noisy.features["vision"][:, 0]
    outside = (torch.relu(train.amin(0) - x) + torch.relu(x - train.amax(0))).mean(-1)  # (N,)
    labels = batch.labels.float()
    probe_error = (noisy_answer - labels).abs()

    lam_p = lam[keep].numpy()
    rho = {name: float(spearmanr(v[keep].numpy(), lam_p)[0]) for name, v in
           (("r_vision", r), ("target r*_vision", target), ("vision probe's absolute error", probe_error),
            ("excursion outside the clean training range", outside))}
    thirds = np.quantile(lam_p, [1 / 3, 2 / 3])
    bins = np.digitize(lam_p, thirds)  # 0, 1, 2: terciles of lambda
    by_tercile = [{"lambda": [float(lam_p[bins == b].min()), float(lam_p[bins == b].max())], "n": int((bins == b).sum()),
                   "mean_r": float(r[keep].numpy()[bins == b].mean()), "mean_target": float(target[keep].numpy()[bins == b].mean()),
                   "probe_mae": float(probe_error[keep].numpy()[bins == b].mean())} for b in range(3)]
    quantiles = {name: np.quantile(v[keep].numpy(), [0.1, 0.5, 0.9]).round(3).tolist() for name, v in (("r_vision", r), ("target", target))}
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    result = {"command": command, "checkpoint": args.checkpoint, "split": args.split, "seed": args.seed,
              "n_present": int(keep.sum()), "spearman_with_lambda": rho, "quantiles_10_50_90": quantiles,
              "rho_r_target": float(spearmanr(r[keep].numpy(), target[keep].numpy())[0]),
              "clean_probe_mae": float((clean_answer - labels).abs()[keep].mean()), "terciles": by_tercile}

    console = Console(width=140)
    table = Table(title=f"RAVDESS {args.split} actors, present faces (n={result['n_present']}), lambda ~ U(0, {MAX_LAMBDA})")
    for column in ("lambda", "n", "mean r_vision", "mean target r*", "vision probe MAE"):
        table.add_column(column, justify="right")
    for t in by_tercile:
        table.add_row(f"{t['lambda'][0]:.2f}-{t['lambda'][1]:.2f}", str(t["n"]), f"{t['mean_r']:.3f}", f"{t['mean_target']:.3f}",
                      f"{t['probe_mae']:.3f}")
    console.print(table)
    for name, value in rho.items():
        console.print(f"Spearman rho({name}, lambda) = {value:+.3f}")
    console.print(f"target r* quantiles 10/50/90 %: {quantiles['target']}; r_vision: {quantiles['r_vision']}; "
                  f"rho(r, r*) = {result['rho_r_target']:+.3f}; clean probe MAE {result['clean_probe_mae']:.3f}")
    if args.out:
        atomic_write_json(args.out, result)
        console.print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
