"""Fits a trained checkpoint's one reliability scale on its validation split and stores it in its
config.json (`extra["reliability_scale"]`); the weights are not touched. `qamoe-train` does this for
every new QA-MoE checkpoint; this script brings checkpoints trained before it (the shipped ones) to
the same state.

    python scripts/fit_reliability_scale.py qamoe/assets/simulator                  # the simulator, its data seed
    python scripts/fit_reliability_scale.py qamoe/assets/live --live-mix runs/live/text_cache
    python scripts/fit_reliability_scale.py runs/ravdess-1111                         # a RAVDESS checkpoint

The validation mixture is the same draw `qamoe-train` uses (seed 7). The live checkpoint (`--live-mix`)
is fitted instead on what its inputs meet live, each modality alone on its validation sources: words
dropped, white noise on the waveform, faces blurred / darkened / occluded / downscaled, with r_m
mapped to the share of the modality's answer that survives (`qamoe.harness.signal_reliability`; the
feature-noise mixture would read its clean voice at 0.64). A table shows, per modality, what the
lowest, middle and highest r_m read on the scale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import qamoe  # noqa: F401


def valid_split(checkpoint):
    from qamoe.harness.experiments import dataset_for, evaluation_split

    name = checkpoint.provenance.get("dataset_args", {}).get("dataset", "synthetic")
    dataset = dataset_for(checkpoint, name)
    present = (getattr(dataset, "present", None) or {}).get("valid")
    return evaluation_split(dataset, "valid", checkpoint), present, f"valid of {name} (Protocol III mixture, seed 7)"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--live-mix", metavar="TEXT_CACHE", help="the live checkpoint: fit on signal degradations of its "
                   "validation sources (VADER text cache folder; FER valid views in the FER cache)")
    args = p.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from qamoe.checkpoint import load_checkpoint
    from qamoe.files import atomic_write_json
    from qamoe.reliability_scale import fit_on_validation

    console = Console()
    checkpoint = load_checkpoint(args.checkpoint)
    if args.live_mix:
        from qamoe.harness.signal_reliability import FITTED_ON, fit_signal_scale, signal_readings

        from qamoe.dataset import DataError

        try:
            scale, fitted_on = fit_signal_scale(signal_readings(checkpoint, "valid", text_cache=args.live_mix)), FITTED_ON
        except (ValueError, DataError) as err:
            raise SystemExit(f"{args.checkpoint}: {err}") from None
    else:
        valid, present, fitted_on = valid_split(checkpoint)
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
