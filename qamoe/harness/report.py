"""Tables and figures of the protocols: the same rows feed the terminal (rich) and the Markdown
report; the lambda x eta grid is drawn as a heatmap PNG like the paper's Figure 3. Each protocol has
its `Renderer` in RENDERERS (title, tables, extra Markdown).

The renderers read a typed `protocols.ProtocolPayload`: per model its per-seed records and their
aggregate (the same record with a `Spread` for every number). `qamoe-eval --protocol NAME` writes
its `to_dict()` to NAME.json, and `load_payload` reads such a file back into the same records, so
results loaded from disk render exactly like fresh ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

from rich.table import Table

from qamoe.files import atomic_write_text
from qamoe.harness.records import (GridResult, ProtocolIIIResult, ProtocolIIResult, ProtocolIMissingResult,
                                   ProtocolISubsetsResult, ProtocolPayload, ProtocolResult, Spread)

PERCENT = {"Has0_acc_2", "Has0_F1_score", "Non0_acc_2", "Non0_F1_score", "Mult_acc_5", "Mult_acc_7", "Acc", "F1_score"}


def mean_std(value: Spread | float | None) -> tuple[float, float | None]:
    """(mean, std) of an aggregated number; std None for a single seed or a plain number."""
    if isinstance(value, Spread):
        return value.mean, value.std if len(value.values) > 1 else None
    if value is None:
        return math.nan, None
    return float(value), None


def fmt(value, key: str = "", digits: int | None = None) -> str:
    """'mean ± std' (or the single value): accuracies and F1 in percent, others with 3 decimals."""
    mean, std = mean_std(value)
    if math.isnan(mean):
        return "n/a"
    scale, d = (100.0, 1) if key in PERCENT else (1.0, 3)
    d = d if digits is None else digits
    text = f"{mean * scale:.{d}f}"
    if std is not None:
        text += f" ± {std * scale:.{d}f}"
    return text


def _metric_names(result: ProtocolResult) -> Collection[str]:
    """The metric keys a result reports (none for the reliability and efficiency protocols)."""
    if isinstance(result, (ProtocolIIIResult, GridResult)):
        return result.metrics
    if isinstance(result, (ProtocolISubsetsResult, ProtocolIMissingResult, ProtocolIIResult)):
        return next(iter(result.conditions.values())).metrics
    return ()


class TaskKeys(NamedTuple):
    """The metric keys of the headline columns: regression (MOSI-style) or classification."""

    acc2: str
    f1: str
    acc7: str
    mae: str | None


def task_keys(payload: ProtocolPayload) -> TaskKeys:
    """The headline keys of the task the payload's first model reports."""
    first = next(iter(payload.models.values()), None)
    if first is not None and "Acc" in _metric_names(first.aggregate):
        return TaskKeys(acc2="Acc", f1="F1_score", acc7="Acc", mae=None)
    return TaskKeys(acc2="Non0_acc_2", f1="Non0_F1_score", acc7="Mult_acc_7", mae="MAE")


def _pair(metrics: dict[str, Spread], *keys: str | None) -> str:
    return " / ".join(fmt(metrics[k], k) for k in keys if k)


TableRows = tuple[str, list[str], list[list[str]]]  # (title, header, rows)


def _condition_tables(payload: ProtocolPayload, *, title: str, condition: str,
                      columns: Callable[[TaskKeys], tuple]) -> list[TableRows]:
    """Protocols I and II: one row per condition (and their average), one column per model; then the
    mean r_m per condition of every model that has a reliability score."""
    labels = list(payload.models)
    aggs = {m: payload.models[m].aggregate for m in labels}
    cols = columns(task_keys(payload))
    first = aggs[labels[0]].conditions
    header = [condition, *labels]
    rows = [[cond, *(_pair(aggs[m].conditions[cond].metrics, *cols) for m in labels)] for cond in first]
    avg = []
    for m in labels:
        per_key = []
        for k in cols:
            if not k:
                continue
            values = [mean_std(aggs[m].conditions[c].metrics[k])[0] for c in first]
            per_key.append(fmt(sum(values) / len(values), k))
        avg.append(" / ".join(per_key))
    rows.append(["Avg.", *avg])
    unit = " / ".join(k for k in cols if k)
    tables = [(f"{title}: {unit}", header, rows)]
    for m in labels:
        conds = aggs[m].conditions
        means = [[mean_std(v)[0] for v in conds[c].mean_reliability.values()] for c in first]
        if all(abs(v - 1.0) < 1e-9 for row_ in means for v in row_):
            continue
        names = list(conds[next(iter(first))].mean_reliability)
        read_on = " (on the one reliability scale, fitted on valid)" if getattr(aggs[m], "scale", "none") == "validation" else ""
        tables.append((f"{m}: mean reliability r_m per condition{read_on}", [condition, *(f"r_{n}" for n in names)],
                       [[c, *(fmt(conds[c].mean_reliability[n], digits=3) for n in names)] for c in first]))
    return tables


def _mixture_tables(payload: ProtocolPayload, *, title: str) -> list[TableRows]:
    aggs = {m: model.aggregate for m, model in payload.models.items()}
    first = next(iter(aggs.values()))
    cols = [k for k in ("MAE", "Mult_acc_7", "Non0_acc_2", "Non0_F1_score", "Corr", "Acc", "F1_score") if k in first.metrics]
    header = ["model", *(f"mixture {k}" for k in cols), *(f"clean {k}" for k in cols[:2])]
    rows = [[m, *(fmt(a.metrics[k], k) for k in cols), *(fmt(a.clean_metrics[k], k) for k in cols[:2])]
            for m, a in aggs.items()]
    return [(title, header, rows)]


def _grid_tables(payload: ProtocolPayload, *, title: str) -> list[TableRows]:
    key = task_keys(payload).acc7
    tables = []
    for m, model in payload.models.items():
        first = model.per_seed[0]
        header = ["eta \\ lambda", *(f"{v:.1f}" for v in first.noise)]
        rows = [[f"{eta:.0%}", *(fmt(model.aggregate.metrics[key][i][j], key, 1).split(" ±")[0]
                                 for j in range(len(first.noise)))]
                for i, eta in enumerate(first.missing)]
        tables.append((f"{m}: {key} (%, mean over seeds) on the grid", header, rows))
    return tables


def _grid_markdown(payload: ProtocolPayload, out: Path) -> list[str]:
    """The grid's summary table and one heatmap PNG per model (written beside REPORT.md)."""
    key = task_keys(payload).acc7
    parts = ["Summary (" + key + " in %, mean over seeds):", ""]
    parts += [markdown_table(["model", "clean", "λ=0.3, η=0.2", "λ=0.7, η=0.7", "grid mean",
                              "largest step between neighbours", "MAE clean → worst"], grid_summary(payload)), ""]
    for label in payload.models:
        name = f"grid_{label}.png"
        heatmap(payload, label, out / name)
        parts += [f"![{label} grid]({name})", ""]
    return parts


def _reliability_tables(payload: ProtocolPayload, *, title: str) -> list[TableRows]:
    models = payload.models
    aggs = {m: model.aggregate for m, model in models.items()}
    names = list(next(iter(aggs.values())).modalities)
    header = ["model", "pooled rho", *(f"rho {n}" for n in names), *(f"rho {n} (present only)" for n in names)]
    rows = [[m, fmt(a.pooled.spearman_rho, digits=3),
             *(fmt(a.modalities[n].spearman_rho, digits=3) for n in names),
             *(fmt(a.modalities[n].spearman_rho_present_only, digits=3) for n in names)] for m, a in aggs.items()]
    if any(a.scale != "none" for a in aggs.values()):  # results read on the one reliability scale: say so
        header += ["r read on", "pooled rho, r as the model gives it"]
        for row, a in zip(rows, aggs.values()):
            row += ["one scale (fitted on valid)" if a.scale == "validation" else "the model's own r",
                    fmt(a.pooled_unscaled.spearman_rho, digits=3) if a.pooled_unscaled is not None else "–"]
    tables = [("Spearman rho between r_m and the injected degradation (lambda; 1.0 when missing)", header, rows)]
    error = next(iter(models.values())).per_seed[0].error
    edges = ["[0.0, 0.2)", "[0.2, 0.4)", "[0.4, 0.6)", "[0.6, 0.8)", "[0.8, 1.0]"]
    header = ["model", "r", *edges, "monotone"]
    rows = []
    for m, model in models.items():
        per_seed = model.per_seed
        if not per_seed[0].has_reliability:
            continue

        def bins_row(label, bins, flags, m=m):
            cells = [f"{fmt(b.error)} (n={int(round(mean_std(b.count)[0]))})" for b in bins]
            if "quintiles" in label:  # the columns are equal-count bins here: show each one's r range
                cells = [f"{c}, r {mean_std(b.range[0])[0]:.3f}–{mean_std(b.range[1])[0]:.3f}" for c, b in zip(cells, bins)]
            return [m, label, *cells, "yes" if all(flags) else ("no" if any(f is False for f in flags) else "n/a")]

        agg = aggs[m]
        rows.append(bins_row("mean over modalities", agg.sample_bins,
                             [r.sample_error_falls_monotonically for r in per_seed]))
        rows.append(bins_row("quintiles of mean r (equal counts, not fixed bins)", agg.sample_quintiles,
                             [r.quintile_error_falls_monotonically for r in per_seed]))
        for n in names:
            rows.append(bins_row(f"r_{n}", agg.modalities[n].bins,
                                 [r.modalities[n].error_falls_monotonically for r in per_seed]))
    tables.append((f"{error} of the fused prediction in five r bins (mixture test set)", header, rows))
    return tables


def _efficiency_tables(payload: ProtocolPayload, *, title: str) -> list[TableRows]:
    aggs = {m: model.aggregate for m, model in payload.models.items()}
    sizes = list(next(iter(aggs.values())).batches)
    header = ["model", "total params (M)", "active params (M)", "GFLOPs / sample",
              *(f"latency ms (B={s})" for s in sizes), *(f"samples/s (B={s})" for s in sizes), "peak MB (B=16)"]
    rows = []
    for m, a in aggs.items():
        peak_at = "16" if "16" in a.batches else sizes[-1]
        rows.append([
            m, fmt(mean_std(a.total_parameters)[0] / 1e6, digits=3), fmt(mean_std(a.active_parameters)[0] / 1e6, digits=3),
            fmt(mean_std(a.gflops_per_sample)[0], digits=4),
            *(fmt(mean_std(a.batches[s].latency_ms)[0], digits=2) for s in sizes),
            *(fmt(mean_std(a.batches[s].throughput_per_s)[0], digits=0) for s in sizes),
            fmt(mean_std(a.batches[peak_at].peak_memory_mb)[0], digits=1),
        ])
    first = next(iter(payload.models.values())).per_seed[0]
    return [(f"{title} on {first.device}, {first.threads} thread(s)", header, rows)]


@dataclass(frozen=True)
class Renderer:
    """How one protocol's payload is shown: its section title, its tables (terminal and Markdown), and
    what REPORT.md adds before them (the grid's summary and heatmaps)."""

    title: str
    tables: Callable[..., list[TableRows]]  # (payload, *, title) -> tables
    markdown_extra: Callable[[ProtocolPayload, Path], list[str]] | None = None

    def rows(self, payload: ProtocolPayload) -> list[TableRows]:
        return self.tables(payload, title=self.title)


RENDERERS = {
    "subsets": Renderer("Protocol I, fixed missing: available modalities (Table 2)",
                        partial(_condition_tables, condition="available", columns=lambda k: (k.acc2, k.f1))),
    "missing": Renderer("Protocol I, random missing rate eta, one checkpoint (Table 3)",
                        partial(_condition_tables, condition="eta", columns=lambda k: (k.acc7, k.f1, k.mae))),
    "noise": Renderer("Protocol II, noise intensity lambda (Table 4)",
                      partial(_condition_tables, condition="lambda", columns=lambda k: (k.acc2, k.mae))),
    "mixture": Renderer("Protocol III, stochastic mixture test set (Table 5)", _mixture_tables),
    "grid": Renderer("One checkpoint on the lambda x eta grid (Figure 3, Table 9)", _grid_tables, _grid_markdown),
    "reliability": Renderer("Reliability score validation (Table 6)", _reliability_tables),
    "efficiency": Renderer("Computational efficiency (Table 10)", _efficiency_tables),
}


def renderer(protocol: str) -> Renderer:
    if protocol not in RENDERERS:
        raise ValueError(f"no tables for protocol {protocol!r}")
    return RENDERERS[protocol]


def protocol_tables(payload: ProtocolPayload) -> list[TableRows]:
    """(title, header, rows) of one protocol's payload."""
    return renderer(payload.protocol).rows(payload)


def rich_tables(payload: ProtocolPayload) -> list[Table]:
    out = []
    for title, header, rows in protocol_tables(payload):
        table = Table(title=title)
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        out.append(table)
    return out


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def heatmap(payload: ProtocolPayload, label: str, path: str | Path, key: str | None = None) -> Path:
    """The grid of one model (mean over seeds) as a heatmap: rows eta, columns lambda; the star marks
    the paper's compound point lambda = 0.3, eta = 0.2."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    model = payload.models[label]
    key = key or task_keys(payload).acc7
    grid = np.array([[mean_std(v)[0] for v in row] for row in model.aggregate.metrics[key]])
    noise, missing = model.per_seed[0].noise, model.per_seed[0].missing
    scale = 100.0 if key in PERCENT else 1.0
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    cmap = "viridis_r" if key == "MAE" else "RdYlBu_r"
    image = ax.imshow(grid * scale, cmap=cmap, origin="upper", aspect="auto")
    for i in range(len(missing)):
        for j in range(len(noise)):
            ax.text(j, i, f"{grid[i, j] * scale:.1f}" if scale != 1 else f"{grid[i, j]:.2f}", ha="center",
                    va="center", fontsize=7, color="black")
    if 0.3 in [round(v, 1) for v in noise] and 0.2 in [round(v, 1) for v in missing]:
        j = [round(v, 1) for v in noise].index(0.3)
        i = [round(v, 1) for v in missing].index(0.2)
        ax.plot(j, i, marker="*", markersize=16, markeredgecolor="black", markerfacecolor="white", alpha=0.7)
    ax.set_xticks(range(len(noise)), [f"{v:.1f}" for v in noise])
    ax.set_yticks(range(len(missing)), [f"{v:.0%}" for v in missing])
    ax.set_xlabel("noise intensity lambda")
    ax.set_ylabel("missing rate eta")
    seeds = len(model.per_seed)
    ax.set_title(f"{label}: {key}{' (%)' if scale != 1 else ''}, mean of {seeds} seed(s)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grid_summary(payload: ProtocolPayload) -> list[list[str]]:
    """Per model: clean value, value at (0.3, 0.2), worst corner, and the largest drop between two
    neighbouring cells (a cliff shows as a large step; graceful degradation as small ones)."""
    import numpy as np

    key = task_keys(payload).acc7
    rows = []
    for label, model in payload.models.items():
        metrics = model.aggregate.metrics
        grid = np.array([[mean_std(v)[0] for v in row] for row in metrics[key]]) * 100
        steps = np.concatenate([np.abs(np.diff(grid, axis=0)).ravel(), np.abs(np.diff(grid, axis=1)).ravel()])
        mae = np.array([[mean_std(v)[0] for v in row] for row in metrics["MAE"]]) if "MAE" in metrics else None
        rows.append([label, f"{grid[0, 0]:.1f}", f"{grid[2, 3]:.1f}", f"{grid[-1, -1]:.1f}", f"{grid.mean():.1f}",
                     f"{steps.max():.1f}", f"{mae[0, 0]:.3f} → {mae[-1, -1]:.3f}" if mae is not None else "n/a"])
    return rows


def write_markdown(payloads: dict[str, ProtocolPayload], out: str | Path, *, title: str, preamble: str = "") -> Path:
    """REPORT.md with every protocol's tables and the grid heatmaps (PNG files beside it)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", ""]
    if preamble:
        parts += [preamble.strip(), ""]
    for protocol, shown in RENDERERS.items():
        if protocol not in payloads:
            continue
        payload = payloads[protocol]
        parts += [f"## {shown.title}", "", f"`{protocol}.json`", ""]
        if shown.markdown_extra is not None:
            parts += shown.markdown_extra(payload, out)
        for table_title, header, rows in shown.rows(payload):
            parts += [f"**{table_title}**", "", markdown_table(header, rows), ""]
    path = out / "REPORT.md"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path


def load_payload(path: str | Path) -> ProtocolPayload:
    """A PROTOCOL.json written by `ProtocolPayload.to_dict()`, read back into the typed records."""
    import json

    return ProtocolPayload.from_dict(json.loads(Path(path).read_text()))
