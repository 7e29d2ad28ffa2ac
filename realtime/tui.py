"""The terminal UI: a rich dashboard of the latest `Update`, readable from 80 x 24 upwards.

    QA-MoE Live · demo: noisy room                         t 12.4 s · 5.0 upd/s
    ╭─ sentiment ────────────────────────────────────────────────────────────────╮
    │ +1.52 ± 0.83  POSITIVE                                                     │
    │ -3 ─────────────────────────────────────░░░░░░░░░░█░░░░░░░░░░─────── +3  │
    ╰────────────────────────────────────────────────────────────────────────────╯
    modality  r_m   reliability         history              state
    text      0.62  ████████████░░░░░░  ▃▄▅▆▆▅▄▃▂▂▃▄▅▆▇▇▆▅  ok · 12 frames
    vision    0.55  ██████████░░░░░░░░  ▅▅▅▆▆▅▅▅▅▅▅▅▅▆▆▆▆▅  ok · 60 frames · face happy 0.91
    ...
    face ● found   speech ● found   dropped 0   video 15.0/s
    transcript: ... i really love how this turned out  (partial words still changing: dim italic)
    latency ms p50/p95/p99  frame→screen 38/95/140 · word→screen 410/820/990 · extract 9/31 · model 12/25 · screen 2/6

`Dashboard` is a rich renderable (it lays itself out for the width and height it is given, so tests
render it with a recording console at any size); `run_live` shows it with `rich.live.Live` and
returns when `stop` is set, 'q' is pressed or Ctrl-C arrives, always restoring the terminal.

The vision row names the face's expression (`Update.expression`, the expression network's mean over
the last second: top class and its probability) whenever a face is seen, whether or not the
checkpoint reads expression features.
"""

from __future__ import annotations

import os
import re
import select
import sys
import textwrap
import threading
import time
from collections import deque
from contextlib import contextmanager

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .update import Update

SPARK = "▁▂▃▄▅▆▇█"
LABEL_STYLE = {"negative": "bold red", "neutral": "bold yellow", "positive": "bold green"}
HISTORY = 120  # updates of reliability history kept per modality (bounded)
EXPRESSION_STYLE = {"happy": "bold green", "surprise": "bold cyan", "neutral": "bold white",
                    "sad": "bold blue", "angry": "bold red", "disgust": "bold magenta", "fear": "bold yellow"}


def sparkline(values: list[float | None], width: int) -> Text:
    """The last `width` values in [0, 1] as block characters; None (missing) as a dim dot."""
    text = Text()
    for v in values[-width:]:
        if v is None:
            text.append("·", style="dim red")
        else:
            text.append(SPARK[min(len(SPARK) - 1, max(0, int(v * len(SPARK))))], style="cyan")
    return text


def bar(value: float, width: int, style: str) -> Text:
    """A horizontal bar of `width` cells filled to `value` in [0, 1], with eighth-cell precision."""
    cells = max(0.0, min(1.0, value)) * width
    full = int(cells)
    partial = " ▏▎▍▌▋▊▉"[int((cells - full) * 8)] if full < width else ""
    text = Text("█" * full + (partial if partial.strip() else ""), style=style)
    text.append("░" * (width - len(text.plain)), style="grey35")
    return text


def gauge(value: float, std: float, width: int, style: str) -> Text:
    """A -3..+3 scale `width` cells wide: the uncertainty band value ± std shaded, the value marked."""
    width = max(width, 9)

    def cell(x: float) -> int:
        return round((min(3.0, max(-3.0, x)) + 3.0) / 6.0 * (width - 1))

    lo, hi, at, zero = cell(value - std), cell(value + std), cell(value), cell(0.0)
    text = Text()
    for i in range(width):
        if i == at:
            text.append("█", style=style)
        elif lo <= i <= hi:
            text.append("▒", style=style.replace("bold ", ""))
        elif i == zero:
            text.append("┼", style="white")
        else:
            text.append("─", style="grey50")
    return text


def presence(label: str, found: bool | None) -> Text:
    mark, style, word = ("●", "green", "found") if found else ("○", "red", "none") if found is False else ("○", "grey50", "?")
    return Text.assemble((f"{label} ", "bold"), (mark, style), (f" {word}", style))


def fitted(head: str, parts: list[str], width: int) -> Text:
    """`head` then as many whole `parts` (joined by " · ") as fit in `width` columns: a footer never
    shows half a measurement cut with an ellipsis."""
    shown: list[str] = []
    for part in parts:
        if len(head) + len(" · ".join([*shown, part])) > width:
            break
        shown.append(part)
    return Text.assemble((head, "bold"), (" · ".join(shown), "dim"))

class Dashboard:
    """Keeps the latest update and a bounded reliability history; renders to any console size."""

    def __init__(self, title: str = "QA-MoE Live", source: str = "") -> None:
        self.title = title
        self.source = source
        self.latest: Update | None = None
        self.history: dict[str, deque[float | None]] = {}
        self.message = ""  # one line of status from the app (e.g. 'file ended')
        self._lock = threading.Lock()
        self.changed = threading.Event()  # set by push: run_live draws the new update at once
        self.screen_ms: deque[float] = deque(maxlen=500)  # update handed over -> drawn (ms), measured by draws
        self._pushed_at: float | None = None

    def push(self, update: Update) -> None:
        """Subscriber callback: called from the inference thread for every update."""
        with self._lock:
            self.latest = update
            if self._pushed_at is None:
                self._pushed_at = time.monotonic()
            self.changed.set()
            for name, status in update.modalities.items():
                self.history.setdefault(name, deque(maxlen=HISTORY)).append(None if status.missing else status.reliability)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with self._lock:
            update = self.latest
            history = {k: list(v) for k, v in self.history.items()}
            if self._pushed_at is not None:  # the oldest undrawn update's wait for the screen
                self.screen_ms.append((time.monotonic() - self._pushed_at) * 1000)
                self._pushed_at = None
        width = options.max_width
        height = options.height or console.height
        yield self._header(update, width)
        if update is None:
            yield Text("waiting for the first update ...", style="dim")
            return
        yield self._sentiment(update, width)
        yield self._modalities(update, history, width)
        yield self._status_line(update, width)
        spare = max(1, height - 11 - len(update.modalities) - 3)  # lines left for the transcript
        yield self._transcript(update, width, min(spare, 6))
        yield self._latency(update, width)
        if height >= 30:
            yield self._experts(update, width)
        if self.message:
            yield Text(self.message, style="bold yellow", overflow="ellipsis", no_wrap=True)

    # -- pieces -------------------------------------------------------------------------------
    def _header(self, update: Update | None, width: int) -> Text:
        left = Text.assemble((self.title, "bold magenta"), ("  ", ""), (self.source, "cyan"))
        scene = ""
        if update is not None:  # a running source shows what it is playing, others their state
            scene = " · ".join(state[len("running: "):] if state.startswith("running: ") else f"{name} {state}"
                               for name, state in update.telemetry.sources.items())
        right = "q quit"
        if update is not None:
            right = f"t {update.t:6.1f} s · {update.telemetry.rates.get('updates', 0):4.1f} upd/s · q quit"
        if scene:
            left.append(f"  {scene}", style="dim")
        left.truncate(max(10, width - len(right) - 1), overflow="ellipsis")
        left.pad_right(width - len(left.plain) - len(right))
        left.append(right, style="dim")
        return left

    def _sentiment(self, update: Update, width: int) -> Panel:
        style = LABEL_STYLE.get(update.label, "bold")
        head = Text.assemble(
            (f"{update.sentiment:+.2f}", style), (f" ± {update.std:.2f}  ", "white"), (update.label.upper(), style),
            ("   band = ±1 std", "dim"),
        )
        inner = width - 4
        scale = Text.assemble(("-3 ", "dim"), gauge(update.sentiment, update.std, inner - 6, style), (" +3", "dim"))
        return Panel(Group(head, scale), title="sentiment", title_align="left", padding=(0, 1), height=4)

    def _modalities(self, update: Update, history: dict[str, list], width: int) -> Table:
        bar_w = 12 if width < 100 else 20
        spark_w = max(8, min(40, (width - 40 - bar_w) // 2))
        table = Table.grid(padding=(0, 1))
        table.add_column("modality", width=8, no_wrap=True)
        table.add_column("r", width=4, justify="right", no_wrap=True)
        table.add_column("bar", width=bar_w, no_wrap=True)
        table.add_column("history", width=spark_w, no_wrap=True)
        table.add_column("state", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_row(Text("modality", "bold"), Text("r_m", "bold"), Text("reliability", "bold"),
                      Text("history", "bold"), Text("state", "bold"))
        for name, status in update.modalities.items():
            if status.missing:
                style, state = "red", Text(f"MISSING: {status.reason}", style="bold red")
            else:
                style = "green" if status.reliability >= 0.6 else "yellow" if status.reliability >= 0.4 else "red"
                state = Text(f"ok · {status.frames} frames", style="green")
            top = update.top_expression if name == "vision" else None
            if top is not None:  # shown with or without frames the model can use: it is what the camera sees
                state.append(" · face ", style="dim")
                state.append(f"{top[0]} {top[1]:.2f}", style=EXPRESSION_STYLE.get(top[0], "bold"))
            table.add_row(
                Text(name, "bold"), Text(f"{status.reliability:.2f}", style), bar(status.reliability, bar_w, style),
                sparkline(history.get(name, []), spark_w), state,
            )
        return table

    def _status_line(self, update: Update, width: int) -> Text:
        dropped = sum(update.telemetry.dropped.values())
        rates = " ".join(f"{k.split('/')[-1]} {v:.0f}/s" for k, v in update.telemetry.rates.items() if k != "updates")
        line = Text.assemble(
            presence("face", update.face), "   ", presence("speech", update.speech), "   ",
            ("dropped ", "bold"), (str(dropped), "red" if dropped else "green"), ("   " + rates, "dim"),
        )
        line.truncate(width, overflow="ellipsis")
        return line

    def _transcript(self, update: Update, width: int, lines: int) -> Panel:
        partial = update.partial if update.partial and update.transcript.endswith(update.partial) else ""
        wrapped = textwrap.wrap(update.transcript, width - 4)
        shown = wrapped[-lines:]
        if len(wrapped) > lines:  # the newest words stay; the oldest scroll away
            shown[0] = "… " + shown[0][2:] if len(shown[0]) > 2 else "…"
        if not shown:
            return Panel(Text("(no words yet)", style="dim"), title="transcript", title_align="left", padding=(0, 1),
                         height=lines + 2)
        body = Text("\n".join(shown), style="white")
        if partial:  # the trailing words still being decoded: dim italic until they are final
            tokens = list(re.finditer(r"\S+", body.plain))
            k = min(len(partial.split()), len(tokens))
            if k:
                body.stylize("dim italic", tokens[-k].start(), len(body.plain))
        title = "transcript" + (" (partial words dim)" if partial else "")
        return Panel(body, title=title, title_align="left", padding=(0, 1), height=lines + 2)

    def _latency(self, update: Update, width: int) -> Text:
        """Per-stage percentiles (p50/p95/p99 ms) of the items traced through the pipeline; the
        last update's own numbers while there are none yet (e.g. the demo, which has no raw media)."""
        pct = update.telemetry.latency_pct
        screen = list(self.screen_ms)
        names = [("video/e2e", "frame→update"), ("word/e2e", "word→update"), ("video/extract", "extract"),
                 ("word/asr", "asr"), ("video/wait", "wait"), ("tick/window", "window"), ("tick/model", "model")]
        parts = []
        for key, label in names:
            p = pct.get(key)
            if p and p.get("n"):
                parts.append(f"{label} {p['p50']:.0f}/{p['p95']:.0f}/{p['p99']:.0f}")
        if screen:
            from .latency import percentiles  # noqa: PLC0415

            q = percentiles(screen)
            parts.append(f"screen {q['p50']:.0f}/{q['p95']:.0f}/{q['p99']:.0f}")
        if any(k.startswith(("video/", "word/")) for k in pct):
            return fitted("latency ms p50/p95/p99 ", parts, width)
        else:
            names1 = {"window": "window", "inference": "model", "tick": "tick"}
            parts1 = [f"{names1[k]} {v:.1f}" for k, v in update.telemetry.latency_ms.items() if k in names1]
            parts1 += [f"{k.split('/', 1)[1]} {v:.1f}" for k, v in update.telemetry.latency_ms.items() if k.startswith("extract/")]
            parts1 += [f"age {k.split('/', 1)[1]} {v:.0f}" for k, v in update.telemetry.latency_ms.items() if k.startswith("age/")]
            return fitted("latency ms ", parts1 + parts[-1:] if screen else parts1, width)

    def _experts(self, update: Update, width: int) -> Text:
        parts = [f"{m} " + ",".join(f"E{i}:{w:.2f}" for i, w in s.top_experts) for m, s in update.modalities.items()]
        line = Text.assemble(("top experts ", "bold"), ("  ".join(parts), "dim"))
        line.truncate(width, overflow="ellipsis")
        return line


@contextmanager
def key_presses(on_quit: threading.Event):
    """While active, a 'q' on a terminal's standard input sets `on_quit` (cbreak mode; restored after).
    Does nothing when standard input is not a terminal."""
    if not sys.stdin.isatty():
        yield
        return
    import termios  # noqa: PLC0415 - POSIX only
    import tty  # noqa: PLC0415

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    done = threading.Event()

    def read_keys() -> None:
        while not done.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                key = os.read(fd, 1)
                if key in (b"q", b"Q", b"\x1b"):
                    on_quit.set()

    tty.setcbreak(fd)
    reader = threading.Thread(target=read_keys, name="keys", daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join(0.5)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextmanager
def native_stderr_to(path: str | None):
    """Sends file descriptor 2 (where native libraries such as mediapipe log) to `path` while active,
    so their lines cannot tear the full-screen UI; restored after. None: leave stderr alone."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def run_live(dashboard: Dashboard, stop: threading.Event, console: Console | None = None, fps: float = 30.0,
             stderr_log: str | None = None, idle_s: float = 0.25) -> None:
    """Shows `dashboard` full-screen until `stop` is set or 'q' is pressed; Ctrl-C propagates as
    KeyboardInterrupt after the screen is restored. `stderr_log`: where native log lines go meanwhile.
    A new update is drawn as soon as it arrives, at most `fps` times per second (updates in between
    are drawn together); without updates the screen is redrawn every `idle_s` (messages, size)."""
    console = console or Console()
    with native_stderr_to(stderr_log), key_presses(stop), \
            Live(dashboard, console=console, screen=True, auto_refresh=False, transient=True) as live:
        last = 0.0
        while not stop.is_set():
            dashboard.changed.wait(idle_s)
            if stop.is_set():
                break
            rest = last + 1.0 / fps - time.monotonic()
            if rest > 0 and stop.wait(rest):
                break
            dashboard.changed.clear()
            last = time.monotonic()
            live.refresh()
