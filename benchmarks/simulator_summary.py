"""What the built-in simulator gives: unimodal and fused results, and trained checkpoints side by side.

    .venv/bin/python benchmarks/simulator_summary.py --checkpoints runs/spectrum runs/clean \
        [--out benchmarks/results/simulator-summary.json]

1. A ridge regression on mean- and max-pooled features of each modality alone and of all three
   (closed form, no seed involved): how informative each modality is on its own, and how much
   fusion adds.
2. Each checkpoint on the test split (data seed 0, degradation seed 0): clean, at lambda = 0.5,
   eta = 0.5, and with only one modality available (Protocol I subsets).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from qamoe.checkpoint import load_checkpoint
from qamoe.cli.common import metrics_table
from qamoe.data.synthetic import make_synthetic, ridge_test_predictions
from qamoe.tensors import TensorSplit
from qamoe.evaluate import predict_split, sigma_ref_tensors
from qamoe.metrics import regression_metrics

MODALITIES = ("text", "audio", "vision")
SHOWN = ("Non0_acc_2", "Mult_acc_7", "MAE", "Corr")


def ridge(data, names) -> dict:
    return regression_metrics(ridge_test_predictions(data, names), data.splits["test"].labels)


def checkpoint_rows(path: str, data) -> dict:
    ck = load_checkpoint(path)
    split = TensorSplit(data.splits["test"], ck.stats)
    sigma_ref = sigma_ref_tensors(ck.stats)
    run = lambda **kw: predict_split(ck.model, split, sigma_ref=sigma_ref, seed=0, **kw).metrics(ck.config)  # noqa: E731
    rows = {"clean {t,a,v}": run(), "λ=0.5 η=0.5": run(noise=0.5, missing_rate=0.5)}
    for keep in MODALITIES:
        rows[f"clean {{{keep[0]}}} only"] = run(drop=frozenset(set(MODALITIES) - {keep}))
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoints", nargs="*", default=[])
    p.add_argument("--out", default="benchmarks/results/simulator-summary.json")
    args = p.parse_args()
    data = make_synthetic(0)
    console = Console()
    result = {"ridge": {"+".join(n[0] for n in names): ridge(data, names)
                        for names in (["text"], ["audio"], ["vision"], list(MODALITIES))}}
    console.print(metrics_table("ridge on pooled features (test split)",
                                {k: {m: v[m] for m in SHOWN} for k, v in result["ridge"].items()}))
    for path in args.checkpoints:
        rows = checkpoint_rows(path, data)
        result[path] = rows
        console.print(metrics_table(f"{path} (test split)", {k: {m: v[m] for m in SHOWN} for k, v in rows.items()}))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
