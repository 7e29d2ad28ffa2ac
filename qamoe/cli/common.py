"""Pieces the command-line tools share: threads, consoles, tables, error reporting."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import torch
from rich.console import Console
from rich.table import Table

from qamoe.checkpoint import CheckpointError
from qamoe.data.dataset import DataError

METRIC_ORDER = ("Has0_acc_2", "Has0_F1_score", "Non0_acc_2", "Non0_F1_score", "Mult_acc_5", "Mult_acc_7",
                "MAE", "Corr", "Acc", "F1_score")


def use_all_cores() -> None:
    """All cores for torch, unless OMP_NUM_THREADS says otherwise (e.g. one thread per torchrun rank)."""
    threads = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(int(threads) if threads and threads.isdigit() else max(1, os.cpu_count() or 1))


def metrics_table(title: str, rows: dict[str, dict[str, float]]) -> Table:
    """One row per condition, one column per metric, in MMSA's order."""
    keys = [k for k in METRIC_ORDER if any(k in r for r in rows.values())]
    table = Table(title=title)
    table.add_column("condition")
    for key in keys:
        table.add_column(key, justify="right")
    for name, row in rows.items():
        table.add_row(name, *(f"{row[k]:.4f}" if k in row else "" for k in keys))
    return table


@contextmanager
def clear_errors(console: Console):
    """Turns the errors a user can cause (bad data, bad checkpoint, missing file) into one red line."""
    try:
        yield
    except (CheckpointError, DataError, FileNotFoundError, ValueError) as err:
        console.print(f"[bold red]error:[/] {err}")
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
