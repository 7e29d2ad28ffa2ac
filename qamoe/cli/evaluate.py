"""qamoe-eval: score a checkpoint on a data set split under a chosen noise level, missing rate and
set of available modalities; writes eval.json and prints a table."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from qamoe.checkpoint import CheckpointError, atomic_write_json, load_checkpoint
from qamoe.cli.common import clear_errors, metrics_table, use_all_cores
from qamoe.data.registry import DATASETS, load_dataset
from qamoe.data.tensors import TensorSplit
from qamoe.evaluate import predict_split, sigma_ref_tensors


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-eval", description=__doc__)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data")
    p.add_argument("--data-seed", type=int, help="simulator seed (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--noise", type=float, default=0.0, help="noise intensity lambda")
    p.add_argument("--missing", type=float, default=0.0, help="missing rate eta")
    p.add_argument("--modalities", help="comma-separated available modalities (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the degradation")
    p.add_argument("--out", required=True, help="directory for eval.json")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    console = Console()
    use_all_cores()
    with clear_errors(console):
        for name, value in (("--noise", args.noise), ("--missing", args.missing)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        checkpoint = load_checkpoint(args.checkpoint)
        config = checkpoint.config
        data_seed = args.data_seed
        if data_seed is None:
            data_seed = checkpoint.provenance.get("dataset_args", {}).get("data_seed", 0)
        dataset = load_dataset(args.dataset, args.data, seed=data_seed)
        if dataset.modality_dims != {m.name: m.dim for m in config.modalities}:
            raise CheckpointError(
                f"checkpoint reads {[(m.name, m.dim) for m in config.modalities]}, "
                f"data set {dataset.name} has {sorted(dataset.modality_dims.items())}"
            )
        available = set(config.modality_names)
        if args.modalities:
            available = {m.strip() for m in args.modalities.split(",") if m.strip()}
            unknown = available - set(config.modality_names)
            if unknown:
                raise ValueError(f"unknown modality {sorted(unknown)}; the checkpoint reads {list(config.modality_names)}")
        drop = frozenset(set(config.modality_names) - available)
        split = TensorSplit(dataset.splits[args.split], checkpoint.stats)
        predictions = predict_split(
            checkpoint.model, split, sigma_ref=sigma_ref_tensors(checkpoint.stats),
            noise=args.noise, missing_rate=args.missing, drop=drop, seed=args.seed,
        )
        metrics = predictions.metrics(config)
        reliability = {m: float(np.mean(r)) for m, r in predictions.reliability.items()}
        result = {
            "checkpoint": str(Path(args.checkpoint).resolve()),
            "dataset": dataset.name,
            "split": args.split,
            "noise": args.noise,
            "missing": args.missing,
            "modalities": sorted(available),
            "seed": args.seed,
            "metrics": metrics,
            "mean_reliability": reliability,
            "mean_std": float(np.mean(np.exp(0.5 * predictions.log_variance))),
        }
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "eval.json", result)
        condition = f"λ={args.noise} η={args.missing} {{{','.join(sorted(available))}}}"
        console.print(metrics_table(f"{dataset.name} {args.split}", {condition: metrics}))
        table = Table(title="mean reliability r_m")
        for name in reliability:
            table.add_column(name, justify="right")
        table.add_row(*(f"{v:.3f}" for v in reliability.values()))
        console.print(table)
        console.print(f"written to {out / 'eval.json'}")


if __name__ == "__main__":
    main()
