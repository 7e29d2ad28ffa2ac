"""Checkpoints: a directory with `model.safetensors` (weights) and `config.json` (model config,
feature statistics, training provenance). Loading never unpickles anything.

Both files are written to temporary names and renamed into place only when both are complete
(`qamoe.files`), so a crash mid-write never leaves a half-written file under the real name.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from qamoe.config import LEGACY_VALUES, QAMoEConfig
from qamoe.dataset import DataError
from qamoe.errors import CheckpointError  # noqa: F401 - defined there, raised and imported from here too
from qamoe.feature_stats import MIN_STD, FeatureStats
from qamoe.files import atomic_path
from qamoe.registry import build_model
from qamoe.reliability_scale import ReliabilityScale

FORMAT = "qamoe-checkpoint"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
MODEL_KEY = "qamoe_model_config"  # safetensors metadata: the model config the weights were saved with




@dataclass
class Checkpoint:
    model: torch.nn.Module  # QAMoE or any registered architecture
    stats: dict[str, FeatureStats]
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # e.g. uncertainty calibration

    @property
    def config(self) -> QAMoEConfig:
        return self.model.config


def save_checkpoint(directory: str | Path, checkpoint: Checkpoint, *, half: bool = False) -> Path:
    """Writes both files atomically. On failure (a full disk, say) raises CheckpointError and leaves
    whatever checkpoint was in `directory` before untouched. `half` stores floating-point weights as
    float16 (half the size, for shipped checkpoints); loading casts them back to float32."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _save(directory, checkpoint, half)
    except (OSError, SafetensorError) as err:  # safetensors reports a full disk as its own error
        raise CheckpointError(
            f"could not write the checkpoint to {directory}: {getattr(err, 'strerror', None) or err}; "
            "files already there are unchanged"
        ) from None
    return directory


def _save(directory: Path, checkpoint: Checkpoint, half: bool) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in checkpoint.model.state_dict().items()}
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": getattr(checkpoint.model, "architecture", "qamoe"),
        "model": checkpoint.config.to_dict(),
        "feature_stats": {name: s.to_dict() for name, s in checkpoint.stats.items()},
        "provenance": checkpoint.provenance,
        "extra": checkpoint.extra,
    }
    config_bytes = (json.dumps(meta, indent=2, allow_nan=True) + "\n").encode()
    # both files are complete on disk before either replaces its predecessor (weights first)
    with atomic_path(directory / CONFIG) as config_tmp, atomic_path(directory / WEIGHTS) as weights_tmp:
        # the model config the weights were trained with travels inside the weights file too, so a
        # config.json edited afterwards (heads, say: same tensor shapes, other numbers) is refused
        save_file(tensors, str(weights_tmp), metadata={"format": FORMAT, MODEL_KEY: json.dumps(meta["model"], sort_keys=True)})
        config_tmp.write_bytes(config_bytes)


def read_config(directory: str | Path) -> dict:
    path = Path(directory) / CONFIG
    if not Path(directory).is_dir():
        raise CheckpointError(f"{directory} is not a checkpoint directory (it does not exist or is a file)")
    if not path.exists():
        raise CheckpointError(f"{path} is missing: a checkpoint directory holds {CONFIG} and {WEIGHTS}")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a QA-MoE checkpoint config (its 'format' is not {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has format version {meta.get('version')!r}; this build reads version {VERSION}")
    for key in ("model", "feature_stats"):
        if key not in meta:
            raise CheckpointError(f"{path} lacks the field {key!r}")
    return meta


MAX_VARIANCE_SCALE = 1e4  # a calibrated variance scale beyond this means the stored number is damaged


def _check_extra(directory: Path, extra, modalities: tuple[str, ...]) -> None:
    if not isinstance(extra, dict):
        raise CheckpointError(f"{directory / CONFIG}: field 'extra' must be an object")
    try:
        scale = ReliabilityScale.from_extra(extra)
    except ValueError as err:
        raise CheckpointError(f"{directory / CONFIG}: stored {err}") from None
    foreign = sorted(set(scale.knots) - set(modalities))
    if foreign:
        raise CheckpointError(f"{directory / CONFIG}: the stored reliability scale names modalities the model does not "
                              f"read ({', '.join(foreign)}): it belongs to another checkpoint")
    uncertainty = extra.get("uncertainty", {})
    value = uncertainty.get("variance_scale", 1.0) if isinstance(uncertainty, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_VARIANCE_SCALE:
        raise CheckpointError(
            f"{directory / CONFIG}: stored variance_scale {value!r} is not a number in (0, {MAX_VARIANCE_SCALE:g}]"
        )


def _check_weights_config(weights: Path, config: QAMoEConfig) -> None:
    """Refuses a config.json whose model config differs from the one stored in the weights file
    (checkpoints written before this check carry none and are taken as they are)."""
    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = (handle.metadata() or {}).get(MODEL_KEY)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights} is damaged or not a safetensors file: {err}") from None
    if stored is None:
        return
    try:
        trained = json.loads(stored)
    except json.JSONDecodeError:
        raise CheckpointError(f"{weights}: its stored model config is not valid JSON: the file is damaged") from None
    if isinstance(trained, dict):  # fields added since those weights were saved read as their legacy values
        trained = {**{k: v for k, v in LEGACY_VALUES.items() if k not in trained}, **trained}
    current = json.loads(json.dumps(config.to_dict()))
    differ = sorted(k for k in set(trained) | set(current) if trained.get(k) != current.get(k))
    if differ:
        raise CheckpointError(f"{weights.parent / CONFIG} does not describe the model these weights were trained as "
                              f"(differs in: {', '.join(differ)}); restore the config.json saved with them")


def _check_size(weights: Path, config: QAMoEConfig) -> None:
    """Reads only the safetensors header: a config that describes a far bigger model than the file
    holds is refused before the model is built (no memory is allocated for it)."""
    from qamoe.config import estimated_parameters  # noqa: PLC0415

    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = sum(math.prod(handle.get_slice(k).get_shape()) for k in handle.keys())
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights} is damaged or not a safetensors file: {err}") from None
    needed = estimated_parameters(config)
    if needed > 20 * stored + 10_000_000:  # generous: other architectures are smaller than QA-MoE
        raise CheckpointError(
            f"{weights.parent / CONFIG} describes a model of about {needed:.3g} parameters, but {weights.name} "
            f"holds {stored:.3g}: the config does not belong to these weights"
        )


def load_checkpoint(directory: str | Path, *, expect: QAMoEConfig | None = None) -> Checkpoint:
    """Loads and checks a checkpoint; `expect` refuses one whose model config differs from it."""
    directory = Path(directory)
    meta = read_config(directory)
    try:
        config = QAMoEConfig.from_dict(meta["model"])
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{directory / CONFIG}: bad model config: {err}") from None
    if expect is not None and expect != config:
        diffs = [k for k, v in expect.to_dict().items() if config.to_dict().get(k) != v]
        raise CheckpointError(f"{directory} was trained with another model config (differs in: {', '.join(diffs)})")
    stats_raw = meta["feature_stats"]
    if not isinstance(stats_raw, dict) or set(stats_raw) != set(config.modality_names):
        raise CheckpointError(
            f"{directory / CONFIG}: feature statistics cover {sorted(stats_raw) if isinstance(stats_raw, dict) else stats_raw!r}, "
            f"the model reads {sorted(config.modality_names)}"
        )
    try:
        stats = {m.name: FeatureStats.from_dict(stats_raw[m.name], m.dim) for m in config.modalities}
    except DataError as err:
        raise CheckpointError(f"{directory / CONFIG}: {err}") from None
    for name, s in stats.items():
        if (s.std < MIN_STD).any() or (s.sigma_ref < 0).any():
            raise CheckpointError(
                f"{directory / CONFIG}: feature statistics of {name!r} hold a standard deviation of zero or below "
                "(features would be divided by it): the checkpoint is damaged"
            )
    _check_extra(directory, meta.get("extra", {}), config.modality_names)

    weights = directory / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{weights} is missing")
    _check_size(weights, config)
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights} is damaged or not a safetensors file: {err}") from None
    try:
        model = build_model(meta.get("architecture", "qamoe"), config)
    except ValueError as err:
        raise CheckpointError(f"{directory / CONFIG}: {err}") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights} does not match its config: {len(missing)} missing tensor(s) {missing[:3]}, "
            f"{len(unexpected)} unexpected {unexpected[:3]}"
        )
    wrong = [(k, tuple(tensors[k].shape), tuple(v.shape)) for k, v in expected.items() if tensors[k].shape != v.shape]
    if wrong:
        name, got, want = wrong[0]
        raise CheckpointError(f"{weights}: tensor {name} has shape {got}, the config needs {want} ({len(wrong)} differ)")
    _check_weights_config(weights, config)  # same shapes, other settings (heads, say)
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{weights}: tensor(s) {bad[:3]} hold NaN or infinity")
    model.load_state_dict(tensors)
    model.eval()
    return Checkpoint(model, stats, meta.get("provenance", {}), meta.get("extra", {}))
