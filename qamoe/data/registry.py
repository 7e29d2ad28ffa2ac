"""Data sets by name, as the command-line tools select them with `--dataset NAME [--data PATH]`."""

from __future__ import annotations

from qamoe.data.dataset import DataError, MultimodalDataset
from qamoe.data.synthetic import make_synthetic

DATASETS = ("synthetic", "extracted")


def load_dataset(name: str, data: str | None = None, *, seed: int = 0, sizes: dict | None = None) -> MultimodalDataset:
    """`synthetic` is generated from `seed` (with optional split `sizes`); the others read files at `data`."""
    if name == "synthetic":
        return make_synthetic(seed, sizes=sizes)
    if data is None:
        raise DataError(f"--dataset {name} needs --data PATH")
    if name == "extracted":
        from qamoe.data.extracted import load_extracted

        return load_extracted(data)
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
