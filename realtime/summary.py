"""The end-of-run summary: what a replay or live session saw, over all its updates (bounded state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from .update import Update


@dataclass
class RunStats:
    """Running totals over updates (constant memory): call `add` for each update."""

    updates: int = 0
    sentiment_sum: float = 0.0
    reliability_sum: dict[str, float] = field(default_factory=dict)
    missing_count: dict[str, int] = field(default_factory=dict)
    last: Update | None = None
    with_input: int = 0  # updates where at least one modality was present (the others: prior alone)
    window_s: float = 4.0  # what each update reads (for the summary's wording)

    def add(self, update: Update) -> None:
        self.updates += 1
        if not all(status.missing for status in update.modalities.values()):
            self.with_input += 1
            self.sentiment_sum += update.sentiment
        for name, status in update.modalities.items():  # r_m averaged over the updates that had the modality
            self.reliability_sum[name] = self.reliability_sum.get(name, 0.0) + (0.0 if status.missing else status.reliability)
            self.missing_count[name] = self.missing_count.get(name, 0) + int(status.missing)
        self.last = update

    def table(self, title: str) -> Table:
        table = Table(title=title, title_justify="left", min_width=len(title))  # the title on one line
        table.add_column("modality")
        table.add_column("mean r_m when present", justify="right")
        table.add_column("missing", justify="right")
        for name, total in self.reliability_sum.items():
            present = self.updates - self.missing_count[name]
            table.add_row(name, f"{total / present:.3f}" if present else "–", f"{100 * self.missing_count[name] / self.updates:.0f} %")
        return table

    def lines(self) -> list[str]:
        if not self.updates or self.last is None:
            return ["no updates were published"]
        last = self.last
        words = len(last.transcript.split())
        if not self.with_input:  # never a number made from nothing
            head = f"{self.updates} updates over {last.t:.1f} s, none with any input: no sentiment"
        else:
            blind = f" ({self.updates - self.with_input} without any input left out)" if self.with_input < self.updates else ""
            last_text = ("last: no input" if all(s.missing for s in last.modalities.values())
                         else f"last {last.sentiment:+.2f} ± {last.std:.2f} ({last.label}, the window of the last "
                              f"{self.window_s:g} s, as qamoe-predict reads a file)")
            head = f"{self.updates} updates over {last.t:.1f} s; mean sentiment {self.sentiment_sum / self.with_input:+.2f}{blind}; {last_text}"
        return [
            head,
            f"transcript ({words} words): {tail_words(last.transcript, 200)}" if words else "transcript: (no words)",
            f"dropped: {sum(last.telemetry.dropped.values())} items" + (
                " (" + ", ".join(f"{k} {v}" for k, v in last.telemetry.dropped.items() if v) + ")" if any(last.telemetry.dropped.values()) else ""
            ),
        ]


def tail_words(text: str, limit: int) -> str:
    """The end of `text` in at most `limit` characters, cut between words ("... felt like a waste")."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    return "... " + (tail.split(" ", 1)[1] if " " in tail else tail)
