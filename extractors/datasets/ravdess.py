"""Builds the RAVDESS feature cache that `qamoe.data.ravdess.load_ravdess` reads.

Every clip goes through the project's own extractors under a signal condition (clean, or noise on
the waveform at an SNR, `noise`): the audio through `ClipExtractor` (the streaming `AudioFeatures`
gated by silero-vad), then the speech frames of the last 4 s pooled to at most 64 frames
(`qamoe.data.window.last_window`, the live window's rule); with `--text asr` also the
Whisper tiny.en ASR (`qamoe.data.ravdess.ASR_MODEL`) and MiniLM vectors of the recognised words, each scaled by its probability; the two
statements' MiniLM vectors once. Vision needs no build: it is read from the folder's openface-au.csv.

Each result is an .npz in the cache (`qamoe.data.ravdess.FeatureCache`) named by the sha1 of the
FLAC's content hash, the extractor settings (`extractor_settings`, also written to the cache's
settings.json), the condition and the babble sources, written atomically: an interrupted build
resumes, and a changed file or setting is recomputed, never confused.

    python -m qamoe.extractors.datasets.ravdess [--data DIR] --snrs clean,20,10,5,0,-5 --kinds white,babble [--text asr]

`build_for(data, **load_ravdess options)` builds exactly what one `load_ravdess` call reads.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from qamoe.data.window import MAX_FRAMES, MAX_WORDS, WINDOW_S, last_window
from qamoe.data.ravdess import (
    ASR_MODEL, DEFAULT_FOLDS, DIMS, FORMAT, NOISE_KINDS, SNR_SWEEP, TEXT_SOURCES, Clip, ClipKeys, Condition, FeatureCache, Plan,
    content_hash, default_data, hash_seed, parse_snrs, plan_load, read_labels, split_clips, statement_key,
)
from qamoe.dataset import SPLITS, DataError
from qamoe.extractors import audio, gated_audio, vad
from qamoe.extractors.base import quiet_native_logs
from qamoe.extractors.decode import AudioArray, MediaError, MediaReader, read_audio

from .noise import ACTIVE_FRAME_S, ACTIVE_RANGE_DB, add_noise, babble_noise, pink_noise
from .speech import pcm16

SAMPLE_RATE = 16_000


def extractor_settings() -> dict:
    """Everything about the audio path whose change must invalidate the cache."""
    return {
        "format": FORMAT,
        "audio": {"rate": audio.SAMPLE_RATE, "hop": audio.HOP, "window": audio.WINDOW, "mel_window": audio.MEL_WINDOW,
                  "n_fft": audio.N_FFT, "n_mels": audio.N_MELS, "dim": len(audio.FEATURE_NAMES)},
        "gate": {"vad": "silero", "window": vad.WINDOW, "chunk_s": 0.1, "loud_dbfs": gated_audio.LOUD_DBFS},
        "pool": {"window_s": WINDOW_S, "max_frames": MAX_FRAMES},
        "active_level": {"frame_s": ACTIVE_FRAME_S, "range_db": ACTIVE_RANGE_DB},
    }


@lru_cache(maxsize=512)
def read_samples(path: str) -> np.ndarray:
    """A clip's mono samples at 16 kHz (cached: babble reads the same sources many times)."""
    try:
        samples, _ = read_audio(path)
    except MediaError as exc:
        raise DataError(str(exc)) from exc
    if len(samples) == 0:
        raise DataError(f"{path}: no audio samples")
    return samples


class RavdessExtractor:
    """Runs the project's extractors on RAVDESS clips under a signal condition, through a cache."""

    def __init__(self, clips_by_split: dict[str, list[Clip]], cache: FeatureCache | None = None) -> None:
        self.cache = cache or FeatureCache()
        self.keys = ClipKeys(clips_by_split, extractor_settings())
        self._clip_extractor = None
        self._embedder = None
        self._encoder = None
        self.computed = 0

    def waveform(self, clip: Clip, split: str, condition: Condition) -> np.ndarray:
        """The clip's 16 kHz samples under the condition."""
        samples = read_samples(str(clip.path))
        if condition.clean:
            return samples
        rng = np.random.default_rng(hash_seed("noise", condition.kind, condition.seed, content_hash(clip.path)))
        if condition.kind == "white":
            noise = rng.standard_normal(len(samples))
        elif condition.kind == "pink":
            noise = pink_noise(len(samples), rng)
        else:
            sources = self.keys.babble_sources(clip, split, condition.seed)
            noise = babble_noise(len(samples), [read_samples(str(c.path)) for c in sources], rng)
        return add_noise(samples, condition.snr, noise)

    def _extractor(self):
        if self._clip_extractor is None:
            from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415 - loads the models
            from qamoe.extractors.spec import FeatureSpec  # noqa: PLC0415

            quiet_native_logs()
            # audio only: a FLAC has no video track, so the face mesh never loads (vision comes from openface-au.csv)
            self._clip_extractor = ClipExtractor(FeatureSpec(asr=ASR_MODEL))
        return self._clip_extractor

    def _media(self, clip: Clip, split: str, condition: Condition) -> Path | AudioArray:
        """The clip's file when clean, else its noisy waveform in memory (16-bit, as the build always read it)."""
        if condition.clean:
            return clip.path
        return AudioArray.of(pcm16(self.waveform(clip, split, condition)), SAMPLE_RATE, name=f"{clip.path.name} ({condition.label})")

    def audio(self, clip: Clip, split: str, condition: Condition) -> dict:
        """{"audio": (T <= 64, 44) pooled speech frames (T = 0: no speech), "speech_frames", "frames"}."""
        def compute() -> dict:
            features = self._extractor().extract(self._media(clip, split, condition), transcript="")  # "": no ASR
            return {
                "audio": last_window(features.features["audio"], features.times["audio"], DIMS["audio"]),
                "speech_frames": np.int64(len(features.features["audio"])),
                "frames": np.int64(features.frames_seen["audio"]),
            }

        return self._cached("audio", self.keys.audio(clip, split, condition), compute)

    def asr(self, clip: Clip, split: str, condition: Condition) -> dict:
        """{"text": (W, 384) MiniLM vectors of the recognised words (W = 0: none), "transcript"}."""
        def compute() -> dict:
            features = self._extractor().extract(self._media(clip, split, condition))
            return {"text": np.asarray(features.features["text"][-MAX_WORDS:], np.float32).reshape(-1, DIMS["text"]),
                    "transcript": np.array(" ".join(w.text for w in features.words))}

        return self._cached("asr", self.keys.asr(clip, split, condition), compute)

    def voice(self, clip: Clip, split: str, condition: Condition) -> dict:
        """{"pooled": (2 x 384,) mean and std of the Whisper encoder states over the clip's utterances
        (zeros when the VAD heard none), "frames": how many states} - what the live recogniser's
        encoder pass gives, without decoding words."""
        def compute() -> dict:
            from qamoe.extractors.voice import pool_states  # noqa: PLC0415

            if self._encoder is None:
                from qamoe.extractors.asr import make_recognizer  # noqa: PLC0415

                self._encoder = make_recognizer(ASR_MODEL, partial_interval_s=None, decode=False, keep_voice=True)
            encoder = self._encoder
            encoder.reset()
            for chunk in MediaReader(self._media(clip, split, condition)).audio():
                encoder.feed(chunk)
            encoder.flush()
            states = [v.states for v in encoder.pop_voice() if v.final]
            return {"pooled": pool_states(np.concatenate(states) if states else None), "frames": np.int64(sum(len(s) for s in states))}

        return self._cached("voice", self.keys.voice(clip, split, condition), compute)

    def _cached(self, kind: str, key: str, compute) -> dict:
        """The cached arrays of (kind, key), else `compute()`d now and cached."""
        cached = self.cache.get(kind, key)
        if cached is not None:
            return cached
        arrays = compute()
        self.cache.put(kind, key, arrays)
        self.computed += 1
        return arrays

    def statement(self, text: str) -> np.ndarray:
        """(W, 384) MiniLM vectors of a given statement, as `ClipExtractor.extract(transcript=...)` makes them."""
        key = statement_key(text)
        cached = self.cache.get("statement", key)
        if cached is not None:
            return cached["text"]
        from qamoe.extractors.text import TextEmbedder, transcript_words  # noqa: PLC0415 - loads MiniLM

        if self._embedder is None:
            self._embedder = TextEmbedder("minilm")
        frames = self._embedder.run([transcript_words(text, 0.0, 1.0)])
        values = np.stack([f.values for f in frames]).astype(np.float32) if frames else np.zeros((0, DIMS["text"]), np.float32)
        self.cache.put("statement", key, {"text": values})
        return values


def extract(extractor: RavdessExtractor, jobs, statements=(), console=None) -> int:
    """Computes every (kind "audio" | "asr", clip, split, condition) job and statement not yet in the
    cache (a rich progress bar when there is any); returns how many were computed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    extractor.cache.write_settings(extractor.keys.settings)
    for text in statements:
        extractor.statement(text)
    todo = [job for job in jobs if extractor.cache.get(job[0], extractor.keys.of(*job)) is None]
    if todo:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task(f"RAVDESS features ({len(todo)} to extract, {len(jobs) - len(todo)} cached)", total=len(todo))
            for kind, clip, split, condition in todo:
                getattr(extractor, kind)(clip, split, condition)
                progress.advance(task)
    return len(todo)


def build_plan(plan: Plan, cache: str | Path | None = None, console=None) -> int:
    """Builds what one `load_ravdess` call reads (its `plan_load`); returns how many features were computed."""
    extractor = RavdessExtractor(plan.by_split, FeatureCache(cache))
    return extract(extractor, plan.jobs(), plan.statements(), console)


def build_for(data: str | Path | None = None, *, cache: str | Path | None = None, console=None, task: str = "sentiment",
              **options) -> int:
    """Builds what `load_ravdess(data, cache=cache, **options)` reads (`task` does not change the features)."""
    return build_plan(plan_load(data, **options), cache, console)


def build_cache(
    data: str | Path | None = None, snrs=SNR_SWEEP, kinds=("white",), *, text: str = "statement", voice: bool = False,
    folds: str | None = None,
    splits=SPLITS, all_clips: bool = False, noise_seed: int = 0, cache: str | Path | None = None, console=None,
) -> dict:
    """Extracts (or finds cached) every clip of `splits` under every SNR x kind; returns counts and timing."""
    root = Path(data) if data else default_data()
    by_split = split_clips(read_labels(root), folds, all_clips)
    extractor = RavdessExtractor(by_split, FeatureCache(cache))
    conditions = []
    for snr in snrs:
        for kind in (kinds if snr is not None else kinds[:1]):
            condition = Condition(snr, kind, noise_seed)
            if condition not in conditions:
                conditions.append(condition)
    kinds_of_text = ("audio", "asr") if text == "asr" else ("audio",)
    kinds_of_text += ("voice",) if voice else ()
    jobs = [(k, c, s, cond) for k in kinds_of_text for cond in conditions for s in splits for c in by_split[s]]
    statements = sorted({c.statement for cs in by_split.values() for c in cs})
    started = time.perf_counter()
    extract(extractor, jobs, statements, console)
    return {"cache": str(extractor.cache.root), "jobs": len(jobs), "computed": extractor.computed,
            "seconds": round(time.perf_counter() - started, 1), "conditions": [c.label for c in conditions]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m qamoe.extractors.datasets.ravdess", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="RAVDESS folder (default $QAMOE_SHARED_DATA/ravdess)")
    p.add_argument("--snrs", default="clean,20,10,5,0,-5", help="comma list of SNRs in dB, 'clean' for none")
    p.add_argument("--kinds", default="white", help=f"comma list of noise kinds ({', '.join(NOISE_KINDS)})")
    p.add_argument("--text", default="statement", choices=TEXT_SOURCES, help="asr: also run the ASR on every clip and condition")
    p.add_argument("--voice", action="store_true", help="also the Whisper encoder states (the voice features) of every clip and condition")
    p.add_argument("--folds", default=DEFAULT_FOLDS, help="TRAIN:VALID:TEST actors (babble is drawn within a split)")
    p.add_argument("--all-clips", action="store_true", help="every clip in every split (what qamoe-eval --split all reads)")
    p.add_argument("--splits", default="train,valid,test")
    p.add_argument("--noise-seed", type=int, default=0)
    p.add_argument("--cache", help="cache folder (default $QAMOE_CACHE/ravdess, else ~/.cache/qamoe/ravdess)")
    args = p.parse_args(argv)
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    try:
        summary = build_cache(args.data, parse_snrs(args.snrs), tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
                              text=args.text, voice=args.voice, folds=args.folds, splits=tuple(s.strip() for s in args.splits.split(",")),
                              all_clips=args.all_clips, noise_seed=args.noise_seed, cache=args.cache)
    except DataError as exc:
        raise SystemExit(f"{p.prog}: {exc}") from None
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
