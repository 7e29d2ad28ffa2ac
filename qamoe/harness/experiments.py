"""Training and evaluating the models of a comparison, as a library (qamoe-eval --protocol and
qamoe-experiment are thin command lines over it).

- named training variants (QA-MoE, its ablations, clean training, baselines) and a resumable trainer
  that lays checkpoints out as RUNS/<variant>/seed<seed>, so every model of a comparison is trained on
  the same data with the same seeds;
- `run_evaluation`: the protocols on every model and training seed, on identical corruptions, written
  as PROTOCOL.json (and REPORT.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qamoe import shipped
from qamoe.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from qamoe.data.registry import load_dataset
from qamoe.dataset import MultimodalDataset
from qamoe.distributed import resolve_device
from qamoe.evaluate import sigma_ref_tensors
from qamoe.files import atomic_write_json, atomic_write_text
from qamoe.harness.protocols import PROTOCOLS, run_protocol
from qamoe.harness.records import ModelResults, ProtocolPayload
from qamoe.reliability_scale import fit_and_store
from qamoe.tensors import TensorSplit
from qamoe.train import TrainConfig, model_config_for, train_model


@dataclass(frozen=True)
class Variant:
    name: str
    architecture: str = "qamoe"
    spectrum: bool = True
    overrides: dict = field(default_factory=dict)
    description: str = ""
    fixed_missing: float | None = None  # Lian et al.'s random missing protocol: the same eta in train and valid


VARIANTS = {
    v.name: v
    for v in (
        Variant("qamoe", description="QA-MoE (full), spectrum training"),
        Variant("late-fusion", "late-fusion", description="late-fusion network, spectrum training"),
        Variant("mult", "mult", description="MulT-style cross-modal transformer, spectrum training"),
        Variant("topk-moe", "topk-moe", description="plain top-k MoE without quality awareness, spectrum training"),
        Variant("qamoe-clean", spectrum=False, description="QA-MoE (full), clean training"),
        Variant("qamoe-no-gating", overrides={"quality_gating": False}, description="w/o quality gating (r_m = 1 in Eq. 7)"),
        Variant("qamoe-no-sigma", overrides={"modality_variance": False},
                description="w/o sigma^2_m: r_m = 1, no quality score, Eq. 10 kept"),
        Variant("qamoe-no-variance", overrides={"heteroscedastic": False},
                description="w/o variance head: MSE instead of Eq. 10, r_m kept"),
        Variant("qamoe-unimodal-reliability", overrides={"reliability_objective": "unimodal"},
                description="sigma^2_m from the unimodal heteroscedastic objective (the first version)"),
        Variant("qamoe-eq10-only", overrides={"reliability_objective": "none", "gate_gradient": True},
                description="sigma^2_m from Eq. 10 through Eq. 7 alone (the paper's mechanism)"),
        Variant("qamoe-no-prior", overrides={"use_prior": False}, description="w/o universal fallback (y_prior = 0)"),
        # why is Eq. 7's gating level with no gating? (the gating study, docs/reliability-report)
        Variant("qamoe-router-mu", overrides={"router_quality": False},
                description="the router reads mu_m alone (not log sigma^2_m): only Eq. 7 sees the quality"),
        Variant("qamoe-router-mu-no-gating", overrides={"router_quality": False, "quality_gating": False},
                description="the router reads mu_m alone and r_m = 1 in Eq. 7: nothing sees the quality"),
        Variant("qamoe-gate-gradient", overrides={"gate_gradient": True},
                description="the fused loss's gradient reaches sigma^2 through Eq. 7 (no stop-gradient)"),
        Variant("qamoe-reliability-fusion", overrides={"reliability_fusion": True},
                description="each y_m scaled by M r_m / sum_m r_m: modalities share the fusion by reliability"),
        Variant("qamoe-meanpool", overrides={"max_pooling": False},
                description="QA-MoE pooling mu by the mean only, as the baselines do"),
        Variant("late-fusion-maxpool", "late-fusion", overrides={"baseline_max_pooling": True},
                description="late-fusion network pooling by mean and max as QA-MoE does"),
        Variant("mult-maxpool", "mult", overrides={"baseline_max_pooling": True},
                description="MulT-style pooling by mean and max as QA-MoE does"),
        Variant("topk-moe-maxpool", "topk-moe", overrides={"baseline_max_pooling": True},
                description="plain top-k MoE pooling by mean and max as QA-MoE does"),
        Variant("late-fusion-clean", "late-fusion", spectrum=False, description="late-fusion network, clean training"),
        Variant("mult-clean", "mult", spectrum=False, description="MulT-style, clean training"),
        Variant("topk-moe-clean", "topk-moe", spectrum=False, description="plain top-k MoE, clean training"),
    )
}

GROUPS = {
    "baselines": ("qamoe", "late-fusion", "mult", "topk-moe"),
    "like-for-like": ("qamoe", "late-fusion-maxpool", "mult-maxpool", "topk-moe-maxpool",
                      "qamoe-meanpool", "late-fusion", "mult", "topk-moe"),
    "gating": ("qamoe", "qamoe-no-gating", "qamoe-router-mu", "qamoe-router-mu-no-gating", "qamoe-gate-gradient",
               "qamoe-reliability-fusion"),
    "ablations": ("qamoe", "qamoe-no-gating", "qamoe-no-sigma", "qamoe-no-variance", "qamoe-no-prior"),
    "reliability": ("qamoe", "qamoe-unimodal-reliability", "qamoe-eq10-only"),
    "training": ("qamoe", "qamoe-clean"),
    "missing-retrained": tuple(f"qamoe-missing{eta:.1f}" for eta in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)),
    "training-all": ("qamoe", "qamoe-clean", "late-fusion", "late-fusion-clean", "mult", "mult-clean", "topk-moe",
                     "topk-moe-clean"),
}


def variant(name: str) -> Variant:
    """A named variant; any registered architecture (spectrum training), ARCH-clean (clean training),
    or ARCH-missingETA (trained and selected at the fixed missing rate ETA, e.g. qamoe-missing0.3)."""
    if name in VARIANTS:
        return VARIANTS[name]
    from qamoe.registry import model_names

    if "-missing" in name:
        base, _, rate = name.rpartition("-missing")
        try:
            eta = float(rate)
        except ValueError:
            eta = -1.0
        if base in model_names() and 0.0 <= eta < 1.0:
            return Variant(name, base, spectrum=False, fixed_missing=eta,
                           description=f"{base}, trained and selected at missing rate {eta}")

    base, clean = (name[: -len("-clean")], True) if name.endswith("-clean") else (name, False)
    if base in model_names():
        return Variant(name, base, spectrum=not clean, description=f"{base}, {'clean' if clean else 'spectrum'} training")
    raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)} or any registered architecture")


def with_fixed_missing(dataset: MultimodalDataset, eta: float, seed: int) -> MultimodalDataset:
    """train and valid with every modality of every sample missing with probability eta, masks drawn
    once from `seed` (static, as in Lian et al.'s protocol); test is left clean, the protocol degrades
    it. A missing modality becomes one frame equal to the clean training mean, so that after
    normalisation it is the zero frame that test-time missingness produces."""
    from qamoe.dataset import ModalityData, SplitData
    from qamoe.feature_stats import fit_stats

    stats = fit_stats(dataset.splits["train"].modalities)
    splits = dict(dataset.splits)
    for number, name in enumerate(("train", "valid")):
        split = dataset.splits[name]
        rng = np.random.default_rng([seed, number, int(round(eta * 1000))])
        modalities = {}
        for modality, data in split.modalities.items():
            gone = rng.random(len(split)) < eta
            features, lengths = data.features.copy(), data.lengths.copy()
            features[gone] = 0.0
            features[gone, 0] = stats[modality].mean
            lengths[gone] = 1
            modalities[modality] = ModalityData(features, lengths)
        splits[name] = SplitData(modalities, split.labels, split.ids)
    return MultimodalDataset(f"{dataset.name}-missing{eta}", splits, dataset.task, dataset.class_names)


def checkpoint_dir(runs: str | Path, name: str, seed: int) -> Path:
    return Path(runs) / name / f"seed{seed}"


def train_variants(
    names: list[str], seeds: list[int], *, runs: str | Path, epochs: int, dataset: str = "synthetic",
    data: str | None = None, data_seed: int = 0, on_progress=None, log=print, model_overrides: dict | None = None,
    device: str = "cpu",
) -> dict[tuple[str, int], Path]:
    """Trains every (variant, seed) whose checkpoint is not there yet; seed-major order, so a run cut
    short holds complete seeds. Returns the checkpoint directory of every pair. on_progress: told of
    every training run's progress (`qamoe.progress.TrainProgress`); log: one line per variant and seed.
    device: where they train (`TrainConfig.device`: "cpu", "cuda", "auto"); checkpoints are saved on the CPU."""
    loaded = load_dataset(dataset, data, seed=data_seed)
    paths = {}
    for seed in seeds:
        for name in names:
            v = variant(name)
            out = checkpoint_dir(runs, name, seed)
            paths[(name, seed)] = out
            if shipped.exists(out):
                log(f"{name} seed {seed}: already trained in {out}")
                continue
            config = model_config_for(loaded, **{**(model_overrides or {}), **v.overrides})
            train = replace(TrainConfig(), epochs=epochs, seed=seed, spectrum=v.spectrum, device=device)
            started = time.perf_counter()
            data_for = loaded if v.fixed_missing is None else with_fixed_missing(loaded, v.fixed_missing, seed)
            checkpoint, history = train_model(
                data_for, config, train, on_progress=on_progress, architecture=v.architecture,
                provenance={"variant": name, "dataset_args": {"dataset": dataset, "data": data, "data_seed": data_seed}},
            )
            fit_and_store(checkpoint, TensorSplit(data_for.splits["valid"], checkpoint.stats),  # as qamoe-train does
                          present=(getattr(data_for, "present", None) or {}).get("valid"))
            save_checkpoint(out, checkpoint)
            atomic_write_text(out / "history.json", json.dumps(history, indent=1))
            log(f"{name} seed {seed}: trained in {time.perf_counter() - started:.0f} s "
                f"(best epoch {checkpoint.provenance['best_epoch']}) -> {out}")
    return paths


# ---- evaluation: the protocols on every model and training seed ----


@dataclass(frozen=True)
class TrainedModel:
    """One training seed of a model under evaluation (seed None: a single checkpoint)."""

    seed: int | None
    path: Path
    checkpoint: Checkpoint


def load_models(paths: dict[str, Sequence[tuple[int | None, Path]]], device: str = "cpu") -> dict[str, list[TrainedModel]]:
    """label -> [(training seed, checkpoint dir)] -> label -> loaded models, each moved to `device`."""
    target = resolve_device(device)
    models = {}
    for label, entries in paths.items():
        models[label] = []
        for seed, path in entries:
            checkpoint = load_checkpoint(path)
            checkpoint.model.to(target)
            models[label].append(TrainedModel(seed, Path(path), checkpoint))
    return models


def check_reads(checkpoint: Checkpoint, dataset: MultimodalDataset, what: str = "checkpoint") -> None:
    """A CheckpointError unless the checkpoint reads the data set's modalities at their sizes."""
    if dataset.modality_dims != {m.name: m.dim for m in checkpoint.config.modalities}:
        raise CheckpointError(
            f"{what} reads {[(m.name, m.dim) for m in checkpoint.config.modalities]}, "
            f"data set {dataset.name} has {sorted(dataset.modality_dims.items())}"
        )


def dataset_for(checkpoint: Checkpoint, name: str, data: str | None = None, *, data_seed: int | None = None,
                options: dict | None = None) -> MultimodalDataset:
    """The data set a checkpoint is evaluated on: the simulator's seed and split sizes default to the
    ones it was trained on (its provenance)."""
    trained_on = checkpoint.provenance.get("dataset_args", {})
    seed = trained_on.get("data_seed", 0) if data_seed is None else data_seed
    return load_dataset(name, data, seed=seed, sizes=trained_on.get("sizes"), options=options)


def evaluation_split(dataset: MultimodalDataset, name: str, checkpoint: Checkpoint) -> TensorSplit:
    """The split `name` as the checkpoint reads it; "all" joins every split (a ravdess folder loaded
    with all_clips: each clip once). Ravdess first puts absent modalities at this checkpoint's
    training mean (`refill`), so they normalise to the zero frame the model reads as missing."""
    from qamoe.data.ravdess import concat_splits

    if hasattr(dataset, "refill"):
        dataset.refill(checkpoint.stats)
    data = concat_splits(dataset) if name == "all" else dataset.splits[name]
    return TensorSplit(data, checkpoint.stats)


def run_evaluation(
    models: dict[str, list[TrainedModel]], dataset: MultimodalDataset, *, protocols: Sequence[str] = PROTOCOLS,
    split: str = "test", seed: int = 0, out: str | Path | None = None, report_title: str | None = None,
    command: str = "", log: Callable[[str], None] = print,
    on_result: Callable[[ProtocolPayload], None] | None = None,
) -> dict[str, ProtocolPayload]:
    """Runs each protocol on every model and training seed of `models`, all on the same corruptions
    (drawn from `seed`). With `out`: writes PROTOCOL.json after each protocol, and REPORT.md with its
    heatmaps when `report_title` is given. `on_result` sees each protocol's payload when it is done."""
    unknown = [name for name in protocols if name not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; choose from {', '.join(PROTOCOLS)}")
    for entries in models.values():
        for model in entries:
            check_reads(model.checkpoint, dataset, str(model.path))
    folder = Path(out) if out is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    payloads = {}
    for name in protocols:
        results = {}
        for label, entries in models.items():
            per_seed = []
            for model in entries:
                started = time.perf_counter()
                tensors = evaluation_split(dataset, split, model.checkpoint)
                per_seed.append(run_protocol(name, model.checkpoint, tensors, sigma_ref_tensors(model.checkpoint.stats),
                                             seed=seed))
                log(f"{name}: {label} seed {model.seed} ({time.perf_counter() - started:.1f} s)")
            results[label] = ModelResults(
                checkpoints=[str(m.path) for m in entries],
                architecture=entries[0].checkpoint.provenance.get("architecture", "qamoe"),
                seeds=[m.seed for m in entries], per_seed=per_seed,
            )
        payload = ProtocolPayload(name, dataset.name, split, seed, command, results)
        payloads[name] = payload
        if folder is not None:
            atomic_write_json(folder / f"{name}.json", payload.to_dict())
        if on_result is not None:
            on_result(payload)
        if folder is not None:
            log(f"written to {folder / f'{name}.json'}")
    if folder is not None and report_title is not None:
        from qamoe.harness.report import write_markdown

        report = write_markdown(payloads, folder, title=report_title)
        log(f"report written to {report}")
    return payloads
