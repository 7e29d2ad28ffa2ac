"""What a live run says about its sources while it runs, and the headless run's line per second.

`Notices` routes a notice (`no_source`, `source_ok`, `gave_up`) to the run log, and to the dashboard's
status line (kept until the dashboard exists) or to stderr without one. `SourceWatch` polls the live
capture sources and gives the notices; `LinePrinter` is the headless run's one line per second.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from rich.console import Console

from .runlog import JsonlLog
from .sources import RUNNING, CaptureSource

Notify = Callable[[str, str], None]  # notify(kind, message)


class Notices:
    """Says a notice where the run shows things: the JSONL log, and the dashboard or stderr."""

    def __init__(self, *, err: Console, tui: bool, log: JsonlLog | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.err, self.tui, self.log, self.now = err, tui, log, now
        self.status_message = ""  # the dashboard's status line, also before the dashboard exists
        self.dashboard = None

    def attach(self, dashboard) -> None:
        """The dashboard now exists: it shows the status line from here on."""
        self.dashboard = dashboard
        dashboard.message = self.status_message

    def __call__(self, kind: str, message: str) -> None:
        if self.log is not None:
            self.log.event(kind, message, t=round(self.now(), 3))
        if self.tui:
            self.status_message = "" if kind == "source_ok" else message
            if self.dashboard is not None:
                self.dashboard.message = self.status_message
        elif kind != "gave_up":  # the run's summary prints that one
            self.err.print(f"[bold yellow]{message}[/]", highlight=False, soft_wrap=True)


class SourceWatch:
    """Live devices: says plainly when no source works (after 1 s, or at once when every source is
    faulty), again when one works again, and ends the run after `give_up_after` seconds in a row
    without one (None: never)."""

    def __init__(self, sources: list[CaptureSource], *, notify: Notify, stop_event: threading.Event,
                 give_up_after: float | None) -> None:
        self.sources, self.notify, self.stop_event, self.limit = sources, notify, stop_event, give_up_after
        self.gave_up: str | None = None  # the reason, once given up

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="source-watch", daemon=True)
        thread.start()
        return thread

    def run(self, poll_s: float = 0.25) -> None:
        since: float | None = None
        reported = False
        start = time.monotonic()
        while not self.stop_event.wait(poll_s):
            states = {s.name: s.state() for s in self.sources}
            now = time.monotonic()
            if any(st.state == RUNNING for st in states.values()):
                if reported:
                    self.notify("source_ok", "a source works again: " + ", ".join(n for n, st in states.items() if st.state == RUNNING))
                since, reported = None, False
                continue
            since = since if since is not None else now
            details = "; ".join(f"{name} {st}" for name, st in states.items())
            if not reported and (now - start >= 1.0 or all(st.faulty for st in states.values())):
                plan = (f"giving up after {self.limit:g} s without one (--give-up-after)" if self.limit
                        else "waiting for one (--give-up-after 0)")
                self.notify("no_source", f"no working source: {details}; predictions have no input; {plan}")
                reported = True
            if self.limit is not None and now - since >= self.limit:
                self.gave_up = f"gave up: no working source for {self.limit:g} s ({details})"
                self.notify("gave_up", self.gave_up)
                self.stop_event.set()
                return


class LinePrinter:
    """A headless run's output: about one line per second of the run (updates may come faster)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._printed_t: float | None = None

    def __call__(self, update) -> None:
        last = self._printed_t
        if last is not None and update.t - last < 1.0 - 1e-6:
            return
        self._printed_t = update.t
        if all(s.missing for s in update.modalities.values()):
            self.console.print(f"t {update.t:6.1f}  no input: every modality is missing", highlight=False)
        else:
            # a missing modality shows its reported reliability, marked missing (as the TUI and qamoe-predict do): on a
            # checkpoint's reliability scale that is 0; without one, the r_m the model used for it
            r = " ".join(f"{m} {s.reliability:.2f}{' missing' if s.missing else ''}" for m, s in update.modalities.items())
            self.console.print(f"t {update.t:6.1f}  {update.sentiment:+.2f} ± {update.std:.2f} {update.label:8s}  r: {r}", highlight=False)
