"""Where the real data sets are looked for when no path is given.

A checkout of this project sits next to `shared/data` in its development workplace; a user's clone
or an installed package has no such folder. Every loader therefore takes its data path as an
argument, and only when none is given falls back to `$QAMOE_SHARED_DATA`, then to `../shared/data`
beside the checkout. `missing_data_hint` turns an absent default into an error that says what to give.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data_dir() -> Path:
    """$QAMOE_SHARED_DATA, else `../shared/data` next to the checkout."""
    env = os.environ.get("QAMOE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def missing_data_hint(path: Path, option: str = "--data") -> str:
    """The one line an error shows when a default data path is absent."""
    return f"{path} not found: give {option} PATH, or set QAMOE_SHARED_DATA to the folder that holds the data sets"
