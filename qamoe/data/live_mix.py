"""The default live checkpoint's data: three senses from three real sources, each modality missing
where a sample lacks it.

| source | text (384) | audio (44) | vision (27) | label |
| --- | --- | --- | --- | --- |
| VADER texts (`text_sentiment` cache, clean) | MiniLM per-word frames | missing | missing | human rating x 0.75 |
| RAVDESS clips (`ravdess.load_ravdess`) | MiniLM frames of the spoken statement (neutral words) | gated + pooled acoustic frames (+ the voice estimate: 52) | missing | emotion table |
| FER2013 faces (`fer` cache) | missing | missing | a still face: 15 copies of its 27 values | emotion table |

`voice=True`: the audio frames also carry the voice-emotion head's 8 log-probabilities (out of fold for
the train actors, `ravdess.voice_log_probs`), as the live path appends them: audio 52 instead of 44.
RAVDESS vision stays missing: its OpenFace action units are not what the live vision extractor gives.
`pair=True` also gives every RAVDESS *train* clip a FER train face of the same emotion (calm -> neutral),
drawn by a seeded hash, as one more sample (the voice-only and face-only samples stay).

A missing modality is one frame at the training split's mean of its present frames, so the checkpoint's
normalisation turns it into the zero frame QA-MoE reads as missing; `present[split][modality]` says
which samples really have it, `domain[split]` which source a sample comes from.

Signal views (`signal_views`): aligned copies of the train split with only the audio (RAVDESS clips at
each SNR) or only the vision (the FER train faces blurred, darkened, occluded, downscaled) replaced;
every other sample keeps its clean features (for the text and face samples an audio view is their
missing frame, unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qamoe.data import fer as fer_data
from qamoe.data import text_sentiment as ts
from qamoe.data.ravdess import load_ravdess, snr_views
from qamoe.data.window import still_window
from qamoe.dataset import SPLITS, DataError, ModalityData, MultimodalDataset, SplitData
from qamoe.data.hashing import sha1_int

DIMS = {"text": 384, "audio": 44, "vision": 27}
RAVDESS_TO_FER = {"neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                  "fearful": "fear", "disgust": "disgust", "surprised": "surprise"}


@dataclass
class Sample:
    id: str
    label: float
    domain: str  # vader:<source> | ravdess | fer | pair
    text: np.ndarray | None = None
    audio: np.ndarray | None = None
    vision: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class LiveMix:
    dataset: MultimodalDataset
    present: dict[str, dict[str, np.ndarray]]
    domain: dict[str, np.ndarray]
    samples: dict[str, list[Sample]]
    fill: dict[str, np.ndarray]
    options: dict
    dims: dict[str, int] = field(default_factory=lambda: dict(DIMS))


def vader_samples(cache: str | Path, max_words: int) -> dict[str, list[Sample]]:
    rows = ts.read_shards(cache, "clean")
    if not rows.get("key"):
        raise DataError(f"{cache} holds no clean text shard (python -m qamoe.extractors.datasets.text_sentiment --out {cache} --only clean)")
    out: dict[str, list[Sample]] = {s: [] for s in SPLITS}
    for key, label, text, sentence in zip(rows["key"], rows["label"], rows["text"], rows["sentence"]):
        if not len(text):
            continue
        out[ts.split_of(key)].append(Sample(f"vader:{key}", float(label), f"vader:{key.split(':')[0]}",
                                            text=np.asarray(text[:max_words], np.float32), extra={"sentence": sentence}))
    return out


def mix_dims(voice: bool = False) -> dict[str, int]:
    """The mix's feature sizes: audio 44, or 52 with the voice estimate."""
    from qamoe.data.ravdess import VOICE_DIM  # noqa: PLC0415

    return dict(DIMS, audio=DIMS["audio"] + VOICE_DIM) if voice else dict(DIMS)


def ravdess_samples(data=None, folds=None, text: str = "statement", voice: bool = False) -> tuple[dict[str, list[Sample]], object]:
    """text: "statement" (MiniLM frames of the sentence the actor was given) or "asr" (of what the
    recogniser heard, each word scaled by its confidence: what the live path reads); voice: audio
    frames with the voice estimate (52)."""
    ds = load_ravdess(data, text=text, folds=folds, voice=voice)
    out: dict[str, list[Sample]] = {}
    for split in SPLITS:
        d = ds.splits[split]
        present = ds.present[split]
        items = []
        for i, clip in enumerate(ds.clips[split]):
            def get(m):
                mod = d.modalities[m]
                return mod.features[i, : mod.lengths[i]].copy() if present[m][i] else None
            items.append(Sample(f"ravdess:{clip.id}", float(clip.sentiment), "ravdess", text=get("text"), audio=get("audio"),
                                extra={"clip": clip}))
        out[split] = items
    return out, ds


def fer_samples(parts: dict[str, str], cache=None, data=None) -> dict[str, list[Sample]]:
    """parts: split -> cached part name (e.g. "train-clean-6000"); faces the mesh missed are left out.
    `data`: the fer2013-48px.npz file (default under $QAMOE_SHARED_DATA)."""
    _, labels, _ = fer_data.read_fer(data)
    out = {}
    for split, name in parts.items():
        part = fer_data.load_part(name, cache)
        items = []
        for values, found, index in zip(part["values"], part["found"], part["index"]):
            if found:
                items.append(Sample(f"fer:{int(index)}", float(fer_data.SENTIMENT[fer_data.CLASSES[labels[index]]]), "fer",
                                    vision=still_window(values),
                                    extra={"index": int(index), "class": fer_data.CLASSES[labels[index]]}))
        out[split] = items
    return out


def pair_samples(voices: list[Sample], faces: list[Sample], seed: int) -> list[Sample]:
    """Each voice with a face of the same emotion (RAVDESS_TO_FER), drawn by a seeded hash."""
    by_class: dict[str, list[Sample]] = {}
    for f in faces:
        by_class.setdefault(f.extra["class"], []).append(f)
    out = []
    for v in voices:
        pool = by_class.get(RAVDESS_TO_FER[v.extra["clip"].emotion])
        if not pool:
            continue
        face = pool[sha1_int(f"pair:{seed}:{v.id}") % len(pool)]
        out.append(Sample(f"pair:{v.id}+{face.id}", v.label, "pair", text=v.text, audio=v.audio, vision=face.vision,
                          extra={"clip": v.extra["clip"], "face": face.id}))
    return out




def to_split(items: list[Sample], fill: dict[str, np.ndarray], dims=DIMS) -> tuple[SplitData, dict[str, np.ndarray]]:
    mods, present = {}, {}
    for m, dim in dims.items():
        seqs = [getattr(s, m) for s in items]
        present[m] = np.array([x is not None and len(x) > 0 for x in seqs])
        mods[m] = ModalityData.from_sequences([x if p else fill[m][None] for x, p in zip(seqs, present[m])], dim)
    return SplitData(mods, np.array([s.label for s in items], np.float32), [s.id for s in items]), present


def build_mix(text_cache, *, fer_parts: dict[str, str], ravdess=None, folds=None, max_words: int = 32,
              ravdess_repeat: int = 1, pair: bool = False, seed: int = 0, fer_cache=None, exclude_sources=(),
              text_only: bool = False, ravdess_text: str = "statement", voice: bool = False) -> LiveMix:
    """The three-source data set. `ravdess_repeat` repeats the RAVDESS train clips (they are few);
    `exclude_sources`: VADER sources left out of train and valid (for the held-out-domain proxy);
    `text_only`: the VADER texts alone (audio and vision missing everywhere); `ravdess_text`: the
    voices' text, "statement" or "asr" (`ravdess_samples`); `voice`: audio with the voice estimate (52)."""
    dims = mix_dims(voice)
    vader = vader_samples(text_cache, max_words)
    voices = {s: [] for s in SPLITS} if text_only else ravdess_samples(ravdess, folds, ravdess_text, voice)[0]
    faces = {} if text_only else fer_samples(fer_parts, fer_cache)
    samples: dict[str, list[Sample]] = {}
    for split in SPLITS:
        texts = [s for s in vader[split] if split == "test" or s.domain.split(":")[1] not in exclude_sources]
        items = texts + voices[split] * (ravdess_repeat if split == "train" else 1) + faces.get(split, [])
        if pair and split != "test":
            items += pair_samples(voices[split], faces.get(split, []), seed)
        samples[split] = items
    fill = {}
    for m, dim in dims.items():
        real = [getattr(s, m) for s in samples["train"] if getattr(s, m) is not None and len(getattr(s, m))]
        fill[m] = np.concatenate(real).mean(0).astype(np.float32) if real else np.zeros(dim, np.float32)
    splits, present, domain = {}, {}, {}
    for split, items in samples.items():
        splits[split], present[split] = to_split(items, fill, dims)
        domain[split] = np.array([s.domain for s in items])
    options = {"text_cache": str(text_cache), "fer_parts": {} if text_only else fer_parts, "text_only": text_only, "folds": folds, "max_words": max_words,
               "ravdess_repeat": ravdess_repeat, "pair": pair, "seed": seed, "exclude_sources": list(exclude_sources),
               "ravdess_text": ravdess_text, "voice": voice}
    return LiveMix(MultimodalDataset("live-mix", splits), present, domain, samples, fill, options, dims)


def signal_views(mix: LiveMix, *, ravdess=None, folds=None, snrs=(20.0, 10.0, 5.0, 0.0, -5.0), kinds=("white",),
                 fer_view_parts=(), fer_cache=None, text: str = "statement") -> dict[str, list[SplitData]]:
    """{"audio": [one view per (kind, SNR)], "vision": [one view per FER degradation part]}, each a
    single-modality SplitData aligned with mix's train split. With `text="asr"` also {"text": [one view
    per (kind, SNR)]}: the voices' text is what the recogniser heard in the noisy clip (no words: the
    text is missing), every other sample keeps its text. A sample draws its audio and its text view
    independently (`train.SignalViews`)."""
    train = mix.samples["train"]
    out: dict[str, list[SplitData]] = {"audio": [], "vision": [], "text": []}
    modalities = ("audio", "text") if text == "asr" else ("audio",)
    for kind in kinds:
        views = snr_views(ravdess, "train", snrs=snrs, noise_kind=kind, folds=folds, text=text, voice=mix.options.get("voice", False))
        position = {f"ravdess:{i}": k for k, i in enumerate(views.ids)}
        for snr, split in views.degraded.items():
            label = f"{kind}{snr:+g}dB"  # ravdess.Condition.label
            for m in modalities:
                ok = views.present[label][m]
                mod = split.modalities[m]
                seqs = []
                for s in train:
                    k = position.get(s.id) if s.domain in ("ravdess", "pair") else None
                    if s.domain == "pair":
                        k = position.get(s.id.split("+")[0].removeprefix("pair:"))
                    if k is None:
                        own = getattr(s, m)
                        seqs.append(own if own is not None else mix.fill[m][None])
                    else:
                        seqs.append(mod.features[k, : mod.lengths[k]] if ok[k] else mix.fill[m][None])
                out[m].append(SplitData({m: ModalityData.from_sequences(seqs, mix.dims[m])}, np.zeros(len(train), np.float32), [s.id for s in train]))
    for name in fer_view_parts:
        part = fer_data.load_part(name, fer_cache)
        degraded = {f"fer:{int(i)}": (v, f) for v, f, i in zip(part["values"], part["found"], part["index"])}
        seqs = []
        for s in train:
            key = s.id if s.domain == "fer" else (s.extra.get("face") if s.domain == "pair" else None)
            if key in degraded:
                v, found = degraded[key]
                seqs.append(still_window(v) if found else mix.fill["vision"][None])
            else:
                seqs.append(s.vision if s.vision is not None else mix.fill["vision"][None])
        out["vision"].append(SplitData({"vision": ModalityData.from_sequences(seqs, mix.dims["vision"])}, np.zeros(len(train), np.float32), [s.id for s in train]))
    return {k: v for k, v in out.items() if v}
