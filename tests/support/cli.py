"""Running a command's `main(argv)` in the test's own process."""

from __future__ import annotations

from typing import Callable


def exit_code(main: Callable[[list[str]], object], argv: list[str]) -> int:
    """The command's exit status: 0 when `main` returns, else its SystemExit code (None counts as 0)."""
    try:
        main(list(argv))
    except SystemExit as exit_:
        return 0 if exit_.code is None else exit_.code
    return 0
