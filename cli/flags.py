"""Argument types that check numbers where argparse reads them: one rule for every numeric flag.

A flag that is not a finite number in its range is refused by argparse itself (exit 2, one line naming
the flag), before anything is loaded, trained or written: `--lr inf`, `--batch-size -4` or
`--duration nan` never reach the code that would train nothing, hang or leave a half-made run behind.
"""

from __future__ import annotations

import argparse
import math


def number(kind=float, *, low: float | None = None, high: float | None = None, low_open: bool = False):
    """An argparse `type`: `kind` (int or float), finite, at least `low` (above it when `low_open`)
    and at most `high`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'a whole number' if kind is int else 'a number'}: {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'above' if low_open else 'at least'} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
