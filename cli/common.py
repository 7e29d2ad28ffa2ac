"""Pieces the command-line tools share: threads, consoles, tables, error reporting."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qamoe.errors import CheckpointError, DataError  # light: --help and bad input answer before torch loads

METRIC_ORDER = ("Has0_acc_2", "Has0_F1_score", "Non0_acc_2", "Non0_F1_score", "Mult_acc_5", "Mult_acc_7",
                "MAE", "Corr", "Acc", "F1_score")


def use_all_cores() -> None:
    """All cores for torch, unless OMP_NUM_THREADS says otherwise (e.g. one thread per torchrun rank)."""
    import torch  # noqa: PLC0415 - only a command that computes pays for it

    threads = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(int(threads) if threads and threads.isdigit() else max(1, os.cpu_count() or 1))


WIDE = 200  # result tables written to a file or pipe: wide enough not to be cut at 80 columns


def make_console(*, stderr: bool = False, **kwargs) -> Console:
    """A console for results: on a terminal it follows the terminal's width; into a file or a pipe
    it is WIDE columns (COLUMNS, when set, still wins) so tables are not cut at Rich's default 80."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = hasattr(stream, "isatty") and stream.isatty()
    width = None if terminal or os.environ.get("COLUMNS") else WIDE
    return Console(stderr=stderr, width=width, **kwargs)


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


def quiet_third_party() -> None:
    """Third-party progress bars (transformers' "Loading weights") and native-library log lines
    (TFLite, absl, glog, OpenCV) off; call before those libraries are imported. --verbose skips it."""
    from qamoe.extractors.base import quiet_native_logs  # noqa: PLC0415 - the one rule; base imports nothing heavy

    quiet_native_logs()
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
    try:
        from absl import logging as absl_logging  # noqa: PLC0415

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    _native_stderr_to_log()


NATIVE_LOG = "qamoe-native.log"


def _native_stderr_to_log() -> None:
    """Native libraries (TFLite, mediapipe's glog/absl, OpenCV) write to file descriptor 2 directly:
    point that at a log file in the temp folder, and Python's own `sys.stderr` (our messages, warnings,
    tracebacks) at a duplicate of the real one. Only in a real process, never under a test runner
    that has replaced sys.stderr."""
    import tempfile  # noqa: PLC0415

    if sys.stderr is not sys.__stderr__ or sys.stderr is None:
        return
    try:
        if sys.stderr.fileno() != 2:
            return
        sys.stderr.flush()
        real = os.dup(2)
        log = os.open(os.path.join(tempfile.gettempdir(), NATIVE_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except (OSError, ValueError, AttributeError):
        return
    os.dup2(log, 2)
    os.close(log)
    sys.stderr = sys.__stderr__ = os.fdopen(real, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")


EXIT_USER_ERROR = 2  # bad options, data, checkpoint or input file: the user can fix it
EXIT_IO_ERROR = 1  # a full or read-only disk, no permission
EXIT_INTERRUPTED = 130  # Ctrl-C
USER_ERRORS = (CheckpointError, DataError, FileNotFoundError, ValueError)


def _say_error(console: Console, message: str) -> None:
    """One red line: whitespace (newlines from wrapped library messages) collapsed, markup escaped."""
    console.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)


@contextmanager
def clear_errors(console: Console, *, user_errors: tuple[type[Exception], ...] = (),
                 exit_codes: dict[type[Exception], int] | None = None, io: str = "write"):
    """The error-to-exit-code policy of every command: an error a user can cause becomes one red
    line on `console` and an exit code instead of a traceback.

    exit_codes: a command's own codes, checked first (qamoe-predict: no usable input -> 3);
    USER_ERRORS and `user_errors` (a command's own, e.g. MediaError) -> EXIT_USER_ERROR (2);
    any other OSError (writing results to a full or read-only disk; `io` says what failed, "read"
    for a command that only reads files) -> EXIT_IO_ERROR (1);
    KeyboardInterrupt -> EXIT_INTERRUPTED (130). Anything else is a bug and keeps its traceback.
    Errors always go to standard error, whatever `console` writes to: results on standard output
    (a table, JSON, CSV) never mix with them."""
    if not console.stderr:
        console = Console(stderr=True, soft_wrap=console.soft_wrap)
    try:
        yield
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:
        for kind, code in (exit_codes or {}).items():
            if isinstance(err, kind):
                _say_error(console, str(err))
                sys.exit(code)
        if isinstance(err, USER_ERRORS + tuple(user_errors)):
            _say_error(console, str(err))
            sys.exit(EXIT_USER_ERROR)
        if isinstance(err, OSError):
            where = f"{err.filename}: " if err.filename else ""
            _say_error(console, f"could not {io} {where}{err.strerror or err}")
            sys.exit(EXIT_IO_ERROR)
        raise


def parse_seeds(text: str | None) -> list[int] | None:
    """--seeds 1111,1112,1113 -> [1111, 1112, 1113]; None or empty -> None."""
    if not text:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must list distinct seeds, got {text!r}")
    return seeds
