"""Offline training with the spectrum strategy (paper 3.5, appendix A.1 and A.3)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qamoe.checkpoint import Checkpoint
from qamoe.config import QAMoEConfig
from qamoe.data.dataset import MultimodalDataset
from qamoe.data.stats import fit_stats
from qamoe.data.tensors import TensorSplit
from qamoe.degradation import degrade
from qamoe.evaluate import Predictions, predict_split, sigma_ref_tensors
from qamoe.loss import total_loss
from qamoe.model import QAMoE

VALID_SEED = 7  # the fixed degradation of the validation split used for model selection


@dataclass(frozen=True)
class TrainConfig:
    """Defaults follow the paper's appendix A.3."""

    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    seed: int = 1111
    spectrum: bool = True  # False: train on clean data
    max_noise: float = 1.0  # lambda_batch ~ U(0, max_noise)
    max_missing: float = 1.0  # eta_batch ~ U(0, max_missing)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def selection_score(model: QAMoE, valid: TensorSplit, sigma_ref, train: TrainConfig) -> tuple[float, dict]:
    """Lower is better. Validation only: MAE (or 1 - accuracy) on the clean split, averaged with the
    same split under a fixed, seeded spectrum draw when training with the spectrum strategy."""
    def error(p: Predictions) -> float:
        m = p.metrics(model.config)
        return 1.0 - m["Acc"] if model.config.num_classes else m["MAE"]

    clean = predict_split(model, valid, sigma_ref=sigma_ref, seed=VALID_SEED)
    scores = {"valid_clean": clean.metrics(model.config)}
    if not train.spectrum:
        return error(clean), scores
    rng = np.random.default_rng(VALID_SEED)
    shape = (len(valid), len(model.config.modalities))
    noisy = predict_split(
        model, valid, sigma_ref=sigma_ref, seed=VALID_SEED,
        noise=rng.uniform(0, train.max_noise, shape), missing_rate=rng.uniform(0, train.max_missing, shape),
    )
    scores["valid_spectrum"] = noisy.metrics(model.config)
    return 0.5 * (error(clean) + error(noisy)), scores


def train_model(
    dataset: MultimodalDataset,
    model_config: QAMoEConfig,
    train: TrainConfig,
    *,
    console=None,
    provenance: dict | None = None,
) -> tuple[Checkpoint, dict]:
    """Trains, keeps the best epoch by the validation selection score, returns it and a history."""
    seed_everything(train.seed)
    stats = fit_stats(dataset.splits["train"].modalities)
    sigma_ref = sigma_ref_tensors(stats)
    train_split = TensorSplit(dataset.splits["train"], stats)
    valid_split = TensorSplit(dataset.splits["valid"], stats)

    model = QAMoE(model_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, betas=(0.9, 0.999), weight_decay=train.weight_decay)
    steps_per_epoch = math.ceil(len(train_split) / train.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train.epochs * steps_per_epoch)
    shuffle = torch.Generator().manual_seed(train.seed)
    corrupt = torch.Generator().manual_seed(train.seed + 1)

    best_score, best_state, best_epoch, history = math.inf, None, -1, []
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  best valid {task.fields[best]}"), TimeRemainingColumn(),
        console=console, transient=False, disable=console is None,
    )
    with progress:
        task = progress.add_task("train", total=train.epochs * steps_per_epoch, epoch=0, loss=0.0, best="-")
        for epoch in range(1, train.epochs + 1):
            model.train()
            losses = []
            for batch in train_split.batches(train.batch_size, shuffle=True, generator=shuffle):
                if train.spectrum:  # Eq. 11: one (lambda, eta) pair for the whole batch
                    lam, eta = torch.rand(2, generator=corrupt) * torch.tensor([train.max_noise, train.max_missing])
                    degraded = degrade(
                        batch.features, batch.lengths, modalities=model_config.modalities, sigma_ref=sigma_ref,
                        noise=float(lam), missing_rate=float(eta), generator=corrupt,
                    )
                    features, lengths = degraded.features, degraded.lengths
                else:
                    features, lengths = batch.features, batch.lengths
                output = model(features, lengths)
                loss, _ = total_loss(output, batch.labels, model_config)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
                progress.update(task, advance=1, epoch=epoch, loss=float(np.mean(losses[-20:])))
            score, scores = selection_score(model, valid_split, sigma_ref, train)
            history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "selection_score": score, **scores})
            if score < best_score:
                best_score, best_epoch = score, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            progress.update(task, best=f"{best_score:.4f} (epoch {best_epoch})")

    model.load_state_dict(best_state)
    model.eval()
    record = {
        "dataset": dataset.name,
        "train_config": asdict(train),
        "best_epoch": best_epoch,
        "selection_score": best_score,
        "train_seconds": round(time.perf_counter() - started, 2),
        "torch": torch.__version__,
        **(provenance or {}),
    }
    return Checkpoint(model, stats, record), {"history": history}


def model_config_for(dataset: MultimodalDataset, base: QAMoEConfig | None = None, **overrides) -> QAMoEConfig:
    """The default model config with the data set's modalities, feature sizes and task."""
    from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec

    specs = tuple(
        ModalitySpec(name, dim, TOKENS if name == "text" else CONTINUOUS) for name, dim in dataset.modality_dims.items()
    )
    base = base or QAMoEConfig()
    return replace(base, modalities=specs, num_classes=dataset.num_classes, **overrides)
