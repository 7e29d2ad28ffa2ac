"""`load_ravdess`: the data set from the built features; `snr_views`: one split clean and at every SNR,
aligned; `concat_splits`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData

from .cache import FeatureCache
from .conditions import Condition
from .plan import plan_load, read_features
from .table import DEFAULT_FOLDS, DIMS, EMOTIONS, TASKS, TEXT_SOURCES, VOICE_DIM, Clip, read_action_units
from .voice_features import voice_log_probs


@dataclass
class RavdessDataset(MultimodalDataset):
    """A `MultimodalDataset` plus what RAVDESS knows per sample."""

    present: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # split -> modality -> (N,) bool
    clips: dict[str, list[Clip]] = field(default_factory=dict)  # split -> clips in sample order
    conditions: dict[str, list[str]] = field(default_factory=dict)  # split -> per-sample condition label
    options: dict = field(default_factory=dict)

    def refill(self, stats: dict) -> None:
        """Missing modalities become one frame at a checkpoint's training mean (`stats[m].mean`), so they
        normalise to exactly the zero frame QA-MoE reads as missing, whatever folder was loaded."""
        for split, data in self.splits.items():
            for m, mod in data.modalities.items():
                gone = ~self.present.get(split, {}).get(m, np.ones(len(mod.lengths), bool))
                if m in stats and gone.any():
                    mod.features[gone] = 0.0
                    mod.features[gone, 0] = np.asarray(stats[m].mean, np.float32)
                    mod.lengths[gone] = 1


def _check_options(task: str, text: str) -> None:
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if text not in TEXT_SOURCES:
        raise DataError(f"unknown text source {text!r}; choose one of {', '.join(TEXT_SOURCES)}")


def load_ravdess(
    data: str | Path | None = None, *, task: str = "sentiment", text: str = "statement", folds: str | None = None,
    all_clips: bool = False, audio_snr: float | None = None, noise_kind: str = "white", noise_seed: int = 0,
    snr_splits: tuple[str, ...] | None = None, train_snrs: tuple | None = None, cache: str | Path | None = None,
    voice: bool = False,
) -> RavdessDataset:
    """The data set (module docstring) from the built features. `data`: the RAVDESS folder (default
    $QAMOE_SHARED_DATA/ravdess); `audio_snr`: noise at that SNR on the splits in `snr_splits` (default
    all); `train_snrs`: extra copies of the train split at these SNRs (None in the list = clean)
    appended to it as augmentation (ids `<id>@<condition>`); `voice`: every audio frame also carries
    the clip's 8 voice-emotion log-probabilities (`voice_log_probs`; audio 52 = 44 + 8)."""
    _check_options(task, text)
    plan = plan_load(data, text=text, folds=folds, all_clips=all_clips, audio_snr=audio_snr, noise_kind=noise_kind,
                     noise_seed=noise_seed, snr_splits=snr_splits, train_snrs=train_snrs, voice=voice)
    feature_cache = FeatureCache(cache)
    results, statements = read_features(plan, feature_cache)
    aus, _ = read_action_units(plan.root)
    voiced = voice_log_probs(plan, results) if voice else {}
    dims = dict(DIMS, audio=DIMS["audio"] + VOICE_DIM) if voice else DIMS

    def gather(items, split) -> dict[str, list[np.ndarray]]:
        out: dict[str, list] = {"text": [], "audio": [], "vision": []}
        for clip, condition in items:
            acoustic = results[("audio", clip.id, split, condition.label)]["audio"]
            if voice:
                lp = voiced[(clip.id, split, condition.label)]
                acoustic = np.concatenate([acoustic, np.broadcast_to(lp, (len(acoustic), VOICE_DIM))], 1).astype(np.float32)
            out["audio"].append(acoustic)
            out["text"].append(results[("asr", clip.id, split, condition.label)]["text"] if text == "asr" else statements[clip.statement])
            au = aus.get(clip.id)
            out["vision"].append(au[None] if au is not None else np.zeros((0, DIMS["vision"]), np.float32))
        return out

    fill = {}
    for m, seqs in gather(plan.reference, "train").items():
        real = [s for s in seqs if len(s)]
        fill[m] = np.concatenate(real).mean(0).astype(np.float32) if real else np.zeros(dims[m], np.float32)
    splits, present, kept, conditions = {}, {}, {}, {}
    for split, items in plan.samples.items():
        seqs = gather(items, split)
        present[split] = {m: np.array([len(s) > 0 for s in seqs[m]]) for m in seqs}
        mods = {m: ModalityData.from_sequences([s if len(s) else fill[m][None] for s in seqs[m]], dims[m]) for m in ("text", "audio", "vision")}
        labels = (np.array([c.emotion_index for c, _ in items], np.int64) if task == "emotion"
                  else np.array([c.sentiment for c, _ in items], np.float32))
        base_condition = items[0][1]
        ids = [c.id if cond == base_condition else f"{c.id}@{cond.label}" for c, cond in items]
        splits[split] = SplitData(mods, labels, ids)
        kept[split] = [c for c, _ in items]
        conditions[split] = [cond.label for _, cond in items]
    snr_splits = tuple(SPLITS) if snr_splits is None else tuple(snr_splits)
    options = {"data": str(plan.root), "task": task, "text": text, "folds": folds or DEFAULT_FOLDS, "all_clips": all_clips,
               "audio_snr": audio_snr, "noise_kind": noise_kind, "noise_seed": noise_seed, "snr_splits": list(snr_splits),
               "train_snrs": None if not train_snrs else [s for s in train_snrs], "cache": str(feature_cache.root), "voice": voice}
    return RavdessDataset(
        name="ravdess", splits=splits, task="classification" if task == "emotion" else "regression",
        class_names=list(EMOTIONS) if task == "emotion" else [], present=present, clips=kept,
        conditions=conditions, options=options,
    )


@dataclass
class SNRViews:
    """One split's clips, clean and at every SNR, aligned sample by sample (same ids, same order).

    clean: SplitData of the clean signal; degraded[snr]: SplitData of the same clips with noise at snr
    dB (only the audio - and the text with text="asr" - differ); present[label][modality]: (N,) bool
    (label "clean" or e.g. "white+0dB"). Missing modalities are the clean train split's mean frame, as
    in `load_ravdess`, so both views normalise the same way."""

    split: str
    ids: list[str]
    labels: np.ndarray
    clean: SplitData
    degraded: dict[float, SplitData]
    present: dict[str, dict[str, np.ndarray]]
    noise_kind: str


def snr_views(
    data: str | Path | None = None, split: str = "train", snrs=(20.0, 10.0, 5.0, 0.0, -5.0), *, noise_kind: str = "white",
    noise_seed: int = 0, task: str = "sentiment", text: str = "statement", folds: str | None = None, all_clips: bool = False,
    cache: str | Path | None = None, voice: bool = False,
) -> SNRViews:
    """Aligned clean and degraded views of one split, for objectives that compare them (e.g. a sigma^2
    target from the distance between the degraded and the clean view)."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    snrs = [float(s) for s in snrs if s is not None]
    clean = load_ravdess(data, task=task, text=text, folds=folds, all_clips=all_clips, cache=cache, voice=voice)
    degraded, present = {}, {"clean": clean.present[split]}
    for snr in snrs:
        ds = load_ravdess(data, task=task, text=text, folds=folds, all_clips=all_clips, audio_snr=snr, noise_kind=noise_kind,
                          noise_seed=noise_seed, snr_splits=(split,), cache=cache, voice=voice)
        assert ds.splits[split].ids == clean.splits[split].ids
        degraded[snr] = ds.splits[split]
        present[Condition(snr, noise_kind, noise_seed).label] = ds.present[split]
    return SNRViews(split, clean.splits[split].ids, clean.splits[split].labels, clean.splits[split], degraded, present, noise_kind)


def concat_splits(dataset: MultimodalDataset, names=SPLITS) -> SplitData:
    """Several splits as one (padding to the longest); a RavdessDataset with all_clips holds the same
    clips in every split, so it gives its test split."""
    if isinstance(dataset, RavdessDataset) and dataset.options.get("all_clips"):
        return dataset.splits["test"]
    parts = [dataset.splits[n] for n in names]
    mods = {}
    for m in parts[0].modalities:
        seqs = [d.features[i, : d.lengths[i]] for p in parts for d in [p.modalities[m]] for i in range(len(d.lengths))]
        mods[m] = ModalityData.from_sequences(seqs, parts[0].modalities[m].dim)
    return SplitData(mods, np.concatenate([p.labels for p in parts]), [i for p in parts for i in p.ids])
