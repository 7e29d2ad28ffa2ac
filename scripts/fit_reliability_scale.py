"""Fits a trained checkpoint's one reliability scale on its validation split and stores it in its
config.json (`extra["reliability_scale"]`); the weights are not touched. `qamoe-train` does this for
every new QA-MoE checkpoint; this script brings checkpoints trained before it (the shipped ones) to
the same state.

    python scripts/fit_reliability_scale.py qamoe/assets/simulator                  # the simulator, its data seed
    python scripts/fit_reliability_scale.py qamoe/assets/live --live-mix runs/live/text_cache
    python scripts/fit_reliability_scale.py runs/ravdess-1111                         # a RAVDESS checkpoint

The validation mixture is the same draw `qamoe-train` uses (seed 7). A table shows, per modality, what
the lowest, middle and highest r_m read on the scale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import qamoe  # noqa: F401


def valid_split(checkpoint, args):
    from qamoe.tensors import TensorSplit

    if args.live_mix:
        from qamoe.data.live_mix import build_mix

        provenance = checkpoint.provenance.get("dataset_args", {})
        mix = build_mix(args.live_mix, fer_parts=provenance.get("fer_parts"), max_words=provenance.get("max_words", 32),
                        ravdess_repeat=1, seed=provenance.get("seed", 0), ravdess_text=provenance.get("ravdess_text", "statement"),
                        voice=bool(provenance.get("voice", False)))
        return TensorSplit(mix.dataset.splits["valid"], checkpoint.stats), mix.present["valid"], "valid (Protocol III mixture, seed 7): VADER + RAVDESS actors 15-17 + FER valid faces"
    from qamoe.harness.experiments import dataset_for, evaluation_split

    name = checkpoint.provenance.get("dataset_args", {}).get("dataset", "synthetic")
    dataset = dataset_for(checkpoint, name)
    present = (getattr(dataset, "present", None) or {}).get("valid")
    return evaluation_split(dataset, "valid", checkpoint), present, f"valid of {name} (Protocol III mixture, seed 7)"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--live-mix", metavar="TEXT_CACHE", help="the live checkpoint's data (VADER text cache folder)")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from qamoe.checkpoint import load_checkpoint
    from qamoe.files import atomic_write_json
    from qamoe.reliability_scale import fit_on_validation

    console = Console()
    checkpoint = load_checkpoint(args.checkpoint)
    valid, present, fitted_on = valid_split(checkpoint, args)
    scale = fit_on_validation(checkpoint, valid, present=present)
    if not scale.fitted:
        raise SystemExit(f"{args.checkpoint}: its r_m never vary on valid: nothing to fit")
    path = Path(args.checkpoint) / "config.json"
    meta = json.loads(path.read_text())
    meta.setdefault("extra", {})["reliability_scale"] = scale.to_extra(fitted_on)
    atomic_write_json(path, meta)
    table = Table(title=f"{args.checkpoint}: r_m on one scale (fitted on {fitted_on})")
    for column in ("modality", "r (lowest, median, highest on valid)", "reads"):
        table.add_column(column)
    for name, (x, y) in scale.knots.items():
        mid = len(x) // 2
        table.add_row(name, f"{x[0]:.3f}, {x[mid]:.3f}, {x[-1]:.3f}", f"{y[0]:.3f}, {y[mid]:.3f}, {y[-1]:.3f}")
    console.print(table)
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
