"""RAVDESS speech (real human voices, 8 emotions, split by actor) through the project's own extractors.

Layout of a data folder (`../shared/data/ravdess/`, read its README):

```
labels.csv          id, path, actor, sex, emotion, intensity, statement, repetition, sentiment
audio/Actor_NN/03-01-EE-II-SS-RR-NN.flac
openface-au.csv     id, then 35 OpenFace 2 action units (17 AUxx_r, 18 AUxx_c), the mean over the take
```

Modalities, each what the live pipeline hands a checkpoint, so a checkpoint trained here reads live
features of the same kind and size:

- audio (44): the FLAC through `qamoe.extractors.clip.ClipExtractor` - the streaming
  `AudioFeatures` (40 log-mel bands + 4 prosody measures, 100 frames/s) gated by silero-vad exactly
  like the live `AudioProcessor` (frames outside speech dropped), then the speech frames of the last
  4 s mean-pooled to at most 64 frames with the live window's own `pool_frames`
  (`qamoe.data.text_sentiment.live_audio_window`, the code the shipped live checkpoint was trained on).
- text (384): MiniLM per-word vectors (`TextEmbedder`) of the given statement (`text="statement"`, the
  default: only two sentences exist, so it carries no sentiment and costs nothing), or of what the
  project's pocketsphinx ASR recognises in the (possibly noisy) clip (`text="asr"`, ~1 s per clip on
  one core, cached). A clip where the ASR hears no word has text missing.
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

Degradation on the *signal*, before extraction: `audio_snr=DB` adds noise to the waveform at that SNR
(`noise_kind` white, pink, or babble: 4 clips of other actors of the same split summed), relative to
the clip's active speech level (mean power of the 20 ms frames within 30 dB of the loudest, in the
spirit of ITU-T P.56, so leading silence does not change the SNR). The noise of a clip is drawn from
(noise_seed, kind, the clip's content hash) only, so an SNR sweep scales one realisation: the
conditions are paired. Samples are clipped to [-1, 1] like an ADC.

Caching: every extracted clip is an .npz under `cache` (default `~/.cache/qamoe/ravdess`, or
$QAMOE_CACHE/ravdess), named by the sha1 of (the FLAC's content hash, extractor and pooling settings,
noise kind, SNR, noise seed, babble sources), written to a temporary file and renamed into place, so
an interrupted build resumes and a changed file or setting is recomputed, never confused.

Python:

```python
from qamoe.data.ravdess import load_ravdess, snr_views, build_cache
ds = load_ravdess("../shared/data/ravdess")                       # a MultimodalDataset (RavdessDataset)
ds = load_ravdess(DIR, task="emotion", audio_snr=0, noise_kind="babble", snr_splits=("test",))
views = snr_views(DIR, "train", snrs=(20, 10, 5, 0, -5))          # aligned clean / degraded views
views.clean.modalities["audio"], views.degraded[0.0].modalities["audio"]  # same clips, same order
```

Precompute (rich progress, resumable, one process):

    python -m qamoe.data.ravdess --data ../shared/data/ravdess --snrs clean,20,10,5,0,-5 --kinds white,babble [--text asr]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")  # codes 01..08
POSITIVE = ("happy", "calm")  # binary valence, as in the data README (neutral, surprised left out)
NEGATIVE = ("sad", "angry", "fearful", "disgust")
DEFAULT_FOLDS = "1-14:15-17:18-20"  # train : valid : test actors
SNR_SWEEP = (None, 20.0, 10.0, 5.0, 0.0, -5.0)  # None = clean
NOISE_KINDS = ("white", "pink", "babble")
TEXT_SOURCES = ("statement", "asr")
TASKS = ("sentiment", "emotion")
BABBLE_TALKERS = 4
ACTIVE_FRAME_S = 0.02
ACTIVE_RANGE_DB = 30.0
DIMS = {"text": 384, "audio": 44, "vision": 35}
FORMAT = 1
SAMPLE_RATE = 16_000


def default_cache() -> Path:
    base = os.environ.get("QAMOE_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "qamoe") / "ravdess"


def default_data() -> Path:
    from qamoe.data.paths import missing_data_hint, shared_data_dir  # noqa: PLC0415

    root = shared_data_dir() / "ravdess"
    if not root.is_dir():
        raise DataError(missing_data_hint(root))
    return root


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


# ---------------------------------------------------------------- noise on the waveform


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha1(":".join(map(str, parts)).encode()).digest()[:8], "big")


def active_level(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest one (0 for silence)."""
    x = np.asarray(samples, np.float64)
    n = max(1, int(ACTIVE_FRAME_S * rate))
    frames = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else x.reshape(1, -1)
    power = (frames**2).mean(axis=1)
    if power.max() <= 0:
        return 0.0
    active = power[power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(active.mean())


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f power spectrum (Gaussian phases), unit mean power."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.arange(n // 2 + 1, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=n)
    return noise / np.sqrt(np.mean(noise**2) + 1e-20)


def babble_noise(n: int, sources: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Sum of the source waveforms, each at unit active level, circularly shifted by a random offset
    and tiled to n samples; unit mean power."""
    out = np.zeros(n, np.float64)
    for src in sources:
        src = np.asarray(src, np.float64)
        level = active_level(src)
        if len(src) == 0 or level <= 0:
            continue
        src = src / np.sqrt(level)
        tiled = np.resize(np.roll(src, int(rng.integers(len(src)))), n)
        out += tiled
    power = np.mean(out**2)
    if power <= 0:
        raise DataError("babble sources are silent")
    return out / np.sqrt(power)


def add_noise(samples: np.ndarray, snr_db: float, noise: np.ndarray) -> np.ndarray:
    """samples + noise scaled to `snr_db` below the samples' active level, clipped to [-1, 1]."""
    noise = np.asarray(noise, np.float64)
    level = active_level(samples)
    power = np.mean(noise**2)
    if power <= 0:
        return np.asarray(samples, np.float32)
    gain = np.sqrt(level / 10 ** (snr_db / 10) / power)
    return np.clip(np.asarray(samples, np.float64) + gain * noise, -1.0, 1.0).astype(np.float32)


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


# ---------------------------------------------------------------- extraction and its cache


@lru_cache(maxsize=4096)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(path: str | Path) -> str:
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such audio file (listed in labels.csv)") from None
    return _content_hash(str(path), stat.st_size, stat.st_mtime_ns)


def extractor_settings() -> dict:
    """Everything about the audio path whose change must invalidate the cache."""
    from qamoe.data import text_sentiment  # noqa: PLC0415
    from qamoe.extractors import audio, vad  # noqa: PLC0415

    return {
        "format": FORMAT,
        "audio": {"rate": audio.SAMPLE_RATE, "hop": audio.HOP, "window": audio.WINDOW, "mel_window": audio.MEL_WINDOW,
                  "n_fft": audio.N_FFT, "n_mels": audio.N_MELS, "dim": len(audio.FEATURE_NAMES)},
        "gate": {"vad": "silero", "window": vad.WINDOW, "chunk_s": 0.1},
        "pool": {"window_s": text_sentiment.AUDIO_WINDOW_S, "max_frames": text_sentiment.MAX_FRAMES},
        "active_level": {"frame_s": ACTIVE_FRAME_S, "range_db": ACTIVE_RANGE_DB},
    }


class FeatureCache:
    """.npz files under `root`, each named by a sha1 of what made it; atomic writes."""

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
        except (OSError, ValueError, EOFError):  # a damaged file: recompute it
            return None

    def put(self, kind: str, key: str, arrays: dict) -> None:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp.npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _key(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class RavdessExtractor:
    """Runs the project's extractors on RAVDESS clips under a signal condition, through a cache."""

    def __init__(self, clips_by_split: dict[str, list[Clip]], cache: FeatureCache | None = None) -> None:
        self.cache = cache or FeatureCache()
        self.by_split = clips_by_split
        self.settings = extractor_settings()
        self._clip_extractor = None
        self._embedder = None
        self._tmp = tempfile.TemporaryDirectory(prefix="qamoe-ravdess-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.computed = 0

    # the sources of a clip's babble: BABBLE_TALKERS clips of other actors in the clip's split
    def babble_sources(self, clip: Clip, split: str, seed: int) -> list[Clip]:
        pool = [c for c in self.by_split[split] if c.actor != clip.actor] or [c for c in self.by_split[split] if c.id != clip.id]
        if not pool:
            raise DataError(f"no other clip in split {split!r} to make babble noise for {clip.id}")
        rng = np.random.default_rng(_seed("babble-pick", seed, content_hash(clip.path)))
        by_actor: dict[int, list[Clip]] = {}
        for c in sorted(pool, key=lambda c: c.id):
            by_actor.setdefault(c.actor, []).append(c)
        actors = sorted(by_actor)
        chosen_actors = rng.permutation(actors)[: BABBLE_TALKERS] if len(actors) >= BABBLE_TALKERS else rng.choice(actors, BABBLE_TALKERS)
        return [by_actor[int(a)][int(rng.integers(len(by_actor[int(a)])))] for a in chosen_actors]

    def audio_key(self, clip: Clip, split: str, condition: Condition) -> str:
        payload = {"clip": content_hash(clip.path), "settings": self.settings, "condition": condition.key()}
        if not condition.clean and condition.kind == "babble":
            payload["babble"] = [content_hash(c.path) for c in self.babble_sources(clip, split, condition.seed)]
        return _key(payload)

    def waveform(self, clip: Clip, split: str, condition: Condition) -> np.ndarray:
        """The clip's 16 kHz samples under the condition."""
        samples = _read_samples(str(clip.path))
        if condition.clean:
            return samples
        rng = np.random.default_rng(_seed("noise", condition.kind, condition.seed, content_hash(clip.path)))
        if condition.kind == "white":
            noise = rng.standard_normal(len(samples))
        elif condition.kind == "pink":
            noise = pink_noise(len(samples), rng)
        else:
            noise = babble_noise(len(samples), [_read_samples(str(c.path)) for c in self.babble_sources(clip, split, condition.seed)], rng)
        return add_noise(samples, condition.snr, noise)

    def _extractor(self):
        if self._clip_extractor is None:
            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415
            from qamoe.realtime.extraction import quiet_native_logs  # noqa: PLC0415

            quiet_native_logs()
            # vision comes from openface-au.csv; an OpenFace folder with no CSV keeps the face mesh unloaded
            self._clip_extractor = ClipExtractor(asr="pocketsphinx", text_backend="minilm", openface_dir=self._tmp.name, audio_gate=True)
        return self._clip_extractor

    def _media(self, clip: Clip, split: str, condition: Condition) -> Path:
        if condition.clean:
            return clip.path
        from qamoe.data.text_sentiment import write_wav  # noqa: PLC0415

        path = Path(self._tmp.name) / "clip.wav"
        write_wav(path, self.waveform(clip, split, condition), SAMPLE_RATE)
        return path

    def audio(self, clip: Clip, split: str, condition: Condition) -> dict:
        """{"audio": (T <= 64, 44) pooled speech frames (T = 0: no speech), "speech_frames", "frames"}."""
        key = self.audio_key(clip, split, condition)
        cached = self.cache.get("audio", key)
        if cached is not None:
            return cached
        from qamoe.data.text_sentiment import live_audio_window  # noqa: PLC0415 - the live window's pooling

        features = self._extractor().extract(self._media(clip, split, condition), transcript="")  # "": no ASR
        arrays = {
            "audio": live_audio_window(features.features["audio"], features.times["audio"]).astype(np.float32),
            "speech_frames": np.int64(len(features.features["audio"])),
            "frames": np.int64(features.frames_seen["audio"]),
        }
        self.cache.put("audio", key, arrays)
        self.computed += 1
        return arrays

    def asr(self, clip: Clip, split: str, condition: Condition) -> dict:
        """{"text": (W, 384) MiniLM vectors of the recognised words (W = 0: none), "transcript"}."""
        key = _key({"audio": self.audio_key(clip, split, condition), "asr": "pocketsphinx", "text": "minilm", "max_words": 64})
        cached = self.cache.get("asr", key)
        if cached is not None:
            return cached
        features = self._extractor().extract(self._media(clip, split, condition))
        from qamoe.data.text_sentiment import MAX_WORDS  # noqa: PLC0415

        arrays = {"text": np.asarray(features.features["text"][-MAX_WORDS:], np.float32).reshape(-1, DIMS["text"]),
                  "transcript": np.array(" ".join(w.text for w in features.words))}
        self.cache.put("asr", key, arrays)
        self.computed += 1
        return arrays

    def statement(self, text: str) -> np.ndarray:
        """(W, 384) MiniLM vectors of a given statement, as `ClipExtractor.extract(transcript=...)` makes them."""
        key = _key({"statement": text, "text": "minilm", "format": FORMAT})
        cached = self.cache.get("statement", key)
        if cached is not None:
            return cached["text"]
        from qamoe.extractors.text import TextEmbedder, transcript_words  # noqa: PLC0415

        if self._embedder is None:
            self._embedder = TextEmbedder("minilm")
        frames = self._embedder.run([transcript_words(text, 0.0, 1.0)])
        values = np.stack([f.values for f in frames]).astype(np.float32) if frames else np.zeros((0, DIMS["text"]), np.float32)
        self.cache.put("statement", key, {"text": values})
        return values


@lru_cache(maxsize=512)
def _read_samples(path: str) -> np.ndarray:
    from qamoe.extractors.decode import MediaError, read_audio  # noqa: PLC0415

    try:
        samples, _ = read_audio(path)
    except MediaError as exc:
        raise DataError(str(exc)) from exc
    if len(samples) == 0:
        raise DataError(f"{path}: no audio samples")
    return samples


def _progress(console=None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def _extract_all(extractor: RavdessExtractor, jobs: list[tuple[str, Clip, str, Condition]], console=None) -> dict:
    """jobs: (kind "audio" | "asr", clip, split, condition) -> {(kind, clip id, split, label): arrays};
    a rich progress bar appears when anything must be computed."""
    results, todo = {}, []
    for job in jobs:
        kind, clip, split, condition = job
        key = extractor.audio_key(clip, split, condition)
        if kind == "asr":
            key = _key({"audio": key, "asr": "pocketsphinx", "text": "minilm", "max_words": 64})
        cached = extractor.cache.get(kind, key)
        if cached is None:
            todo.append(job)
        else:
            results[(kind, clip.id, split, condition.label)] = cached
    if todo:
        with _progress(console) as progress:
            task = progress.add_task(f"RAVDESS features ({len(todo)} to extract, {len(jobs) - len(todo)} cached)", total=len(todo))
            for kind, clip, split, condition in todo:
                results[(kind, clip.id, split, condition.label)] = getattr(extractor, kind)(clip, split, condition)
                progress.advance(task)
    return results


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




def _modalities(extractor, clips, split, condition, text, aus, results) -> dict[str, list[np.ndarray]]:
    out: dict[str, list] = {"text": [], "audio": [], "vision": []}
    for clip in clips:
        out["audio"].append(results[("audio", clip.id, split, condition.label)]["audio"])
        if text == "asr":
            out["text"].append(results[("asr", clip.id, split, condition.label)]["text"])
        else:
            out["text"].append(extractor.statement(clip.statement))
        au = aus.get(clip.id)
        out["vision"].append(au[None] if au is not None else np.zeros((0, DIMS["vision"]), np.float32))
    return out


def _check_options(task: str, text: str) -> None:
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if text not in TEXT_SOURCES:
        raise DataError(f"unknown text source {text!r}; choose one of {', '.join(TEXT_SOURCES)}")


def load_ravdess(
    data: str | Path | None = None, *, task: str = "sentiment", text: str = "statement", folds: str | None = None,
    all_clips: bool = False, audio_snr: float | None = None, noise_kind: str = "white", noise_seed: int = 0,
    snr_splits: tuple[str, ...] | None = None, train_snrs: tuple | None = None, cache: str | Path | None = None,
    console=None,
) -> RavdessDataset:
    """The data set (module docstring). `audio_snr`: noise at that SNR on the splits in `snr_splits`
    (default all); `train_snrs`: extra copies of the train split at these SNRs (None in the list = clean)
    appended to it as augmentation (ids `<id>@<condition>`)."""
    _check_options(task, text)
    root = Path(data) if data else default_data()
    clips = read_labels(root)
    aus, _ = read_action_units(root)
    by_split = split_clips(clips, folds, all_clips)
    extractor = RavdessExtractor(by_split, FeatureCache(cache))
    snr_splits = tuple(SPLITS) if snr_splits is None else tuple(snr_splits)
    plan: dict[str, list[tuple[Clip, Condition]]] = {}
    for split in SPLITS:
        condition = Condition(audio_snr, noise_kind, noise_seed) if audio_snr is not None and split in snr_splits else Condition()
        plan[split] = [(c, condition) for c in by_split[split]]
    if train_snrs:
        extra = [Condition(s, noise_kind, noise_seed) for s in train_snrs]
        base = plan["train"]
        plan["train"] = base + [(c, cond) for cond in extra if cond != base[0][1] for c, _ in base]
    reference = [(c, Condition()) for c in by_split["train"]]  # the fill values come from clean train clips
    jobs = []
    for split, items in [*plan.items(), ("train", reference)]:
        for clip, condition in items:
            jobs.append(("audio", clip, split, condition))
            if text == "asr":
                jobs.append(("asr", clip, split, condition))
    seen, unique = set(), []
    for job in jobs:
        ident = (job[0], job[1].id, job[2], job[3].label)
        if ident not in seen:
            seen.add(ident)
            unique.append(job)
    results = _extract_all(extractor, unique, console)

    def gather(items, split):
        per_mod: dict[str, list] = {"text": [], "audio": [], "vision": []}
        for clip, condition in items:
            one = _modalities(extractor, [clip], split, condition, text, aus, results)
            for m in per_mod:
                per_mod[m] += one[m]
        return per_mod

    ref = gather(reference, "train")
    fill = {}
    for m, seqs in ref.items():
        real = [s for s in seqs if len(s)]
        fill[m] = np.concatenate(real).mean(0).astype(np.float32) if real else np.zeros(DIMS[m], np.float32)
    splits, present, kept, conditions = {}, {}, {}, {}
    for split, items in plan.items():
        seqs = gather(items, split)
        present[split] = {m: np.array([len(s) > 0 for s in seqs[m]]) for m in seqs}
        mods = {m: ModalityData.from_sequences([s if len(s) else fill[m][None] for s in seqs[m]], DIMS[m]) for m in ("text", "audio", "vision")}
        labels = (np.array([c.emotion_index for c, _ in items], np.int64) if task == "emotion"
                  else np.array([c.sentiment for c, _ in items], np.float32))
        base_condition = items[0][1]
        ids = [c.id if cond == base_condition else f"{c.id}@{cond.label}" for c, cond in items]
        splits[split] = SplitData(mods, labels, ids)
        kept[split] = [c for c, _ in items]
        conditions[split] = [cond.label for _, cond in items]
    options = {"data": str(root), "task": task, "text": text, "folds": folds or DEFAULT_FOLDS, "all_clips": all_clips,
               "audio_snr": audio_snr, "noise_kind": noise_kind, "noise_seed": noise_seed, "snr_splits": list(snr_splits),
               "train_snrs": None if not train_snrs else [s for s in train_snrs], "cache": str(extractor.cache.root)}
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
    cache: str | Path | None = None, console=None,
) -> SNRViews:
    """Aligned clean and degraded views of one split, for objectives that compare them (e.g. a sigma^2
    target from the distance between the degraded and the clean view)."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    snrs = [float(s) for s in snrs if s is not None]
    clean = load_ravdess(data, task=task, text=text, folds=folds, all_clips=all_clips, cache=cache, console=console)
    degraded, present = {}, {"clean": clean.present[split]}
    for snr in snrs:
        ds = load_ravdess(data, task=task, text=text, folds=folds, all_clips=all_clips, audio_snr=snr, noise_kind=noise_kind,
                          noise_seed=noise_seed, snr_splits=(split,), cache=cache, console=console)
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


# ---------------------------------------------------------------- precompute


def build_cache(
    data: str | Path | None = None, snrs=SNR_SWEEP, kinds=("white",), *, text: str = "statement", folds: str | None = None,
    splits=SPLITS, noise_seed: int = 0, cache: str | Path | None = None, console=None,
) -> dict:
    """Extracts (or finds cached) every clip of `splits` under every SNR x kind; returns counts and timing."""
    root = Path(data) if data else default_data()
    by_split = split_clips(read_labels(root), folds)
    extractor = RavdessExtractor(by_split, FeatureCache(cache))
    conditions = []
    for snr in snrs:
        for kind in (kinds if snr is not None else kinds[:1]):
            condition = Condition(snr, kind, noise_seed)
            if condition not in conditions:
                conditions.append(condition)
    jobs = [("audio", c, s, cond) for cond in conditions for s in splits for c in by_split[s]]
    if text == "asr":
        jobs += [("asr", c, s, cond) for cond in conditions for s in splits for c in by_split[s]]
    started = time.perf_counter()
    for clip in {c.statement: c for cs in by_split.values() for c in cs}.values():
        extractor.statement(clip.statement)
    _extract_all(extractor, jobs, console)
    return {"cache": str(extractor.cache.root), "jobs": len(jobs), "computed": extractor.computed,
            "seconds": round(time.perf_counter() - started, 1), "conditions": [c.label for c in conditions]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.data.ravdess", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="RAVDESS folder (default ../shared/data/ravdess)")
    p.add_argument("--snrs", default="clean,20,10,5,0,-5", help="comma list of SNRs in dB, 'clean' for none")
    p.add_argument("--kinds", default="white", help=f"comma list of noise kinds ({', '.join(NOISE_KINDS)})")
    p.add_argument("--text", default="statement", choices=TEXT_SOURCES, help="asr: also run the ASR on every clip and condition")
    p.add_argument("--folds", default=DEFAULT_FOLDS, help="TRAIN:VALID:TEST actors (babble is drawn within a split)")
    p.add_argument("--splits", default="train,valid,test")
    p.add_argument("--noise-seed", type=int, default=0)
    p.add_argument("--cache", help="cache folder (default ~/.cache/qamoe/ravdess)")
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    summary = build_cache(args.data, parse_snrs(args.snrs), tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
                          text=args.text, folds=args.folds, splits=tuple(s.strip() for s in args.splits.split(",")),
                          noise_seed=args.noise_seed, cache=args.cache)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------- command-line options (qamoe-train, qamoe-eval)


def add_cli_arguments(parser, *, training: bool) -> None:
    """The RAVDESS options of qamoe-train / qamoe-eval (used only with --dataset ravdess). In qamoe-eval
    task, text source and folds default to what the checkpoint was trained with."""
    g = parser.add_argument_group("RAVDESS (--dataset ravdess; --data defaults to ../shared/data/ravdess)")
    default = (lambda value: value) if training else (lambda value: None)
    g.add_argument("--task", choices=TASKS, default=default("sentiment"),
                   help="sentiment: regression on the sentiment column; emotion: 8-class head (default: sentiment"
                        + ("" if training else ", or the checkpoint's") + ")")
    g.add_argument("--text-source", choices=TEXT_SOURCES, default=default("statement"),
                   help="text from the given statement (default) or the project's ASR on the (noisy) clip")
    g.add_argument("--folds", default=default(DEFAULT_FOLDS),
                   help=f"TRAIN:VALID:TEST actors, e.g. {DEFAULT_FOLDS} (the default) or 1-12,19:13-16:17,18,20")
    g.add_argument("--audio-snr", type=float, help="add noise to the waveform at this SNR (dB) before extraction"
                   + (" (every split)" if training else " (the evaluated split)"))
    g.add_argument("--noise-kind", choices=NOISE_KINDS, default="white",
                   help="white, pink, or babble (4 clips of other actors of the same split summed)")
    g.add_argument("--noise-seed", type=int, default=0, help="seed of the waveform noise")
    if training:
        g.add_argument("--train-snrs", help="also train on copies of the train split at these SNRs, e.g. 20,10,5,0,-5")
    g.add_argument("--cache", help="feature cache folder (default ~/.cache/qamoe/ravdess)")


def cli_options(args, stored: dict | None = None, *, split: str | None = None) -> dict:
    """load_ravdess keyword arguments from parsed options; `stored`: the checkpoint's (qamoe-eval),
    `split`: the evaluated split ("all": every clip of the folder; noise only on that split)."""
    stored = stored or {}

    def pick(name, key):
        value = getattr(args, name, None)
        return value if value is not None else stored.get(key)

    options = {"task": pick("task", "task") or "sentiment", "text": pick("text_source", "text") or "statement",
               "folds": pick("folds", "folds"), "audio_snr": args.audio_snr, "noise_kind": args.noise_kind,
               "noise_seed": args.noise_seed, "cache": args.cache}
    if getattr(args, "train_snrs", None):
        options["train_snrs"] = tuple(parse_snrs(args.train_snrs))
    if split == "all":
        options["all_clips"] = True
    elif split is not None:
        options["snr_splits"] = (split,)
    return options
