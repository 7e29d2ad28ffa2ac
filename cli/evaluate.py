"""qamoe-eval: score a checkpoint on a data set split under a chosen noise level, missing rate and
set of available modalities (writes eval.json), or run one of the paper's protocols on one or more
models and training seeds (writes PROTOCOL.json; `--protocol all` also REPORT.md and heatmaps).

  qamoe-eval --checkpoint runs/default --noise 0.3 --missing 0.2 --out eval/
  qamoe-eval --protocol all --seeds 1111,1112,1113 --out report/ \\
      --checkpoint qamoe=runs/bench/qamoe --checkpoint mult=runs/bench/mult/seed{seed}

With --seeds, each --checkpoint names one model: PATH/seed<SEED> or PATH with a {seed} placeholder
is the checkpoint of that training seed; tables show mean ± std over seeds (as MMSA reports).
Every model and seed is evaluated on exactly the same corruptions (drawn from --seed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from qamoe.checkpoint import load_checkpoint
from qamoe.cli.common import clear_errors, make_console, metrics_table, parse_seeds, use_all_cores
from qamoe.cli import ravdess_options
from qamoe.data.registry import DATASETS
from qamoe.distributed import resolve_device
from qamoe.evaluate import predict_split, sigma_ref_tensors
from qamoe.harness.experiments import check_reads, dataset_for, evaluation_split, load_models, run_evaluation
from qamoe.files import atomic_write_json
from qamoe.harness.protocols import PROTOCOLS
from qamoe.harness.records import ProtocolPayload
from qamoe.reliability_scale import ReliabilityScale, scaled
from qamoe.variance_scale import VarianceScale


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, action="append",
                   help="checkpoint directory; with --protocol: [LABEL=]PATH, repeatable, PATH may hold {seed}")
    p.add_argument("--protocol", choices=(*PROTOCOLS, "all"),
                   help="run a protocol of the paper instead of a single condition")
    p.add_argument("--seeds", help="comma-separated training seeds, e.g. 1111,1112,1113 (with --protocol)")
    p.add_argument("--title", default="QA-MoE evaluation report", help="title of REPORT.md (--protocol all)")
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data")
    p.add_argument("--data-seed", type=int, help="simulator seed (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test", "all"),
                   help="all: every clip of the data (ravdess: every clip of the folder, e.g. other speakers)")
    p.add_argument("--predictions", help="also write one CSV row per clip: id, truth, prediction, std, r_<modality>")
    p.add_argument("--noise", type=float, default=0.0, help="noise intensity lambda")
    p.add_argument("--missing", type=float, default=0.0, help="missing rate eta")
    p.add_argument("--modalities", help="comma-separated available modalities (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the degradation")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                   help="where the model runs (default cpu; cuda without a usable GPU is an error)")
    p.add_argument("--out", required=True, help="directory for eval.json / PROTOCOL.json")
    ravdess_options.add_arguments(p, training=False)
    args = p.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.protocol is None and (len(args.checkpoint) > 1 or args.seeds):
        p.error("several checkpoints and --seeds need --protocol")
    if args.protocol is None:
        args.checkpoint = args.checkpoint[0]
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    console = make_console()
    use_all_cores()
    with clear_errors(console):
        if Path(args.out).exists() and not Path(args.out).is_dir():  # said before any work, not after it
            raise ValueError(f"--out {args.out} is a file; give a folder")
        if args.protocol is not None:
            run_protocols(args, console)
        else:
            evaluate_condition(args, console)


def evaluate_condition(args: argparse.Namespace, console: Console) -> None:
    """One checkpoint under one condition (noise, missing rate, available modalities): eval.json."""
    for name, value in (("--noise", args.noise), ("--missing", args.missing)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
    checkpoint = load_checkpoint(args.checkpoint)
    checkpoint.model.to(resolve_device(args.device))
    config = checkpoint.config
    dataset = dataset_for(checkpoint, args.dataset, args.data, data_seed=args.data_seed,
                          options=dataset_options(args, checkpoint))
    check_reads(checkpoint, dataset)
    available = set(config.modality_names)
    if args.modalities:
        available = {m.strip() for m in args.modalities.split(",") if m.strip()}
        unknown = available - set(config.modality_names)
        if unknown:
            raise ValueError(f"unknown modality {sorted(unknown)}; the checkpoint reads {list(config.modality_names)}")
    drop = frozenset(set(config.modality_names) - available)
    split = evaluation_split(dataset, args.split, checkpoint)
    predictions = scaled(predict_split(
        checkpoint.model, split, sigma_ref=sigma_ref_tensors(checkpoint.stats),
        noise=args.noise, missing_rate=args.missing, drop=drop, seed=args.seed,
    ), ReliabilityScale.from_extra(checkpoint.extra))  # r_m on the checkpoint's one scale, as everywhere
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
        # which scale r_m is read on: "validation" (the checkpoint's one reliability scale) or "none" (raw)
        "reliability_scale": ReliabilityScale.from_extra(checkpoint.extra).label,
        "mean_std": float(np.mean(VarianceScale.from_extra(checkpoint.extra).std(predictions.log_variance))),
    }
    if getattr(dataset, "options", None):
        result["dataset_options"] = dataset.options
    if args.predictions:
        write_predictions(args.predictions, split, predictions, checkpoint, dataset.class_names)
        console.print(f"predictions written to {args.predictions}")
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


def dataset_options(args, checkpoint) -> dict | None:
    """Loader options: ravdess reads its task, text source and folds from the checkpoint unless given."""
    if args.dataset != "ravdess":
        if args.audio_snr is not None:
            raise ValueError("--audio-snr degrades real audio before extraction: it needs --dataset ravdess")
        return None
    stored = checkpoint.provenance.get("dataset_args", {}).get("ravdess") or {}
    options = ravdess_options.options(args, stored, split=args.split)
    ravdess_options.build_features(args.data, options)  # extract what is not cached yet (the loader only reads)
    return options


def write_predictions(path, split, predictions, checkpoint, class_names=()) -> None:
    """One row per clip: id, truth, prediction, std (calibrated; empty for classes), r_<modality>."""
    import csv

    from qamoe.files import atomic_open

    modalities = list(predictions.reliability)
    std = VarianceScale.from_extra(checkpoint.extra).std(predictions.log_variance)
    with atomic_open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "truth", "prediction", "std", *(f"r_{m}" for m in modalities)])
        for row, i in enumerate(predictions.index):
            if checkpoint.config.num_classes:
                names = list(class_names) or [str(c) for c in range(checkpoint.config.num_classes)]
                truth, pred, sd = names[int(predictions.labels[row])], names[int(np.argmax(predictions.prediction[row]))], ""
            else:
                truth, pred, sd = f"{predictions.labels[row]:.4f}", f"{predictions.prediction[row]:.4f}", f"{std[row]:.4f}"
            writer.writerow([split.ids[int(i)], truth, pred, sd, *(f"{predictions.reliability[m][row]:.4f}" for m in modalities)])


def resolve_models(specs: list[str], seeds: list[int] | None) -> dict[str, list[tuple[int | None, Path]]]:
    """[LABEL=]PATH specs -> label: [(training seed, checkpoint dir), ...]."""
    models = {}
    for spec in specs:
        label, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        template = path
        if not label:  # runs/bench/mult/seed{seed} -> mult; runs/bench/mult -> mult
            parts = [part for part in Path(template).parts if "{seed}" not in part]
            label = parts[-1] if parts else template
        if label in models:
            raise ValueError(f"two --checkpoint options share the label {label!r}; name them LABEL=PATH")
        if seeds is None:
            if "{seed}" in template:
                raise ValueError(f"{template} holds {{seed}}: give --seeds")
            models[label] = [(None, Path(template))]
            continue
        entries = []
        for seed in seeds:
            if "{seed}" in template:
                entries.append((seed, Path(template.format(seed=seed))))
            else:
                entries.append((seed, Path(template) / f"seed{seed}"))
        models[label] = entries
    return models


def run_protocols(args: argparse.Namespace, console: Console) -> dict[str, ProtocolPayload]:
    """--protocol: the protocol(s) on every model and seed (experiments.run_evaluation); writes
    PROTOCOL.json, and for `all` also REPORT.md."""
    from qamoe.harness.report import rich_tables

    models = load_models(resolve_models(args.checkpoint, parse_seeds(args.seeds)), args.device)
    first = next(iter(models.values()))[0].checkpoint
    dataset = dataset_for(first, args.dataset, args.data, data_seed=args.data_seed, options=dataset_options(args, first))

    def show(payload: ProtocolPayload) -> None:
        for table in rich_tables(payload):
            console.print(table)

    return run_evaluation(
        models, dataset, protocols=list(PROTOCOLS) if args.protocol == "all" else [args.protocol], split=args.split,
        seed=args.seed, out=args.out, report_title=args.title if args.protocol == "all" else None,
        command="qamoe-eval " + " ".join(args.argv), log=lambda line: console.print(f"[dim]{line}[/]"), on_result=show,
    )


if __name__ == "__main__":
    main()
