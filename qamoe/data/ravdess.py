"""RAVDESS speech (real human voices, 8 emotions, split by actor): the table, the folds and the loader
of its built features.

Layout of a data folder (`$QAMOE_SHARED_DATA/ravdess/`, read its README):

```
labels.csv          id, path, actor, sex, emotion, intensity, statement, repetition, sentiment
audio/Actor_NN/03-01-EE-II-SS-RR-NN.flac
openface-au.csv     id, then 35 OpenFace 2 action units (17 AUxx_r, 18 AUxx_c), the mean over the take
```

Modalities, each what the live pipeline hands a checkpoint, so a checkpoint trained here reads live
features of the same kind and size:

- audio (44): the FLAC through the project's extractors - the streaming `AudioFeatures` (40 log-mel
  bands + 4 prosody measures, 100 frames/s) gated by silero-vad like the live audio path (frames
  outside speech dropped), then the speech frames of the last 4 s mean-pooled to at most 64 frames
  (`qamoe.data.window`, the live window's rule).
- text (384): MiniLM per-word vectors of the given statement (`text="statement"`, the default: only
  two sentences exist, so it carries no sentiment), or of what the project's Whisper ASR
  recognises in the (possibly noisy) clip (`text="asr"`). A clip where the ASR hears no word has text
  missing.
- vision (35): the clip's 35 OpenFace action units as one frame (`openface-au.csv`).

A modality absent from a clip (no speech found by the VAD, no words, no AU row) is one frame equal to
the training split's mean of that modality, which the checkpoint's normalisation turns into the zero
frame QA-MoE reads as missing (Protocol I); `RavdessDataset.present[split][modality]` says which.

Folds are by actor, never by clip: train actors 01-14, valid 15-17, test 18-20 by default
(`folds="1-14:15-17:18-20"`, train:valid:test, each a comma list of actors or ranges). Actors that no
fold names are left out. `all_clips=True` puts every clip of the folder in all three splits (for
evaluating a folder of other speakers with `qamoe-eval --split all`).

Labels: `task="sentiment"` (regression on the `sentiment` column, the data README's table) or
`task="emotion"` (8 classes in `EMOTIONS` order, the file name's code order).

Signal conditions (`Condition`): clean, or noise added to the *waveform* before extraction at an SNR
(`noise_kind` white, pink, or babble: 4 clips of other actors of the same split summed; drawn from
(noise_seed, kind, the clip's content hash) only, so an SNR sweep scales one realisation).

The features are built, not computed here: `python -m qamoe.extractors.datasets.ravdess` runs the
extractors and writes every clip's features under every condition asked for into a cache (default
`~/.cache/qamoe/ravdess`, or $QAMOE_CACHE/ravdess): an .npz per clip, named by the sha1 of what made
it (the FLAC's content hash, the extractor settings in the cache's `settings.json`, the condition,
the babble sources). `load_ravdess` reads them; a feature that was not built is a DataError that
gives the build command.

```python
from qamoe.data.ravdess import load_ravdess, snr_views
ds = load_ravdess(DIR)                                            # a MultimodalDataset (RavdessDataset)
ds = load_ravdess(DIR, task="emotion", audio_snr=0, noise_kind="babble", snr_splits=("test",))
views = snr_views(DIR, "train", snrs=(20, 10, 5, 0, -5))          # aligned clean / degraded views
views.clean.modalities["audio"], views.degraded[0.0].modalities["audio"]  # same clips, same order
```
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qamoe.data import paths
from qamoe.data.hashing import hash_seed  # noqa: F401 - re-exported: the builds import it from here
from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData
from qamoe.files import atomic_write_json, atomic_write_npz, file_digest

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")  # codes 01..08
POSITIVE = ("happy", "calm")  # binary valence, as in the data README (neutral, surprised left out)
NEGATIVE = ("sad", "angry", "fearful", "disgust")
DEFAULT_FOLDS = "1-14:15-17:18-20"  # train : valid : test actors
SNR_SWEEP = (None, 20.0, 10.0, 5.0, 0.0, -5.0)  # None = clean
NOISE_KINDS = ("white", "pink", "babble")
TEXT_SOURCES = ("statement", "asr")
TASKS = ("sentiment", "emotion")
BABBLE_TALKERS = 4
DIMS = {"text": 384, "audio": 44, "vision": 35}
VOICE_DIM = 8  # voice-emotion log-probabilities appended to every audio frame with voice=True
ASR_MODEL = "tiny.en"  # the Whisper model whose transcripts the "asr" text views hold (part of their cache key)
VOICE_FORMAT = 1  # the "voice" views: mean and std of the Whisper encoder states over the clip's utterances
FORMAT = 1
BUILD = "python -m qamoe.extractors.datasets.ravdess"


def default_cache() -> Path:
    return paths.cache_root() / "ravdess"


def default_data() -> Path:
    """$QAMOE_SHARED_DATA/ravdess (a DataError naming --data when absent)."""
    return paths.default_data("ravdess")


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Clip:
    id: str
    path: Path  # absolute
    actor: int
    sex: str
    emotion: str
    intensity: str
    statement: str
    repetition: int
    sentiment: float

    @property
    def emotion_index(self) -> int:
        return EMOTIONS.index(self.emotion)

    @property
    def valence(self) -> int | None:
        """1 positive, 0 negative, None for neutral and surprised (left out of the binary view)."""
        return 1 if self.emotion in POSITIVE else 0 if self.emotion in NEGATIVE else None


def read_labels(root: str | Path) -> list[Clip]:
    root = Path(root)
    path = root / "labels.csv"
    if not path.is_file():
        raise DataError(f"{path} not found: --data must be a RAVDESS folder (labels.csv, audio/Actor_NN/*.flac, openface-au.csv)")
    needed = ("id", "path", "actor", "emotion", "statement", "sentiment")
    clips = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        absent = [c for c in needed if c not in (reader.fieldnames or [])]
        if absent:
            raise DataError(f"{path}: columns {absent} are absent (found {reader.fieldnames})")
        for line, row in enumerate(reader, start=2):
            try:
                emotion = row["emotion"].strip()
                if emotion not in EMOTIONS:
                    raise ValueError(f"unknown emotion {emotion!r}")
                sentiment = float(row["sentiment"])
                if not np.isfinite(sentiment):
                    raise ValueError("sentiment is not finite")
                clips.append(Clip(
                    id=row["id"].strip(), path=(root / row["path"].strip()).resolve(), actor=int(row["actor"]),
                    sex=(row.get("sex") or "").strip(), emotion=emotion, intensity=(row.get("intensity") or "").strip(),
                    statement=row["statement"].strip(), repetition=int(row.get("repetition") or 0), sentiment=sentiment,
                ))
            except (ValueError, TypeError, AttributeError) as exc:
                raise DataError(f"{path} line {line}: {exc}") from None
    if not clips:
        raise DataError(f"{path} lists no clip")
    ids = [c.id for c in clips]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: clip ids repeat")
    return clips


def read_action_units(root: str | Path) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """id -> (35,) float32 and the column names; an absent file gives {} (vision missing everywhere)."""
    path = Path(root) / "openface-au.csv"
    if not path.is_file():
        return {}, ()
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        columns = [i for i, h in enumerate(header) if h.startswith("AU") and h[-2:] in ("_r", "_c")]
        if "id" not in header or len(columns) != DIMS["vision"]:
            raise DataError(f"{path}: expected id and {DIMS['vision']} AUxx_r / AUxx_c columns, found {len(columns)}")
        id_col = header.index("id")
        out = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                values = np.array([float(row[i]) for i in columns], np.float32)
            except (ValueError, IndexError) as exc:
                raise DataError(f"{path} line {line}: {exc}") from None
            if np.isfinite(values).all():
                out[row[id_col].strip()] = values
    return out, tuple(header[i] for i in columns)


def parse_folds(text: str | None) -> dict[str, set[int]]:
    """"1-14:15-17:18-20" -> {"train": {1..14}, "valid": {15, 16, 17}, "test": {18, 19, 20}}."""
    text = text or DEFAULT_FOLDS
    parts = text.split(":")
    if len(parts) != 3:
        raise DataError(f"folds must be TRAIN:VALID:TEST actor lists (e.g. {DEFAULT_FOLDS} or 1-12,19:13-16:17,18,20), got {text!r}")
    folds = {}
    for split, part in zip(SPLITS, parts):
        actors: set[int] = set()
        for item in part.split(","):
            item = item.strip()
            try:
                lo, _, hi = item.partition("-")
                lo_i, hi_i = int(lo), int(hi or lo)
            except ValueError:
                raise DataError(f"folds {text!r}: {item!r} is not an actor number or range") from None
            if hi_i < lo_i:
                raise DataError(f"folds {text!r}: empty range {item!r}")
            actors |= set(range(lo_i, hi_i + 1))
        folds[split] = actors
    for a, b in ((0, 1), (0, 2), (1, 2)):
        common = folds[SPLITS[a]] & folds[SPLITS[b]]
        if common:
            raise DataError(f"folds {text!r}: actors {sorted(common)} are in both {SPLITS[a]} and {SPLITS[b]}")
    return folds


def split_clips(clips: list[Clip], folds: str | None = None, all_clips: bool = False) -> dict[str, list[Clip]]:
    if all_clips:
        return {s: list(clips) for s in SPLITS}
    actors = parse_folds(folds)
    out = {s: [c for c in clips if c.actor in actors[s]] for s in SPLITS}
    for s in SPLITS:
        if not out[s]:
            raise DataError(f"no clip of actors {sorted(actors[s])} ({s}) in the folder; choose other folds "
                            "(--folds TRAIN:VALID:TEST) or evaluate every clip with --split all")
    return out


# ---------------------------------------------------------------- signal conditions


@dataclass(frozen=True)
class Condition:
    """The signal condition of a clip: clean (snr None) or noise of `kind` at `snr` dB."""

    snr: float | None = None
    kind: str = "white"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise DataError(f"unknown noise kind {self.kind!r}; choose one of {', '.join(NOISE_KINDS)}")
        if self.snr is not None and not np.isfinite(self.snr):
            raise DataError(f"SNR must be a finite number of dB, got {self.snr}")

    @property
    def clean(self) -> bool:
        return self.snr is None

    @property
    def label(self) -> str:
        return "clean" if self.clean else f"{self.kind}{self.snr:+g}dB"

    def key(self) -> dict:
        return {"snr": None} if self.clean else {"snr": float(self.snr), "kind": self.kind, "seed": int(self.seed)}


VOICE_HEAD_CONDITIONS = (Condition(), *(Condition(snr) for snr in SNR_SWEEP if snr is not None))  # clean + white noise


def parse_snrs(text: str) -> list[float | None]:
    """"clean,20,10,5,0,-5" -> [None, 20.0, ...]."""
    out: list[float | None] = []
    for item in str(text).split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item in ("clean", "none", "inf"):
            out.append(None)
            continue
        try:
            out.append(float(item.removesuffix("db")))
        except ValueError:
            raise DataError(f"SNR list {text!r}: {item!r} is not a number of dB or 'clean'") from None
    if not out:
        raise DataError(f"SNR list {text!r} is empty")
    return out


# ---------------------------------------------------------------- the cache of built features


def content_hash(path: str | Path) -> str:
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such audio file (listed in labels.csv)") from None
    return file_digest(path, "sha1")


def _key(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def statement_key(text: str) -> str:
    return _key({"statement": text, "text": "minilm", "format": FORMAT})


class FeatureCache:
    """.npz files under `root` (`<kind>/<key[:2]>/<key>.npz`, kind audio, asr or statement), each
    named by a sha1 of what made it, written atomically; `settings.json`: the extractor settings
    the build ran with (part of every audio key)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_cache()

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.npz"

    def get(self, kind: str, key: str) -> dict | None:
        path = self.path(kind, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):  # a damaged file: the build recomputes it
            return None

    def put(self, kind: str, key: str, arrays: dict) -> None:
        atomic_write_npz(self.path(kind, key), arrays)

    def settings(self) -> dict | None:
        path = self.root / "settings.json"
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return None

    def write_settings(self, settings: dict) -> None:
        atomic_write_json(self.root / "settings.json", settings)


class ClipKeys:
    """The cache keys of a clip's features under a condition. `settings`: the extractor settings
    (the build's own, or the cache's `settings.json` when loading)."""

    def __init__(self, clips_by_split: dict[str, list[Clip]], settings: dict) -> None:
        self.by_split = clips_by_split
        self.settings = settings

    def babble_sources(self, clip: Clip, split: str, seed: int) -> list[Clip]:
        """BABBLE_TALKERS clips of other actors in the clip's split, drawn from (seed, the clip's content)."""
        pool = [c for c in self.by_split[split] if c.actor != clip.actor] or [c for c in self.by_split[split] if c.id != clip.id]
        if not pool:
            raise DataError(f"no other clip in split {split!r} to make babble noise for {clip.id}")
        rng = np.random.default_rng(hash_seed("babble-pick", seed, content_hash(clip.path)))
        by_actor: dict[int, list[Clip]] = {}
        for c in sorted(pool, key=lambda c: c.id):
            by_actor.setdefault(c.actor, []).append(c)
        actors = sorted(by_actor)
        chosen_actors = rng.permutation(actors)[: BABBLE_TALKERS] if len(actors) >= BABBLE_TALKERS else rng.choice(actors, BABBLE_TALKERS)
        return [by_actor[int(a)][int(rng.integers(len(by_actor[int(a)])))] for a in chosen_actors]

    def audio(self, clip: Clip, split: str, condition: Condition) -> str:
        payload = {"clip": content_hash(clip.path), "settings": self.settings, "condition": condition.key()}
        if not condition.clean and condition.kind == "babble":
            payload["babble"] = [content_hash(c.path) for c in self.babble_sources(clip, split, condition.seed)]
        return _key(payload)

    def asr(self, clip: Clip, split: str, condition: Condition) -> str:
        return _key({"audio": self.audio(clip, split, condition), "asr": ASR_MODEL, "text": "minilm", "max_words": 64})

    def voice(self, clip: Clip, split: str, condition: Condition) -> str:
        return _key({"audio": self.audio(clip, split, condition), "encoder": ASR_MODEL, "voice": VOICE_FORMAT})

    def of(self, kind: str, clip: Clip, split: str, condition: Condition) -> str:
        return {"audio": self.audio, "asr": self.asr, "voice": self.voice}[kind](clip, split, condition)


# ---------------------------------------------------------------- what a load needs


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


# ---------------------------------------------------------------- voice features

_VOICE_CACHE: dict[tuple, tuple] = {}  # (cache root, settings, train clip ids) -> out-of-fold heads, once per process


def voice_log_probs(plan: Plan, results: dict) -> dict[tuple[str, str, str], np.ndarray]:
    """{(clip id, split, condition label): (8,) voice-emotion log-probabilities} of every sample and
    reference clip: a train clip's from a head fitted without its actor (out of fold), any other
    clip's from the shipped head (`qamoe/assets/voice`, what the live path runs), which must not
    have been fitted on that clip's actor (a DataError: the features would leak the label)."""
    from qamoe.data import voice_head  # noqa: PLC0415
    from qamoe.shipped import ASSETS  # noqa: PLC0415

    train_ids = set() if plan.all_clips else {c.id for c, _ in plan.reference}
    scored_by_shipped = [(split, c) for split, items in plan.samples.items() for c, _ in items
                         if not (split == "train" and c.id in train_ids)]
    shipped = voice_head.load(ASSETS / "voice") if scored_by_shipped else None
    if shipped is not None:
        heard = set(shipped.card.get("actors", []))
        leaked = sorted({c.actor for _, c in scored_by_shipped if c.actor in heard})
        if leaked:
            raise DataError(f"the shipped voice head was fitted on actors {sorted(heard)}; actors {leaked} would be "
                            "scored by a head that heard them: choose folds that keep them in train")
    heads, fold_of = {}, {}
    if train_ids:
        train = plan.reference
        x = np.stack([results[("voice", c.id, "train", cond.label)]["pooled"] for cond in VOICE_HEAD_CONDITIONS for c, _ in train])
        y = np.array([c.emotion_index for _ in VOICE_HEAD_CONDITIONS for c, _ in train])
        actors = np.array([c.actor for _ in VOICE_HEAD_CONDITIONS for c, _ in train])
        if len(set(actors.tolist())) < 2:
            raise DataError("voice features need at least two train actors: each train clip is scored by a head "
                            "fitted on the other actors")
        key = (hashlib.sha1(x.tobytes()).hexdigest(), tuple(actors.tolist()))
        if key not in _VOICE_CACHE:
            _VOICE_CACHE[key] = voice_head.fold_heads(x, y, actors)
        heads, fold_of = _VOICE_CACHE[key]
    uniform = np.full(len(EMOTIONS), -np.log(len(EMOTIONS)), np.float32)
    out = {}
    for split, items in [*plan.samples.items(), ("train", plan.reference)]:
        for clip, condition in items:
            arrays = results[("voice", clip.id, split, condition.label)]
            if int(arrays["frames"]) == 0:
                out[(clip.id, split, condition.label)] = uniform
                continue
            head = heads[fold_of[clip.actor]] if split == "train" and clip.id in train_ids else shipped
            out[(clip.id, split, condition.label)] = head.log_probs(arrays["pooled"])
    return out


# ---------------------------------------------------------------- the data set


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
