"""Reading data set pickles without executing code from them.

The standard processed CMU-MOSI / MOSEI files (MMSA's `aligned_50.pkl`, MulT's `mosi_data.pkl`) are
pickles of dicts, lists, strings and numpy arrays. `safe_load` lets exactly those through: any other
global the file names (os.system, builtins.eval, subprocess, ...) is refused before it can run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from qamoe.dataset import DataError

# (module, name) pairs a numpy-array pickle needs, across numpy 1.x and 2.x module paths
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # numpy arrays pickled under Python 2 / latin1 go through it
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load global {module}.{name}: data pickles may hold only arrays and containers")


def safe_loads(data: bytes, *, source: str = "pickle"):
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise DataError(f"{source}: {err}") from None
    except Exception as err:  # noqa: BLE001 - a damaged pickle can raise almost anything; all mean "unreadable"
        raise DataError(f"{source} is truncated or not a pickle: {type(err).__name__}: {err}") from None


def safe_load(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file")
    return safe_loads(path.read_bytes(), source=str(path))
