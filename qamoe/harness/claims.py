"""The paper's claims, checked against the JSON results of a report folder: one Markdown table with
the numbers and a plain verdict per claim.

    python -m qamoe.harness.claims REPORT_DIR

The folder holds the baselines comparison (`reliability.json`, `grid.json`, `mixture.json`), and
`training/` and `ablations/` beside them; a claim whose results are absent is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from qamoe.harness.records import ProtocolPayload
from qamoe.harness.report import fmt, load_payload, mean_std, task_keys

Row = Callable[..., None]  # row(claim, result, holds, note="")


def _load(path: Path) -> ProtocolPayload | None:
    return load_payload(path) if path.exists() else None


def _metric(payload: ProtocolPayload, label: str, key: str) -> tuple[float, float | None]:
    return mean_std(payload.models[label].aggregate.metrics[key])


def _reliability_rows(rel: ProtocolPayload, reference: str, row: Row) -> None:
    agg = rel.models[reference].aggregate
    per_seed = rel.models[reference].per_seed
    rho, _ = mean_std(agg.pooled.spearman_rho)
    mods = ", ".join(f"{m} {fmt(v.spearman_rho, digits=2)}" for m, v in agg.modalities.items())
    present = ", ".join(f"{m} {fmt(v.spearman_rho_present_only, digits=2)}" for m, v in agg.modalities.items())
    unscaled = (f" (r on the one reliability scale; as the model gives it {fmt(agg.pooled_unscaled.spearman_rho, digits=3)})"
                if agg.pooled_unscaled is not None else "")
    row("Spearman ρ(r_m, degradation) ≤ −0.8 (paper: −0.87)",
        f"pooled {fmt(agg.pooled.spearman_rho, digits=3)}{unscaled}; per modality {mods}; "
        f"among present modalities only (ρ against λ) {present}", bool(rho <= -0.8))
    fixed = [r.sample_error_falls_monotonically for r in per_seed]
    occupied = [sum(1 for b in r.sample_bins if b.count) for r in per_seed]
    bins = " → ".join(f"{fmt(b.error)} (n={int(round(mean_std(b.count)[0]))})" for b in agg.sample_bins)
    row("MAE falls monotonically across the five r_m bins [0,0.2) … [0.8,1.0] (paper: 1.42 → 0.58)",
        f"bins of the mean r over modalities: {bins}; occupied bins per seed {occupied}; "
        f"r spans {fmt(agg.r_range[0], digits=3)} to {fmt(agg.r_range[1], digits=3)}",
        bool(all(f is True for f in fixed)),  # fewer than two occupied bins cannot show a fall
        f"only {min(occupied)} of 5 bins occupied" if min(occupied) < 5 else "")
    quint = [r.quintile_error_falls_monotonically for r in per_seed]
    qbins = " → ".join(fmt(b.error) for b in agg.sample_quintiles)
    row("(supplementary) MAE falls across quintiles of the mean r", f"{qbins} (per seed monotone: {quint})",
        all(q is True for q in quint))


def _grid_percent(payload: ProtocolPayload, label: str, key: str) -> np.ndarray:
    """(levels, levels) grid of one metric in percent: rows eta, columns lambda."""
    return np.array([[mean_std(v)[0] for v in r] for r in payload.models[label].aggregate.metrics[key]]) * 100


def _largest_step(g: np.ndarray) -> float:
    """The largest change between two neighbouring cells of a grid."""
    return float(np.concatenate([np.abs(np.diff(g, axis=0)).ravel(), np.abs(np.diff(g, axis=1)).ravel()]).max())


def _grid_row(grid: ProtocolPayload, reference: str, row: Row) -> None:
    key = task_keys(grid).acc7
    parts, drops = [], {}
    for label in grid.models:
        g = _grid_percent(grid, label, key)
        drops[label] = g[0, 0] - g[2, 3]
        parts.append(f"{label}: clean {g[0, 0]:.1f}, (λ=0.3, η=0.2) {g[2, 3]:.1f} (drop {drops[label]:.1f}), "
                     f"worst {g[-1, -1]:.1f}, largest neighbour step {_largest_step(g):.1f}")
    others = [d for label, d in drops.items() if label != reference]
    holds = bool(_largest_step(_grid_percent(grid, reference, key)) <= 5.0
                 and (not others or drops[reference] <= min(others)))
    row(f"graceful degradation over the λ×η grid ({key}, %): no step > 5 points between neighbouring "
        f"cells, and a smaller drop at (λ=0.3, η=0.2) than every baseline",
        "; ".join(parts), holds)


def _mixture_row(mix: ProtocolPayload, reference: str, row: Row) -> None:
    ref_mae = _metric(mix, reference, "MAE")[0]
    others = {label: _metric(mix, label, "MAE")[0] for label in mix.models if label != reference}
    result = "; ".join(f"{label} {fmt(m.aggregate.metrics['MAE'], 'MAE')} MAE / "
                       f"{fmt(m.aggregate.metrics['Mult_acc_7'], 'Mult_acc_7')} Acc-7"
                       for label, m in mix.models.items())
    row("QA-MoE ahead of the baselines on the stochastic mixture (lowest MAE)", result,
        bool(all(ref_mae < v for v in others.values())) if others else None)


def _training_row(train: ProtocolPayload, reference: str, row: Row) -> None:
    clean = f"{reference}-clean"
    a, b = _metric(train, reference, "MAE")[0], _metric(train, clean, "MAE")[0]
    a7, b7 = _metric(train, reference, "Mult_acc_7")[0], _metric(train, clean, "Mult_acc_7")[0]
    row("spectrum-trained QA-MoE ahead of the clean-trained one under the mixture",
        f"spectrum MAE {fmt(train.models[reference].aggregate.metrics['MAE'], 'MAE')}, Acc-7 {a7 * 100:.1f}; "
        f"clean MAE {fmt(train.models[clean].aggregate.metrics['MAE'], 'MAE')}, Acc-7 {b7 * 100:.1f} "
        f"({len(train.models[reference].seeds)} seed(s))", bool(a < b and a7 >= b7))


def _ablation_rows(abl: ProtocolPayload, reference: str, row: Row) -> None:
    ref_mae, ref7 = _metric(abl, reference, "MAE")[0], _metric(abl, reference, "Mult_acc_7")[0]
    for label in abl.models:
        if label == reference:
            continue
        mae, acc7 = _metric(abl, label, "MAE")[0], _metric(abl, label, "Mult_acc_7")[0]
        row(f"ablation {label} worse than the full model (mixture)",
            f"MAE {fmt(abl.models[label].aggregate.metrics['MAE'], 'MAE')} vs "
            f"{fmt(abl.models[reference].aggregate.metrics['MAE'], 'MAE')}; "
            f"Acc-7 {acc7 * 100:.1f} vs {ref7 * 100:.1f} "
            f"({len(abl.models[label].seeds)} seed(s))", bool(mae > ref_mae))


def claims(report_dir: str | Path, reference: str = "qamoe") -> str:
    """A Markdown section stating, with the numbers, whether each claim of the paper holds in the
    results under `report_dir` (the baselines report, plus ablations/ and training/ beside it)."""
    root = Path(report_dir)
    lines = ["## The paper's claims on these results", "",
             "| claim (paper) | result here | holds? |", "|---|---|---|"]

    def row(claim, result, holds, note=""):
        verdict = ("n/a" if holds is None else ("**yes**" if holds else "**no**")) + (f" ({note})" if note else "")
        lines.append(f"| {claim} | {result} | {verdict} |")

    sections = [("reliability.json", _reliability_rows), ("grid.json", _grid_row), ("mixture.json", _mixture_row),
                ("training/mixture.json", _training_row), ("ablations/mixture.json", _ablation_rows)]
    for name, write_rows in sections:
        payload = _load(root / name)
        if payload is None or reference not in payload.models:
            continue
        if write_rows is _training_row and f"{reference}-clean" not in payload.models:
            continue
        write_rows(payload, reference, row)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m qamoe.harness.claims REPORT_DIR")
    print(claims(sys.argv[1]))
