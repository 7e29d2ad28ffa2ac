"""What a load reads: the clips of every split under their conditions (`Plan`), read from the cache, and
the build command that makes what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qamoe.dataset import SPLITS, DataError

from .cache import ClipKeys, FeatureCache, statement_key
from .conditions import VOICE_HEAD_CONDITIONS, Condition
from .table import BUILD, Clip, default_cache, default_data, read_labels, split_clips


Job = tuple[str, "Clip", str, "Condition"]  # (kind "audio" | "asr", clip, split, condition)


@dataclass
class Plan:
    """What `load_ravdess` reads: the clips of every split under their conditions, in sample order."""

    root: Path
    by_split: dict[str, list[Clip]]  # the folds (all_clips: every clip in every split)
    samples: dict[str, list[tuple[Clip, Condition]]]
    reference: list[tuple[Clip, Condition]]  # the clean train clips: the fill values come from them
    text: str
    folds: str | None
    all_clips: bool
    voice: bool = False

    @property
    def kinds(self) -> tuple[str, ...]:
        return ("audio",) + (("asr",) if self.text == "asr" else ()) + (("voice",) if self.voice else ())

    def jobs(self) -> list[Job]:
        """Every (kind, clip, split, condition) whose features the load reads, once each (with voice,
        also the train clips under every `VOICE_HEAD_CONDITIONS`: the voice heads are fitted on them)."""
        seen, unique = set(), []
        head_items = [(c, cond) for cond in VOICE_HEAD_CONDITIONS for c, _ in self.reference] if self.voice else []
        for split, items in [*self.samples.items(), ("train", self.reference), ("train", head_items)]:
            for clip, condition in items:
                for kind in self.kinds if items is not head_items else ("voice",):
                    ident = (kind, clip.id, split, condition.label)
                    if ident not in seen:
                        seen.add(ident)
                        unique.append((kind, clip, split, condition))
        return unique

    def statements(self) -> list[str]:
        return sorted({c.statement for items in self.samples.values() for c, _ in items} | {c.statement for c, _ in self.reference})

    def build_command(self, cache: FeatureCache) -> str:
        """The build that makes every feature of this plan (and more: all splits, all these SNRs)."""
        conditions = {cond for items in self.samples.values() for _, cond in items} | {Condition()}
        snrs = sorted({c.snr for c in conditions if not c.clean}, reverse=True)
        noisy = [c for c in conditions if not c.clean]
        parts = [BUILD, "--data", str(self.root), "--snrs", ",".join(["clean", *(f"{s:g}" for s in snrs)])]
        if noisy:
            parts += ["--kinds", ",".join(sorted({c.kind for c in noisy})), "--noise-seed", str(noisy[0].seed)]
        if self.folds:
            parts += ["--folds", self.folds]
        if self.all_clips:
            parts.append("--all-clips")
        if self.text == "asr":
            parts += ["--text", "asr"]
        if self.voice:
            parts.append("--voice")
        if cache.root != default_cache():
            parts += ["--cache", str(cache.root)]
        return " ".join(parts)


def plan_load(data: str | Path | None = None, *, text: str = "statement", folds: str | None = None, all_clips: bool = False,
              audio_snr: float | None = None, noise_kind: str = "white", noise_seed: int = 0,
              snr_splits: tuple[str, ...] | None = None, train_snrs: tuple | None = None, voice: bool = False) -> Plan:
    """The clips and conditions `load_ravdess` with these options reads (its docstring)."""
    root = Path(data) if data else default_data()
    by_split = split_clips(read_labels(root), folds, all_clips)
    snr_splits = tuple(SPLITS) if snr_splits is None else tuple(snr_splits)
    samples: dict[str, list[tuple[Clip, Condition]]] = {}
    for split in SPLITS:
        condition = Condition(audio_snr, noise_kind, noise_seed) if audio_snr is not None and split in snr_splits else Condition()
        samples[split] = [(c, condition) for c in by_split[split]]
    if train_snrs:
        extra = [Condition(s, noise_kind, noise_seed) for s in train_snrs]
        base = samples["train"]
        samples["train"] = base + [(c, cond) for cond in extra if cond != base[0][1] for c, _ in base]
    reference = [(c, Condition()) for c in by_split["train"]]
    return Plan(root, by_split, samples, reference, text, folds, all_clips, voice)


def read_features(plan: Plan, cache: FeatureCache) -> tuple[dict, dict[str, np.ndarray]]:
    """({(kind, clip id, split, condition label): arrays}, {statement: (W, 384)}) from the cache; a
    DataError with the build command when anything is not built."""
    settings = cache.settings()
    if settings is None:
        raise DataError(f"no RAVDESS features built in {cache.root}: run {plan.build_command(cache)}")
    keys = ClipKeys(plan.by_split, settings)
    results, missing = {}, []
    for kind, clip, split, condition in plan.jobs():
        arrays = cache.get(kind, keys.of(kind, clip, split, condition))
        if arrays is None:
            missing.append(f"{clip.id} {kind} {condition.label}")
        else:
            results[(kind, clip.id, split, condition.label)] = arrays
    statements = {}
    for text in plan.statements():
        arrays = cache.get("statement", statement_key(text))
        if arrays is None:
            missing.append(f"statement {text!r}")
        else:
            statements[text] = arrays["text"]
    if missing:
        raise DataError(f"{len(missing)} RAVDESS feature(s) not built in {cache.root} (e.g. {missing[0]}): "
                        f"run {plan.build_command(cache)}")
    return results, statements
