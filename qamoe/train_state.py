"""Resumable training state: everything a killed run needs to continue exactly where it stopped.

After every epoch the trainer writes `<out>/train_state/epoch-NNNN/` (`state.safetensors`: model,
best model and optimizer tensors; `state.json`: epoch, best score, history, optimizer hyper-parameters,
scheduler) and only then points `<out>/train_state/latest.json` at it with an atomic rename. A run
killed at any moment, even mid-write, leaves `latest.json` naming the last complete epoch; partial
directories are ignored and cleaned up. Random streams are re-seeded from (seed, epoch, rank) at the
start of every epoch, so no RNG state needs saving and a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from qamoe.checkpoint import CheckpointError
from qamoe.files import atomic_write_json

STATE_DIR = "train_state"
LATEST = "latest.json"
RUN = "run.json"  # what defines the run: settings and a fingerprint of the data; --resume checks it
NOT_IDENTITY = ("device", "amp", "compile")  # how a run executes, not what it computes


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    best_score: float = float("inf")
    best_epoch: int = -1
    best_model: dict[str, torch.Tensor] | None = None
    history: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # JSON state of training helpers (the consistency target's spread)


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
    except (OSError, SafetensorError) as err:  # safetensors reports a full disk as its own error
        raise CheckpointError(
            f"could not save the training state of epoch {state.epoch} in {Path(out) / STATE_DIR}: "
            f"{getattr(err, 'strerror', None) or err}; the last complete state is intact: free space and rerun with --resume"
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
        "extra": state.extra,
    })
    atomic_write_json(root / LATEST, {"epoch": state.epoch, "dir": target.name})
    for old in root.glob("epoch-*"):  # earlier epochs, and partial directories of killed writes
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def data_fingerprint(dataset) -> str:
    """SHA-256 over every split's features, lengths, labels and ids (what the run learns from)."""
    sha = hashlib.sha256()
    for name in sorted(dataset.splits):
        split = dataset.splits[name]
        sha.update(f"split {name} {len(split.labels)}".encode())
        for modality in sorted(split.modalities):
            data = split.modalities[modality]
            for array in (data.features, data.lengths):
                array = np.ascontiguousarray(array)
                sha.update(f"{modality} {array.dtype} {array.shape}".encode())
                sha.update(array.tobytes())
        labels = np.ascontiguousarray(split.labels)
        sha.update(f"labels {labels.dtype} {labels.shape}".encode() + labels.tobytes())
        sha.update("\n".join(map(str, split.ids)).encode())
    return sha.hexdigest()


def run_identity(model_config, train_config, architecture: str, dataset, dataset_args: dict) -> dict:
    """Everything that makes two runs the same run (not where or how fast it executes)."""
    train = {k: v for k, v in asdict(train_config).items() if k not in NOT_IDENTITY}
    return json.loads(json.dumps({
        "architecture": architecture, "model": model_config.to_dict(), "train": train,
        "data": {"args": dataset_args, "name": dataset.name, "sha256": data_fingerprint(dataset)},
    }, default=str))


def _differences(old, new, prefix="") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')} {old!r} -> {new!r}"]


def check_same_run(out: Path, identity: dict, *, resume: bool, write: bool = True) -> None:
    """`--resume` continues only the run that was interrupted: same settings, same data (a
    CheckpointError naming what differs otherwise). A new run records its identity first."""
    root = Path(out) / STATE_DIR
    if resume and (root / LATEST).exists():
        try:
            old = json.loads((root / RUN).read_text())
        except FileNotFoundError:
            raise CheckpointError(
                f"{root} has no {RUN}: the interrupted run's settings and data cannot be checked, so it is not "
                "resumed; delete that folder to start over"
            ) from None
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{root / RUN} is unreadable ({err}); delete {root} to start over") from None
        diffs = _differences(old, identity)
        if diffs:
            shown = "; ".join(d if len(d) < 120 else d[:117] + "..." for d in diffs[:4])
            more = f" (and {len(diffs) - 4} more)" if len(diffs) > 4 else ""
            raise CheckpointError(
                f"--resume continues only the same run, and {out} holds another: {shown}{more}; "
                "rerun with the original settings and data, or use another --out"
            )
        return
    if write:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(root / RUN, identity)


def check_out_folder(out: Path) -> None:
    """Before any training: OUT must be a folder this process can write (a clear ValueError if not)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out}: cannot create the folder ({err.strerror or err})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: no permission to write there")


class OutFolderLock:
    """One training run per OUT folder: an exclusive `flock` on a lock file named after OUT's real path
    in the temp folder (OUT itself holds only the run's outputs), held while the run lives and released
    by the kernel when the process ends, however it ends: no stale lock to clean up. A second run into
    the same folder - a second `--resume` included - is refused."""

    def __init__(self, out: Path) -> None:
        import tempfile  # noqa: PLC0415

        self.out = Path(out)
        name = hashlib.sha1(str(self.out.resolve()).encode()).hexdigest()[:16]
        self.path = Path(tempfile.gettempdir()) / f"qamoe-train-{name}.lock"
        self._handle = None

    def __enter__(self) -> "OutFolderLock":
        import fcntl  # noqa: PLC0415 - POSIX only, like the rest of the training resume machinery

        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise CheckpointError(f"{self.out} is in use by a training run that is still going ({holder}); "
                                  "wait for it to end or stop it, or train into another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None


def has_saved_epoch(out: Path) -> bool:
    """Whether OUT holds an interrupted run with at least one saved epoch (what --resume continues)."""
    return (Path(out) / STATE_DIR / LATEST).exists()


def has_finished_checkpoint(out: Path) -> bool:
    from qamoe.checkpoint import CONFIG, WEIGHTS  # noqa: PLC0415

    return (Path(out) / CONFIG).is_file() and (Path(out) / WEIGHTS).is_file()


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
    try:
        model.load_state_dict(model_tensors)
        _restore_optimizer(optimizer, tensors, meta["optimizer"])
        scheduler.load_state_dict(meta["scheduler"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0][:200]
        raise CheckpointError(f"{root}: the saved training state does not fit this model ({first})") from None
    best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")} or None
    return TrainState(meta["epoch"], meta["best_score"], meta["best_epoch"], best, meta["history"], meta.get("extra", {}))
