"""The checkpoints that ship inside the package, under `qamoe/assets/<name>/`.

- `live`: reads the real extractors' features (camera, microphone, files); `qamoe-live --camera/--mic/
  --video`, `qamoe-predict` and `Predictor.load()` use it when no checkpoint is named.
- `simulator`: reads the simulator's features; `qamoe-live --demo` uses it.

A build may leave either out: callers check `exists()` and say what to pass instead.
"""

from __future__ import annotations

from pathlib import Path

from qamoe.checkpoint import CONFIG, WEIGHTS

ASSETS = Path(__file__).resolve().parent / "assets"
LIVE = "live"
SIMULATOR = "simulator"


def shipped_checkpoint(name: str) -> Path:
    """The folder of the shipped checkpoint `name` ("live" or "simulator"); it may not exist in a build."""
    if name not in (LIVE, SIMULATOR):
        raise ValueError(f"no shipped checkpoint is called {name!r}; there are {LIVE!r} and {SIMULATOR!r}")
    return ASSETS / name


def exists(directory: Path) -> bool:
    """Whether `directory` holds a complete checkpoint (weights and config)."""
    return (Path(directory) / CONFIG).is_file() and (Path(directory) / WEIGHTS).is_file()
