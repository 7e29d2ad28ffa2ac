"""Which checkpoint the live pipeline loads when `--checkpoint` is not given.

- `--demo` reads the simulator's modalities (text 64, audio 32, vision 24): the shipped checkpoint
  at `qamoe/assets/simulator/` (`qamoe.shipped`); when a build has none, a small one is
  trained on the simulator once (about a minute on 2 cores) and cached under the project's one cache
  root (`qamoe.data.paths.cache_root()`: $QAMOE_CACHE, else ~/.cache/qamoe) in `live/demo`.
- devices and files read the real extractors' features: the shipped checkpoint at
  `qamoe/assets/live/` (`qamoe.shipped`), or whatever `--checkpoint` names.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qamoe.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from qamoe.shipped import LIVE, SIMULATOR, exists, shipped_checkpoint


def cache_dir() -> Path:
    """Where the live layer keeps what it builds: the project's cache root, `live/`."""
    from qamoe.data.paths import cache_root  # noqa: PLC0415

    return cache_root() / "live"


def train_demo_checkpoint(out: Path, *, epochs: int = 3, seed: int = 0, console=None) -> Checkpoint:
    """Trains a small simulator checkpoint with the spectrum strategy and saves it to `out`; its
    progress is drawn on `console` (None: not shown)."""
    from qamoe.data.synthetic import make_synthetic  # noqa: PLC0415 - only needed on this path
    from qamoe.progress import rich_training_progress  # noqa: PLC0415
    from qamoe.train import TrainConfig, model_config_for, train_model  # noqa: PLC0415

    dataset = make_synthetic(seed, sizes={"train": 640, "valid": 120, "test": 8})
    config = replace(model_config_for(dataset), d_model=64, expert_hidden=128, num_experts=8, top_k=2)
    with rich_training_progress(console) as on_progress:
        checkpoint, _ = train_model(
            dataset, config, replace(TrainConfig(), epochs=epochs, batch_size=32, lr=2e-3), on_progress=on_progress,
            provenance={"dataset_args": {"dataset": "synthetic", "data_seed": seed}, "purpose": "qamoe-live demo fallback"},
        )
    save_checkpoint(out, checkpoint)
    return checkpoint


def demo_checkpoint(explicit: str | Path | None = None, *, console=None) -> Checkpoint:
    """The checkpoint `--demo` runs: `explicit`, else the shipped one, else the cached fallback
    (trained now when absent)."""
    if explicit is not None:
        return load_checkpoint(explicit)
    for directory in (shipped_checkpoint(SIMULATOR), cache_dir() / "demo"):
        if exists(directory):
            return load_checkpoint(directory)
    out = cache_dir() / "demo"
    if console is not None:
        console.print(
            f"no shipped simulator checkpoint at {shipped_checkpoint(SIMULATOR)}; training a small one once "
            f"(about a minute) into {out}"
        )
    return train_demo_checkpoint(out, console=console)


def media_checkpoint(explicit: str | Path | None = None) -> Checkpoint:
    """The checkpoint for camera / microphone / file features: `explicit` or the shipped one."""
    directory = Path(explicit) if explicit is not None else shipped_checkpoint(LIVE)
    if explicit is None and not exists(directory):
        raise CheckpointError(
            f"no checkpoint for live media features at {directory}: pass --checkpoint DIR with one trained "
            "on features from qamoe-extract (or try `qamoe-live --demo`, which needs none)"
        )
    return load_checkpoint(directory)


def data_seed_of(checkpoint: Checkpoint) -> int:
    """The simulator seed a checkpoint was trained on (0 when its provenance does not say)."""
    args = checkpoint.provenance.get("dataset_args", {}) if isinstance(checkpoint.provenance, dict) else {}
    seed = args.get("data_seed", 0) if isinstance(args, dict) else 0
    return seed if isinstance(seed, int) else 0
