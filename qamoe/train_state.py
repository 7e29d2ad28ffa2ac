"""Resumable training state: everything a killed run needs to continue exactly where it stopped.

After every epoch the trainer writes `<out>/train_state/epoch-NNNN/` (`state.safetensors`: model,
best model and optimizer tensors; `state.json`: epoch, best score, history, optimizer hyper-parameters,
scheduler) and only then points `<out>/train_state/latest.json` at it with an atomic rename. A run
killed at any moment, even mid-write, leaves `latest.json` naming the last complete epoch; partial
directories are ignored and cleaned up. Random streams are re-seeded from (seed, epoch, rank) at the
start of every epoch, so no RNG state needs saving and a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from qamoe.checkpoint import CheckpointError, atomic_write_json

STATE_DIR = "train_state"
LATEST = "latest.json"


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    best_score: float = float("inf")
    best_epoch: int = -1
    best_model: dict[str, torch.Tensor] | None = None
    history: list[dict] = field(default_factory=list)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta["scalars"].items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_train_state(out: Path, state: TrainState, model, optimizer, scheduler) -> Path:
    """Writes epoch `state.epoch`; on failure (a full disk) the previous complete state stays in use."""
    try:
        return _save_train_state(Path(out) / STATE_DIR, state, model, optimizer, scheduler)
    except OSError as err:
        raise CheckpointError(
            f"could not save the training state of epoch {state.epoch} in {Path(out) / STATE_DIR}: "
            f"{err.strerror or err}; the last complete state is intact: free space and rerun with --resume"
        ) from None


def _save_train_state(root: Path, state: TrainState, model, optimizer, scheduler) -> Path:
    target = root / f"epoch-{state.epoch:04d}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if state.best_model is not None:
        tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in state.best_model.items()})
    optim_tensors, optim_meta = _optimizer_tensors(optimizer)
    tensors.update(optim_tensors)
    save_file(tensors, str(target / "state.safetensors"))
    atomic_write_json(target / "state.json", {
        "epoch": state.epoch, "best_score": state.best_score, "best_epoch": state.best_epoch,
        "history": state.history, "optimizer": optim_meta, "scheduler": scheduler.state_dict(),
    })
    atomic_write_json(root / LATEST, {"epoch": state.epoch, "dir": target.name})
    for old in root.glob("epoch-*"):  # earlier epochs, and partial directories of killed writes
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def load_train_state(out: Path, model, optimizer, scheduler) -> TrainState | None:
    """Restores model, optimizer and scheduler in place; None when there is nothing to resume."""
    root = Path(out) / STATE_DIR
    pointer = root / LATEST
    if not pointer.exists():
        return None
    try:
        latest = json.loads(pointer.read_text())
        directory = root / latest["dir"]
        meta = json.loads((directory / "state.json").read_text())
        tensors = load_file(str(directory / "state.safetensors"))
    except (OSError, KeyError, TypeError, json.JSONDecodeError, SafetensorError) as err:
        raise CheckpointError(f"{root}: the saved training state is unreadable ({err}); "
                              "delete that directory to start over") from None
    model_tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    missing = set(model.state_dict()) - set(model_tensors)
    if missing:
        raise CheckpointError(f"{root}: the saved training state is for another model ({len(missing)} tensors missing)")
    model.load_state_dict(model_tensors)
    _restore_optimizer(optimizer, tensors, meta["optimizer"])
    scheduler.load_state_dict(meta["scheduler"])
    best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")} or None
    return TrainState(meta["epoch"], meta["best_score"], meta["best_epoch"], best, meta["history"])
