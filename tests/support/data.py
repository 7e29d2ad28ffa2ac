"""The real data sets the tests read. They live in the folder $QAMOE_SHARED_DATA names (this
workplace: /work/shared/data, with cmu-mosi/, ravdess/, fer2013/, text-sentiment/ ...). Tests never
guess it from where the checkout sits: without the variable, or without the named part, a test that
needs it skips (a failure under QAMOE_REQUIRE_MEDIA=1). The `shared_data` fixture of
tests/conftest.py is `shared_data()`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from support.require import need

SHARED_DATA = "QAMOE_SHARED_DATA"


def shared_data(*parts: str) -> Path:
    """$QAMOE_SHARED_DATA joined with `parts`; skips when the variable is unset or the path absent."""
    root = os.environ.get(SHARED_DATA)
    need(bool(root), f"${SHARED_DATA} is not set: point it at the folder that holds the data sets (cmu-mosi, ravdess, fer2013, ...)")
    path = Path(root).joinpath(*parts)
    need(path.exists(), f"{path} is not here (${SHARED_DATA}={root})")
    return path


def fer2013_faces() -> tuple[np.ndarray, np.ndarray]:
    """FER2013's faces, (n, 48, 48) uint8 grey, and their expression labels, (n,) int64."""
    with np.load(shared_data("fer2013", "fer2013-48px.npz"), allow_pickle=False) as z:
        return z["images"], z["labels"].astype(np.int64)
