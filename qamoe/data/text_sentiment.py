"""Real human sentiment (VADER ground truth) and its built cache: the loader.

Source: `$QAMOE_SHARED_DATA/text-sentiment/vader-gt/{tweets,movieReviewSnippets,amazonReviewSnippets}.tsv`
(`id<TAB>mean rating<TAB>text`, mean of ~20 raters on [-4, 4]; x 0.75 gives the CMU-MOSI scale [-3, 3]).

Deterministic choices (no randomness outside seeded hashes):

- split: sha1("<source>:<id>") -> train 80 % / valid 10 % / test 10 % (`split_of`). A text and its
  spoken version always share a split.
- subset: texts ranked by a second hash (`rank_of`); `select` takes the first `max_texts` as *clean*
  samples and, of those with 2..20 words, the first `spoken` (then `spoken_eval` more from the valid /
  test splits only) as *spoken* ones.

The build (`python -m qamoe.extractors.datasets.text_sentiment --out DIR`, which runs the
extractors and documents what each sample holds) writes into DIR:

```
manifest.json              the build's settings
clean/shard_NNNN.npz       keys, labels, text + text_lengths (per-word MiniLM vectors, packed), sentence
spoken/shard_NNNN.npz      the same with the ASR's words, plus audio + audio_lengths, transcripts,
                           voices, rates, durations
vision/pool.npz            optional: face features of real videos (vision + lengths, videos)
```

`load(DIR)` reads it into a `MultimodalDataset` (text 384, audio 44, vision 20). A missing modality
is one frame equal to the training mean of that modality (vision: 0, which is constant), so after
normalisation with the checkpoint's statistics it is the zero frame the model reads as missing
(Protocol I) - exactly what the live pipeline hands it by leaving the modality out. When the build
holds a face pool, `VISION_SHARE` of the samples get a window of those real faces, *unrelated to the
text*, drawn from the sample's hash (`face_windows`), so the vision expert learns real face-feature
statistics and that they say nothing about sentiment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qamoe.data.window import WINDOW_S
from qamoe.data import paths
from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData
from qamoe.data.hashing import sha1_int

SOURCES = ("tweets", "movieReviewSnippets", "amazonReviewSnippets")
LABEL_SCALE = 0.75  # [-4, 4] -> [-3, 3]
SPOKEN_MAX_WORDS = 20
DIMS = {"text": 384, "audio": 44, "vision": 20}
VISION_SHARE = 0.5  # share of samples that get a face window
VISION_FPS = 15.0  # the live FaceFeatures' rate, at which the face pool was extracted


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


def split_of(key: str) -> str:
    """train / valid / test from the text's key alone (80 / 10 / 10)."""
    bucket = sha1_int(key) % 10
    return "valid" if bucket == 8 else "test" if bucket == 9 else "train"


def rank_of(key: str) -> int:
    return sha1_int("rank:" + key)


def default_data() -> Path:
    """The vader-gt folder under $QAMOE_SHARED_DATA (a DataError naming --data when absent)."""
    return paths.default_data("text-sentiment", "vader-gt")


def read_texts(root: str | Path | None = None) -> list[Text]:
    """All texts of the three files, in file order; malformed lines are skipped."""
    root = Path(root) if root is not None else default_data()
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


# ---------------------------------------------------------------- the cache's arrays


def pack(seqs: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(T_i, dim) sequences -> (sum T_i, dim) float16 frames and (N,) int64 lengths (`unpack` inverts it)."""
    lengths = np.array([len(s) for s in seqs], np.int64)
    flat = np.concatenate([s.reshape(-1, dim) for s in seqs]) if seqs else np.zeros((0, dim))
    return flat.astype(np.float16), lengths


def unpack(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    return np.split(flat, np.cumsum(lengths)[:-1])


def read_shards(out: str | Path, kind: str) -> dict[str, list]:
    """The samples of every `<kind>/shard_*.npz` in `out`, column by column: key, label, text (T, 384),
    audio (T, 44) or None, sentence (384,), transcript or None."""
    rows: dict[str, list] = {}
    for shard in sorted((Path(out) / kind).glob("shard_*.npz")):
        with np.load(shard, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        text = unpack(arrays["text"].astype(np.float32), arrays["text_lengths"])
        audio = (unpack(arrays["audio"], arrays["audio_lengths"]) if "audio" in arrays
                 else [None] * len(arrays["keys"]))
        for i, key in enumerate(arrays["keys"]):
            rows.setdefault("key", []).append(str(key))
            rows.setdefault("label", []).append(float(arrays["labels"][i]))
            rows.setdefault("text", []).append(text[i])
            rows.setdefault("audio", []).append(audio[i])
            rows.setdefault("sentence", []).append(arrays["sentence"][i].astype(np.float32))
            rows.setdefault("transcript", []).append(str(arrays["transcripts"][i]) if "transcripts" in arrays else None)
    return rows


def face_windows(pool: dict, keys: list[str]) -> list[np.ndarray | None]:
    """A face window (<= WINDOW_S at VISION_FPS, contiguous) for VISION_SHARE of the samples, drawn
    from each key's hash; None for the others."""
    seqs = unpack(pool["vision"], pool["lengths"])
    span = int(WINDOW_S * VISION_FPS)
    out = []
    for key in keys:
        rng = np.random.default_rng(sha1_int("vision:" + key) % 2**32)
        if rng.random() >= VISION_SHARE:
            out.append(None)
            continue
        seq = seqs[int(rng.integers(len(seqs)))]
        n = int(rng.integers(8, min(span, len(seq)) + 1))
        start = int(rng.integers(0, len(seq) - n + 1))
        out.append(seq[start : start + n])
    return out


# ---------------------------------------------------------------- loading


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
        raise DataError(f"{out} holds no text-sentiment build (python -m qamoe.extractors.datasets.text_sentiment --out {out})")
    manifest = json.loads((out / "manifest.json").read_text())
    samples = []
    for kind, tag in (("clean", "clean"), ("spoken", "asr")):
        rows = read_shards(out, kind)
        for i in range(len(rows.get("key", []))):
            samples.append({"kind": tag, **{k: v[i] for k, v in rows.items()}})
    if not samples:
        raise DataError(f"{out} holds no built shard yet")
    by_split = {s: [x for x in samples if split_of(x["key"]) == s] for s in SPLITS}
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
    faces = {split: (face_windows(vision_pool, [f"{x['kind']}:{x['key']}" for x in items]) if vision_pool else None)
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
