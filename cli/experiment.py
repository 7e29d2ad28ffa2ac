"""qamoe-experiment: train and evaluate one of the paper's comparisons in one command.

  baselines  QA-MoE against late fusion, MulT-style and plain top-k MoE on every protocol
             (REPORT.md, every PROTOCOL.json, grid heatmaps)
  ablations  QA-MoE against w/o quality gating, w/o variance, w/o y_prior (Table 7): the stochastic
             mixture test set, the clean test set and the reliability validation
  training   spectrum-trained against clean-trained QA-MoE under the mixture (Table 5);
             training-all adds every baseline, clean and spectrum
  missing-retrained  the random missing protocol as the paper runs it (Lian et al.): one QA-MoE per
             eta in 0.1 .. 0.7, trained and selected at that eta (static masks), tested at it
             (Table 3; `qamoe-eval --protocol missing` is the one-checkpoint version)

Checkpoints go to RUNS/<variant>/seed<seed> and are reused when they are there already, so an
interrupted experiment continues where it stopped. Every model is trained on the same data with the
same seeds and evaluated on identical corruptions (--eval-seed).

  qamoe-experiment baselines --seeds 1111,1112,1113 --epochs 30 --runs runs/bench --out docs/simulator-report
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from qamoe.cli.common import clear_errors, make_console, parse_seeds, use_all_cores
from qamoe.data.registry import DATASETS, load_dataset
from qamoe.dataset import MultimodalDataset
from qamoe.evaluate import sigma_ref_tensors
from qamoe.harness.experiments import (GROUPS, TrainedModel, checkpoint_dir, evaluation_split, load_models, run_evaluation,
                               train_variants, variant)
from qamoe.files import atomic_write_json, atomic_write_text
from qamoe.harness.protocols import PROTOCOLS, missing
from qamoe.harness.records import ProtocolPayload, aggregate_results
from qamoe.harness.report import fmt, markdown_table, rich_tables
from qamoe.train import TrainConfig

COMPARISON_PROTOCOLS = {"ablations": ("mixture", "reliability"), "reliability": ("mixture", "reliability"),
                        "training": ("mixture",), "training-all": ("mixture",)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-experiment", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=sorted(GROUPS))
    p.add_argument("--models", help="comma-separated variants instead of the experiment's own "
                                    "(any registered architecture; NAME-clean trains it on clean data)")
    p.add_argument("--seeds", default="1111", help="comma-separated training seeds (default 1111)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--runs", default="runs/experiments", help="checkpoint root: RUNS/<variant>/seed<seed>")
    p.add_argument("--out", required=True, help="directory for the JSON results and the report")
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--eval-seed", type=int, default=0, help="seed of the test-time degradation")
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--protocols", help="comma-separated protocols to run (default: the experiment's own)")
    p.add_argument("--train-only", action="store_true")
    p.add_argument("--eval-only", action="store_true", help="evaluate existing checkpoints, train nothing")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto: where models train and "
                   "are evaluated (a checkpoint is the same file wherever it was trained)")
    return p.parse_args(argv)


def comparison_rows(payload: ProtocolPayload, reference: str) -> tuple[list[str], list[list[str]], dict]:
    """Table 5 / 7 rows from a mixture payload, with the change against `reference` and whether
    each model is worse than it (higher mixture MAE)."""
    models = payload.models
    first = next(iter(models.values())).aggregate.metrics
    keys = [k for k in ("MAE", "Mult_acc_7", "Non0_acc_2", "Non0_F1_score", "Corr") if k in first] or list(first)
    header = ["model", *(f"mixture {k}" for k in keys), "clean MAE", "clean Mult_acc_7", "Δ mixture MAE vs " + reference]
    ref = models.get(reference)
    ref_mae = ref.aggregate.metrics["MAE"].mean if ref and "MAE" in first else math.nan
    rows, worse = [], {}
    for label, model in models.items():
        agg = model.aggregate
        mae = agg.metrics["MAE"].mean if "MAE" in agg.metrics else math.nan
        delta = mae - ref_mae
        if label != reference and not math.isnan(delta):
            worse[label] = bool(delta > 0)
        rows.append([
            label, *(fmt(agg.metrics[k], k) for k in keys),
            fmt(agg.clean_metrics["MAE"], "MAE") if "MAE" in agg.clean_metrics else "n/a",
            fmt(agg.clean_metrics["Mult_acc_7"], "Mult_acc_7") if "Mult_acc_7" in agg.clean_metrics else "n/a",
            "—" if label == reference else f"{delta:+.3f}",
        ])
    return header, rows, worse


def rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for h in header:
        table.add_column(h)
    for row in rows:
        table.add_row(*row)
    return table


def paired_rows(models: dict[str, list[TrainedModel]], dataset: MultimodalDataset, split: str, eval_seed: int,
                reference: str) -> tuple[list[str], list[list[str]], dict]:
    """Each model against `reference`, clip by clip on the same mixture test set (qamoe/harness/paired.py)."""
    from qamoe.harness.paired import mixture_errors, paired_test

    errors = {}
    for name, entries in models.items():
        per_seed = []
        for model in entries:
            tensors = evaluation_split(dataset, split, model.checkpoint)
            per_seed.append(mixture_errors(model.checkpoint, tensors, sigma_ref_tensors(model.checkpoint.stats), seed=eval_seed))
        errors[name] = np.stack(per_seed)
    header = ["model", f"Δ mixture error vs {reference} (95 % CI)", "Wilcoxon p", f"seeds where {reference} is better"]
    rows, results = [], {}
    for name in models:
        if name == reference:
            continue
        result = paired_test(errors[name], errors[reference])
        results[name] = result
        rows.append([name, f"{result['mean_difference']:+.3f} [{result['ci95'][0]:+.3f}, {result['ci95'][1]:+.3f}]",
                     f"{result['wilcoxon_p']:.2g}", f"{result['seeds'] - result['seeds_a_lower']}/{result['seeds']}"])
    return header, rows, results


def missing_retrained(models: dict[str, list[TrainedModel]], dataset: MultimodalDataset, split: str, eval_seed: int,
                      out: Path, console: Console) -> dict:
    """Lian et al.'s random missing protocol: each model, trained and selected at missing rate eta,
    is tested at that same eta (the `missing` protocol restricted to its own rate)."""
    rows = []
    payload = {"experiment": "missing-retrained", "seeds": [m.seed for m in next(iter(models.values()))],
               "eval_seed": eval_seed, "models": {}}
    for name, entries in models.items():
        eta = variant(name).fixed_missing
        if eta is None:
            raise ValueError(f"{name} is not trained at a fixed missing rate (use NAME-missingETA)")
        per_seed = []
        for model in entries:
            tensors = evaluation_split(dataset, split, model.checkpoint)
            per_seed.append(missing(model.checkpoint, tensors, sigma_ref_tensors(model.checkpoint.stats), seed=eval_seed,
                                    levels=(eta,)))
        agg = aggregate_results(per_seed)
        metrics = next(iter(agg.conditions.values())).metrics
        payload["models"][name] = {"missing_rate": eta, "per_seed": [r.to_dict() for r in per_seed],
                                   "aggregate": agg.to_dict()}
        keys = [k for k in ("Mult_acc_7", "Non0_acc_2", "Non0_F1_score", "MAE", "Acc", "F1_score") if k in metrics]
        rows.append([name, f"{eta:.1f}", *(fmt(metrics[k], k) for k in keys)])
    header = ["model", "eta (train = valid = test)", *keys]
    console.print(rich_table("Random missing protocol, retrained per rate (Table 3)", header, rows))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "missing-retrained.json", payload)
    atomic_write_text(out / "missing-retrained.md", markdown_table(header, rows) + "\n")
    return payload


def main(argv=None) -> None:
    args = parse_args(argv)
    console = make_console()
    use_all_cores()
    with clear_errors(console):
        seeds = parse_seeds(args.seeds)
        names = [n.strip() for n in args.models.split(",")] if args.models else list(GROUPS[args.experiment])
        for name in names:
            variant(name)  # unknown names fail before any training
        if args.epochs < 1:
            raise ValueError("--epochs must be at least 1")
        log = lambda line: console.print(f"[dim]{line}[/]")  # noqa: E731
        if not args.eval_only:
            from qamoe.progress import rich_training_progress  # noqa: PLC0415

            with rich_training_progress(console) as on_progress:
                train_variants(names, seeds, runs=args.runs, epochs=args.epochs, dataset=args.dataset, data=args.data,
                               data_seed=args.data_seed, log=log, on_progress=on_progress, device=args.device)
        if args.train_only:
            return
        dataset = load_dataset(args.dataset, args.data, seed=args.data_seed)  # the data the variants were trained on
        models = load_models({name: [(seed, checkpoint_dir(args.runs, name, seed)) for seed in seeds] for name in names},
                             device=args.device)
        if args.experiment == "missing-retrained" or any(variant(n).fixed_missing is not None for n in names):
            missing_retrained(models, dataset, args.split, args.eval_seed, Path(args.out), console)
            return
        protocols = (args.protocols.split(",") if args.protocols
                     else list(PROTOCOLS) if args.experiment == "baselines" else list(COMPARISON_PROTOCOLS[args.experiment]))

        def show(payload: ProtocolPayload) -> None:
            for table in rich_tables(payload):
                console.print(table)

        payloads = run_evaluation(
            models, dataset, protocols=protocols, split=args.split, seed=args.eval_seed, out=args.out,
            report_title=f"QA-MoE {args.experiment} on {args.dataset}" if args.experiment == "baselines" else None,
            command="qamoe-experiment " + " ".join(argv if argv is not None else sys.argv[1:]), log=log, on_result=show,
        )
        if "mixture" in payloads:
            reference = "qamoe" if "qamoe" in names else names[0]
            header, rows, worse = comparison_rows(payloads["mixture"], reference)
            console.print(rich_table(f"{args.experiment}: stochastic mixture test set, {len(seeds)} seed(s)", header, rows))
            paired_header, paired, paired_results = paired_rows(models, dataset, args.split, args.eval_seed, reference)
            console.print(rich_table(f"paired against {reference}: the same clips under the same corruptions",
                                     paired_header, paired))
            result = {"experiment": args.experiment, "seeds": seeds, "epochs": args.epochs, "reference": reference,
                      "worse_than_reference_on_mixture_mae": worse, "header": header, "rows": rows,
                      "paired": paired_results}
            atomic_write_json(Path(args.out) / f"{args.experiment}.json", result)
            atomic_write_text(Path(args.out) / f"{args.experiment}.md",
                              markdown_table(header, rows) + "\n\n" + markdown_table(paired_header, paired) + "\n")
            console.print(f"written to {Path(args.out) / f'{args.experiment}.json'}")


if __name__ == "__main__":
    main()
