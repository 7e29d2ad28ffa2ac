"""Does r_m mean the same in every modality of the live checkpoint? Held-out data, real degradations.

Each modality alone on the *test* split of the live checkpoint's sources: VADER texts with words
dropped, RAVDESS voices with white noise on the waveform, FER faces blurred / darkened / occluded /
downscaled (`qamoe.harness.signal_reliability`). Per condition: the mean r_m as the model gives it,
the mean r_m on the checkpoint's reliability scale (when it has one), and the share of the variance
of the modality's answer the degraded input keeps. Then, per r bin, the mean share retained in each
modality (equal across a row when r means the same everywhere) and each modality's expected
calibration error of r against the retained share.

    python benchmarks/live_reliability_meaning.py [--checkpoint qamoe/assets/live] [--text-cache runs/live/text_cache] \
        [--seed 0] [--out docs/reliability-report/live/meaning-test.json]

Needs the FER parts `test-clean-1500` and `test-<kind>-<0|1>-500-s0` (python -m qamoe.extractors.datasets.fer
--train 6000 --valid 1500 --test 1500 --train-views 2500 --test-views 500 --valid-views 500) and the
text cache the checkpoint was built from.
"""

from __future__ import annotations

import argparse
import sys

import qamoe  # noqa: F401


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="default: the shipped live checkpoint")
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--text-cache", default="runs/live/text_cache", help="the VADER word-vector cache the checkpoint was built from")
    p.add_argument("--fer-cache", help="default: ~/.cache/qamoe/live/fer")
    p.add_argument("--seed", type=int, default=0, help="which words are dropped")
    p.add_argument("--out", help="JSON file for the numbers")
    args = p.parse_args(argv)

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from qamoe.checkpoint import load_checkpoint
    from qamoe.dataset import DataError
    from qamoe.files import atomic_write_json
    from qamoe.harness.signal_reliability import calibration_error, signal_readings, retained_by_bin
    from qamoe.reliability_scale import ReliabilityScale
    from qamoe.shipped import LIVE, shipped_checkpoint

    path = args.checkpoint or str(shipped_checkpoint(LIVE))
    checkpoint = load_checkpoint(path)
    scale = ReliabilityScale.from_extra(checkpoint.extra)
    try:
        readings = signal_readings(checkpoint, args.split, text_cache=args.text_cache, fer_cache=args.fer_cache, seed=args.seed)
    except (ValueError, DataError) as err:
        raise SystemExit(f"{path}: {err}") from None
    conditions = [{"modality": x.modality, "condition": x.condition, "n": int(len(x.r)), "mean_r": float(np.mean(x.r)),
                   # as the engine reports them: a modality without input reads 0 on the scale
                   "mean_r_on_scale": (0.0 if x.condition == "missing" else float(np.mean(scale.apply(x.modality, x.r))))
                   if scale.fitted else None,
                   "retained": x.retained} for x in readings.readings]
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    result = {"command": command, "checkpoint": path, "split": args.split, "seed": args.seed,
              "scale": (checkpoint.extra.get("reliability_scale") or {}).get("fitted_on", "none"),
              "conditions": conditions, "faces_lost": readings.faces_lost,
              "bins": {"raw": retained_by_bin(readings), **({"on_scale": retained_by_bin(readings, scale)} if scale.fitted else {})},
              "calibration_error": {"raw": calibration_error(readings),
                                    **({"on_scale": calibration_error(readings, scale)} if scale.fitted else {})}}

    console = Console(width=150)
    table = Table(title=f"Each modality alone, {args.split} split: mean r_m and the share of its answer the input keeps")
    for column in ("modality", "condition", "n", "mean r_m (raw)", "on the scale", "share retained"):
        table.add_column(column, justify="right")
    for c in conditions:
        table.add_row(c["modality"], c["condition"], str(c["n"]), f"{c['mean_r']:.3f}",
                      f"{c['mean_r_on_scale']:.3f}" if c["mean_r_on_scale"] is not None else "–", f"{c['retained']:.3f}")
    console.print(table)
    console.print("faces no longer found (vision missing live): " + ", ".join(f"{k} {v:.0%}" for k, v in readings.faces_lost.items()))
    for view, bins in result["bins"].items():
        table = Table(title=f"Mean share retained per r_m bin ({view}), degraded inputs: equal across a row if r_m means the same everywhere")
        table.add_column("r_m bin")
        for m in bins:
            table.add_column(m, justify="right")
        for b in range(len(next(iter(bins.values())))):
            cells = [f"{bins[m][b]['mean_retained']:.2f} (n={bins[m][b]['n']})" if bins[m][b]["n"] else "–" for m in bins]
            table.add_row("[{:.1f}, {:.1f})".format(*next(iter(bins.values()))[b]["r"]), *cells)
        console.print(table)
    for view, errors in result["calibration_error"].items():
        console.print(f"calibration error of r against the retained share ({view}): "
                      + ", ".join(f"{m} {e:.3f}" for m, e in errors.items()))
    if args.out:
        atomic_write_json(args.out, result)
        console.print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
