"""Offline training with the spectrum strategy (paper 3.5, appendix A.1 and A.3).

One process, or several under `torchrun` (DistributedDataParallel; see qamoe/distributed.py): each
rank trains on its share of every global batch, validation predictions are gathered from all ranks,
and only rank 0 writes files. With `state_dir` set, the full training state is saved after every
epoch and `resume=True` continues from the last complete one (qamoe/train_state.py).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from qamoe.checkpoint import Checkpoint
from qamoe.config import CONTINUOUS, SPECTRUM_DRAWS, TOKENS, ModalitySpec, QAMoEConfig, TrainConfig  # noqa: F401 - re-exported
from qamoe.dataset import MultimodalDataset
from qamoe.feature_stats import fit_stats
from qamoe.tensors import TensorSplit
from qamoe.degradation import degrade
from qamoe.distributed import DistContext, barrier, gather, init_distributed
from qamoe.evaluate import Predictions, predict_split, sigma_ref_tensors
from qamoe.loss import total_loss
from qamoe.progress import ProgressCallback, TrainProgress
from qamoe.registry import build_model
from qamoe.reliability import ConsistencyTargets
from qamoe.train_state import TrainState, load_train_state, save_train_state

VALID_SEED = 7  # the fixed degradation of the validation split used for model selection


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def epoch_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch, rank, random stream)."""
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729 + stream * 15_485_863) % 2**63


def _gathered_predictions(ctx: DistContext, model, split: TensorSplit, **kwargs) -> Predictions:
    """Each rank predicts its share of the split; all ranks get the whole, in split order."""
    if not ctx.distributed:
        return predict_split(model, split, **kwargs)
    ranks = gather(ctx, predict_split(model, split, shard=(ctx.rank, ctx.world_size), **kwargs))
    return Predictions.concatenate(ranks)


def selection_score(ctx: DistContext, model, valid: TensorSplit, sigma_ref, train: TrainConfig) -> tuple[float, dict]:
    """Lower is better. Validation only: MAE (or 1 - accuracy) on the clean split, averaged with the
    same split under a fixed, seeded spectrum draw when training with the spectrum strategy."""
    config = model.config

    def error(p: Predictions) -> float:
        m = p.metrics(config)
        return 1.0 - m["Acc"] if config.num_classes else m["MAE"]

    clean = _gathered_predictions(ctx, model, valid, sigma_ref=sigma_ref, seed=VALID_SEED)
    scores = {"valid_clean": clean.metrics(config)}
    if not train.spectrum:
        return error(clean), scores
    rng = np.random.default_rng(VALID_SEED)
    shape = (len(valid), len(config.modalities))
    noisy = _gathered_predictions(
        ctx, model, valid, sigma_ref=sigma_ref, seed=VALID_SEED,
        noise=rng.uniform(0, train.max_noise, shape), missing_rate=rng.uniform(0, train.max_missing, shape),
    )
    scores["valid_spectrum"] = noisy.metrics(config)
    return 0.5 * (error(clean) + error(noisy)), scores


def draw_spectrum(train: TrainConfig, batch: int, modalities: int, generator: torch.Generator):
    """(lambda, eta) for one training batch: floats (shared draw) or (B, M) tensors (per modality)."""
    scale = torch.tensor([train.max_noise, train.max_missing])
    mode = train.spectrum_draw
    if mode == "mix":
        mode = "shared" if float(torch.rand(1, generator=generator)) < 0.5 else "per_modality"
    if mode == "shared":  # Eq. 11
        lam, eta = torch.rand(2, generator=generator) * scale
        return float(lam), float(eta)
    levels = torch.rand(2, batch, modalities, generator=generator) * scale[:, None, None]
    return levels[0], levels[1]


class SignalViews:
    """Copies of the training split degraded on the *signal* before extraction (audio at several SNRs,
    say), aligned clip by clip with it. Each training sample reads, per modality that has views, the
    clean features or one of the views, drawn uniformly; feature-level noise is then left off that
    modality (the view is its noise), and missingness still applies. The consistency target compares
    the view with the clean features, so r_m learns what a real bad microphone does."""

    def __init__(self, views: dict[str, list], stats: dict) -> None:
        """views: modality -> list of SplitData with the training split's clips in its order."""
        self.tensors = {name: [TensorSplit(v, stats) for v in split_views] for name, split_views in views.items()}

    def draw(self, batch, generator: torch.Generator) -> tuple[dict, dict]:
        """The batch's features and lengths with each sample's view of every viewed modality."""
        features, lengths = dict(batch.features), dict(batch.lengths)
        for name, tensors in self.tensors.items():
            choice = torch.randint(0, len(tensors) + 1, (len(batch.index),), generator=generator)  # 0: clean
            n = batch.lengths[name].clone()
            for k, view in enumerate(tensors, start=1):
                n[choice == k] = view.lengths[name][batch.index[choice == k]]
            x = torch.zeros(len(n), int(n.max()), batch.features[name].shape[-1])
            clean_rows = choice == 0
            width = min(x.shape[1], batch.features[name].shape[1])
            x[clean_rows, :width] = batch.features[name][clean_rows, :width]
            for k, view in enumerate(tensors, start=1):
                rows = choice == k
                if rows.any():
                    source = view.features[name][batch.index[rows]]
                    width = min(x.shape[1], source.shape[1])
                    x[rows, :width] = source[:, :width]
            features[name], lengths[name] = x, n
        return features, lengths

    def quiet_feature_noise(self, noise, batch: int, names: tuple[str, ...]) -> torch.Tensor:
        """(B, M) feature-level noise with the viewed modalities' columns set to zero."""
        noise = torch.as_tensor(noise, dtype=torch.float32)
        noise = noise.expand(batch, len(names)).clone() if noise.ndim == 0 else noise.clone()
        for column, name in enumerate(names):
            if name in self.tensors:
                noise[:, column] = 0.0
        return noise


def _epoch_batches(ctx: DistContext, n: int, train: TrainConfig, epoch: int) -> list[torch.Tensor]:
    """This rank's sample indices for every step of the epoch."""
    if ctx.distributed:
        sampler = DistributedSampler(range(n), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=train.seed)
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        per_rank = max(1, train.batch_size // ctx.world_size)
    else:
        generator = torch.Generator().manual_seed(epoch_seed(train.seed, epoch, 0, 0))
        order = torch.randperm(n, generator=generator)
        per_rank = train.batch_size
    return [order[i : i + per_rank] for i in range(0, len(order), per_rank)]


def _maybe_compile(model, enabled: bool, report: ProgressCallback):
    if not enabled:
        return model
    try:
        return torch.compile(model)
    except Exception as err:  # noqa: BLE001 - any failure means: run uncompiled
        report(TrainProgress("note", note=f"torch.compile unavailable ({type(err).__name__}); running uncompiled"))
        return model


def train_model(
    dataset: MultimodalDataset,
    model_config: QAMoEConfig,
    train: TrainConfig,
    *,
    on_progress: ProgressCallback | None = None,
    provenance: dict | None = None,
    architecture: str = "qamoe",
    state_dir: str | Path | None = None,
    resume: bool = False,
    ctx: DistContext | None = None,
    signal_views: dict[str, list] | None = None,
) -> tuple[Checkpoint, dict]:
    """Trains, keeps the best epoch by the validation selection score, returns it and a history.

    signal_views: modality -> training-split copies degraded on the signal (see `SignalViews`); with
    the spectrum strategy each sample reads the clean features or one of them. on_progress: told of
    the run's start, every step and every epoch (`qamoe.progress.TrainProgress`; rank 0 only).
    """
    if train.spectrum_draw not in SPECTRUM_DRAWS:
        raise ValueError(f"spectrum_draw must be one of {SPECTRUM_DRAWS}, got {train.spectrum_draw!r}")
    ctx = ctx or init_distributed(train.device)
    report: ProgressCallback = on_progress if on_progress is not None and ctx.is_main else (lambda _: None)
    seed_everything(train.seed)  # the same initial weights on every rank
    stats = fit_stats(dataset.splits["train"].modalities)
    sigma_ref = sigma_ref_tensors(stats)
    train_split = TensorSplit(dataset.splits["train"], stats)
    valid_split = TensorSplit(dataset.splits["valid"], stats)
    views = SignalViews(signal_views, stats) if signal_views and train.spectrum else None

    model = build_model(architecture, model_config).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, betas=(0.9, 0.999), weight_decay=train.weight_decay)
    steps_per_epoch = len(_epoch_batches(ctx, len(train_split), train, 1))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train.epochs * steps_per_epoch)
    state = TrainState()
    if resume and state_dir is not None:
        state = load_train_state(state_dir, model, optimizer, scheduler) or state
    # experts a batch routes nowhere get no gradient, hence find_unused_parameters
    runner = DistributedDataParallel(model, find_unused_parameters=True) if ctx.distributed else model
    runner = _maybe_compile(runner, train.compile, report)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if train.amp and ctx.device.type == "cuda" else nullcontext()
    )

    learns_consistency = model_config.reliability_objective == "consistency" and hasattr(model, "probe")
    consistency_targets = ConsistencyTargets() if learns_consistency and model_config.modality_variance else None
    if consistency_targets is not None:  # a resumed run continues the running spread where it stood
        consistency_targets.spread = dict(state.extra.get("reliability_spread", {}))
    started = time.perf_counter()
    total, done = train.epochs * steps_per_epoch, state.epoch * steps_per_epoch

    def best() -> tuple[float | None, int | None]:
        return (None, None) if state.best_epoch < 0 else (state.best_score, state.best_epoch)

    report(TrainProgress("start", state.epoch, done, total, 0.0, *best()))
    for epoch in range(state.epoch + 1, train.epochs + 1):
        torch.manual_seed(epoch_seed(train.seed, epoch, ctx.rank, 1))  # dropout, latent draws
        corrupt = torch.Generator().manual_seed(epoch_seed(train.seed, epoch, ctx.rank, 2))
        model.train()
        losses = []
        for index in _epoch_batches(ctx, len(train_split), train, epoch):
            batch = train_split.batch(index)
            clean = _on(ctx.device, batch.features, batch.lengths)
            features, lengths, targets = _training_view(
                batch, clean, train=train, model_config=model_config, views=views, sigma_ref=sigma_ref,
                generator=corrupt, device=ctx.device, consistency_targets=consistency_targets, model=model)
            probe_answers = None
            with autocast:
                if targets is not None:  # the probes learn from the clean view
                    probe_answers = model.probe(model.encode(*clean))
                output = runner(features, lengths)
                loss, _ = total_loss(output, batch.labels.to(ctx.device), model_config, targets, probe_answers)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            done += 1
            report(TrainProgress("step", epoch, done, total, float(np.mean(losses[-20:])), *best()))
        score, scores = selection_score(ctx, model, valid_split, sigma_ref, train)
        train_loss = float(np.mean(gather(ctx, float(np.mean(losses)))))
        state.history.append({"epoch": epoch, "train_loss": train_loss, "selection_score": score, **scores})
        if score < state.best_score:
            state.best_score, state.best_epoch = score, epoch
            state.best_model = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        state.epoch = epoch
        if consistency_targets is not None:
            state.extra["reliability_spread"] = dict(consistency_targets.spread)
        if state_dir is not None and ctx.is_main:
            save_train_state(state_dir, state, model, optimizer, scheduler)
        barrier(ctx)
        report(TrainProgress("epoch", epoch, done, total, float(np.mean(losses[-20:])), *best()))

    model.load_state_dict(state.best_model)
    model.to("cpu").eval()
    record = {
        "dataset": dataset.name,
        "architecture": architecture,
        "train_config": asdict(train),
        "best_epoch": state.best_epoch,
        "selection_score": state.best_score,
        "world_size": ctx.world_size,
        "device": str(ctx.device),
        "train_seconds": round(time.perf_counter() - started, 2),
        "torch": torch.__version__,
        **(provenance or {}),
    }
    return Checkpoint(model, stats, record), {"history": state.history}


def _training_view(batch, clean: tuple[dict, dict], *, train: TrainConfig, model_config: QAMoEConfig, views,
                   sigma_ref, generator: torch.Generator, device, consistency_targets, model):
    """(features, lengths, consistency targets or None) the model trains on for `batch`: the clean
    batch, or with the spectrum strategy a degraded view of it (from a signal-degraded copy when
    `views` has them), drawn from `generator`."""
    if not train.spectrum:
        return *clean, None
    n = len(batch.labels)
    lam, eta = draw_spectrum(train, n, len(model_config.modalities), generator)
    source_features, source_lengths = batch.features, batch.lengths
    if views is not None:
        source_features, source_lengths = views.draw(batch, generator)
        lam = views.quiet_feature_noise(lam, n, model_config.modality_names)
    degraded = degrade(source_features, source_lengths, modalities=model_config.modalities, sigma_ref=sigma_ref,
                       noise=lam, missing_rate=eta, generator=generator)
    features, lengths = _on(device, degraded.features, degraded.lengths)
    targets = None
    if consistency_targets is not None:
        targets = consistency_targets(model, clean, (features, lengths), degraded.missing)
    return features, lengths, targets


def _on(device, features: dict, lengths: dict) -> tuple[dict, dict]:
    return {k: v.to(device) for k, v in features.items()}, {k: v.to(device) for k, v in lengths.items()}


def model_config_for(dataset: MultimodalDataset, base: QAMoEConfig | None = None, **overrides) -> QAMoEConfig:
    """The default model config with the data set's modalities, feature sizes and task."""
    specs = tuple(
        ModalitySpec(name, dim, TOKENS if name == "text" else CONTINUOUS) for name, dim in dataset.modality_dims.items()
    )
    base = base or QAMoEConfig()
    return replace(base, modalities=specs, num_classes=dataset.num_classes, **overrides)
