"""Progress of long work, as events a caller can show however it likes.

The training loop (`qamoe.train.train_model`) reports `TrainProgress` events to a callback and knows
nothing of terminals; `rich_training_progress(console)` is the callback the commands use: a rich
progress bar per training run on `console` (None: nothing shown).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Literal


@dataclass(frozen=True)
class TrainProgress:
    """Where a training run stands.

    kind: "start" (before the first step, also of a resumed run), "step" (after each optimiser step),
    "epoch" (after each epoch's validation) or "note" (a message for the user in `note`).
    steps_done / total_steps: optimiser steps over the whole run; loss: mean of this rank's last 20 steps;
    best_score / best_epoch: the best validation selection score so far (None before the first).
    """

    kind: Literal["start", "step", "epoch", "note"]
    epoch: int = 0
    steps_done: int = 0
    total_steps: int = 0
    loss: float = 0.0
    best_score: float | None = None
    best_epoch: int | None = None
    note: str = ""


ProgressCallback = Callable[[TrainProgress], None]


@contextmanager
def rich_training_progress(console) -> Iterator[ProgressCallback | None]:
    """Yields a callback that draws each training run it is told of as a rich progress bar on
    `console`; None (show nothing) when `console` is None."""
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    progress = Progress(
        TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  best valid {task.fields[best]}"), TimeRemainingColumn(),
        console=console, transient=False,
    )
    task = None

    def show(p: TrainProgress) -> None:
        nonlocal task
        if p.kind == "note":
            console.print(f"[yellow]{p.note}[/]")
            return
        best = "-" if p.best_score is None else f"{p.best_score:.4f} (epoch {p.best_epoch})"
        fields = {"epoch": p.epoch, "loss": p.loss, "best": best}
        if p.kind == "start" or task is None:
            task = progress.add_task("train", total=p.total_steps, completed=p.steps_done, **fields)
        else:
            progress.update(task, completed=p.steps_done, **fields)

    with progress:
        yield show
