"""Why is Eq. 7's quality gating level with no gating? Diagnostics on one trained QA-MoE checkpoint.

On the validation split under the Protocol III mixture (seed 7): the checkpoint as trained, and the same
weights with the gate removed at inference (r_m = 1 in Eq. 7, nothing retrained), which says whether the
trained model leans on the gate; the spread of r_m among present and missing modalities (a gate that is
nearly constant among present inputs is a scale the experts can absorb); and the size of y_prior.

    python benchmarks/gating_probe.py --checkpoint runs/lfl/qamoe/seed1111 --out docs/reliability-report/simulator/gating-probe-seed1111.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default="benchmarks/results/gating-probe.json")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from qamoe.checkpoint import load_checkpoint
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors
    from qamoe.harness.experiments import dataset_for, evaluation_split
    from qamoe.registry import build_model

    checkpoint = load_checkpoint(args.checkpoint)
    valid = evaluation_split(dataset_for(checkpoint, "synthetic"), "valid", checkpoint)
    sigma_ref = sigma_ref_tensors(checkpoint.stats)
    ungated = build_model("qamoe", dataclasses.replace(checkpoint.config, quality_gating=False))
    ungated.load_state_dict(checkpoint.model.state_dict())
    result = {"command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
              "split": "valid, Protocol III mixture, seed 7"}
    for label, model in (("as trained", checkpoint.model), ("gate removed at inference (r_m = 1 in Eq. 7)", ungated)):
        pred = predict_mixture(model.eval(), valid, sigma_ref=sigma_ref, seed=7)
        metrics = pred.metrics(checkpoint.config)
        result[label] = {"MAE": metrics["MAE"], "Corr": metrics["Corr"]}
        if label == "as trained":
            kept = pred
    for name in checkpoint.config.modality_names:
        r, gone = np.asarray(kept.reliability[name]), np.asarray(kept.missing[name], dtype=bool)
        result[f"r_{name}"] = {"present_mean": float(r[~gone].mean()), "present_std": float(r[~gone].std()),
                               "present_p10_p90": [float(np.quantile(r[~gone], q)) for q in (0.1, 0.9)],
                               "missing_mean": float(r[gone].mean())}
        with torch.no_grad():
            result[f"r_{name}"]["prior_norm"] = float(checkpoint.model.experts[name].prior.norm())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
