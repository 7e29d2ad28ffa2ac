"""Named training variants (QA-MoE, its ablations, clean training, baselines) and a resumable trainer
that lays checkpoints out as RUNS/<variant>/seed<seed>, so every model of a comparison is trained on
the same data with the same seeds, and the protocols evaluate them on identical corruptions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qamoe.checkpoint import CONFIG, WEIGHTS, save_checkpoint
from qamoe.data.dataset import MultimodalDataset
from qamoe.data.registry import load_dataset
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
        Variant("late-fusion-clean", "late-fusion", spectrum=False, description="late-fusion network, clean training"),
        Variant("mult-clean", "mult", spectrum=False, description="MulT-style, clean training"),
        Variant("topk-moe-clean", "topk-moe", spectrum=False, description="plain top-k MoE, clean training"),
    )
}

GROUPS = {
    "baselines": ("qamoe", "late-fusion", "mult", "topk-moe"),
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
    from qamoe.data.dataset import ModalityData, SplitData
    from qamoe.data.stats import fit_stats

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


def is_trained(path: Path) -> bool:
    return (path / CONFIG).exists() and (path / WEIGHTS).exists()


def train_variants(
    names: list[str], seeds: list[int], *, runs: str | Path, epochs: int, dataset: str = "synthetic",
    data: str | None = None, data_seed: int = 0, console=None, log=print, model_overrides: dict | None = None,
) -> dict[tuple[str, int], Path]:
    """Trains every (variant, seed) whose checkpoint is not there yet; seed-major order, so a run cut
    short holds complete seeds. Returns the checkpoint directory of every pair."""
    loaded = load_dataset(dataset, data, seed=data_seed)
    paths = {}
    for seed in seeds:
        for name in names:
            v = variant(name)
            out = checkpoint_dir(runs, name, seed)
            paths[(name, seed)] = out
            if is_trained(out):
                log(f"{name} seed {seed}: already trained in {out}")
                continue
            config = model_config_for(loaded, **{**(model_overrides or {}), **v.overrides})
            train = replace(TrainConfig(), epochs=epochs, seed=seed, spectrum=v.spectrum, device="cpu")
            started = time.perf_counter()
            data_for = loaded if v.fixed_missing is None else with_fixed_missing(loaded, v.fixed_missing, seed)
            checkpoint, history = train_model(
                data_for, config, train, console=console, architecture=v.architecture,
                provenance={"variant": name, "dataset_args": {"dataset": dataset, "data": data, "data_seed": data_seed}},
            )
            save_checkpoint(out, checkpoint)
            (out / "history.json").write_text(json.dumps(history, indent=1))
            log(f"{name} seed {seed}: trained in {time.perf_counter() - started:.0f} s "
                f"(best epoch {checkpoint.provenance['best_epoch']}) -> {out}")
    return paths
