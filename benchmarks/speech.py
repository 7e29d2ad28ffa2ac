"""Words understood, voices heard: the product path `Predictor.predict(audio=)` on held-out speech (issue 18).

Parts (`--parts`, all by default):

- wer: word error rate of the transcript on every clip of the held-out RAVDESS actors 18-20 (the two
  statements are the references), and the voice's binary valence (balanced accuracy over positive =
  happy, calm vs negative = sad, angry, fearful, disgust; sign of the sentiment) on the same calls.
- snr: every `--every`-th clip of actors 18-20 with white noise on the waveform at clean / 20 / 10 / 0 /
  -5 dB SNR (noise seed 0, `extractors.datasets.noise.add_noise`): WER, whether audio is present, mean
  r_audio and r_text, and Spearman rho of r_text against the noise level (clean = 0 ... -5 dB = 4) over
  the calls where the text was present.
- spoken: VADER texts of clear sentiment (|mean rating| >= 2, 4 to 16 words, one in `--spoken-every` of
  the texts the text-sentiment split puts in *valid*), spoken by espeak-ng (voice and rate drawn per
  text, seed 0) through `predict(audio=)`, against `predict(text=)` of the written sentence: sign accuracy.

    python benchmarks/speech.py --out benchmarks/results/speech.json [--parts wer,snr,spoken] [--model tiny.en]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from qamoe.files import atomic_write_text

SNRS = (None, 20.0, 10.0, 0.0, -5.0)
SPLIT = "test"  # which RAVDESS actors the wer and snr parts read (--split)


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        prev, row = row, [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref != hyp))
    return row[-1]


def words(text: str | None) -> list[str]:
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def balanced_accuracy(truth, pred) -> float:
    truth, pred = np.asarray(truth), np.asarray(pred)
    return float(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))


def progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())


def held_out_clips(every: int = 1):
    from qamoe.data.ravdess import default_data, read_labels, split_clips

    return split_clips(read_labels(default_data()))[SPLIT][::every]


def predict_row(predictor, audio, clip) -> dict:
    from qamoe.realtime.predictor import NoUsableInput

    try:
        r = predictor.predict(audio=audio, sample_rate=16000)
    except NoUsableInput:
        return {"id": clip.id, "predicted": False, "transcript": "", "errors": len(words(clip.statement)), "ref_words": len(words(clip.statement))}
    return {"id": clip.id, "predicted": True, "emotion": clip.emotion, "valence": clip.valence, "truth": clip.sentiment,
            "prediction": r.sentiment, "std": r.std, "transcript": r.transcript or "",
            "errors": word_errors(words(clip.statement), words(r.transcript)), "ref_words": len(words(clip.statement)),
            "present": r.present, "r_text": r.reliability["text"], "r_audio": r.reliability["audio"],
            "voice_top": max(r.voice, key=r.voice.get) if r.voice else None}


def wer_part(predictor) -> dict:
    clips = held_out_clips()
    rows = []
    with progress() as bar:
        task = bar.add_task(f"predict(audio=FLAC), {SPLIT} actors", total=len(clips))
        for c in clips:
            rows.append(predict_row(predictor, str(c.path), c))
            bar.advance(task)
    binary = [r for r in rows if r.get("valence") is not None]
    return {
        "clips": len(rows), "wer": sum(r["errors"] for r in rows) / sum(r["ref_words"] for r in rows),
        "exact": sum(r["errors"] == 0 for r in rows),
        "voice_binary_valence_balanced_accuracy": balanced_accuracy([r["valence"] for r in binary], [int(r["prediction"] > 0) for r in binary]),
        "binary_clips": len(binary), **voice_head_scores(rows), "rows": rows,
    }


def voice_head_scores(rows: list[dict]) -> dict:
    """The voice-emotion head's top emotion (`Prediction.voice`, a checkpoint that reads voice features)
    against the 8 acted emotions: accuracy and balanced accuracy over the clips it scored."""
    scored = [r for r in rows if r.get("voice_top")]
    if not scored:
        return {}
    return {"voice_head_clips": len(scored),
            "voice_head_8_emotion_accuracy": float(np.mean([r["voice_top"] == r["emotion"] for r in scored])),
            "voice_head_8_emotion_balanced_accuracy": balanced_accuracy([r["emotion"] for r in scored], [r["voice_top"] for r in scored])}


def snr_part(predictor, every: int) -> dict:
    from qamoe.extractors.datasets.noise import add_noise
    from qamoe.extractors.decode import read_audio

    clips = held_out_clips(every)
    out, pairs = {}, []
    with progress() as bar:
        task = bar.add_task("white noise on the waveform", total=len(clips) * len(SNRS))
        for level, snr in enumerate(SNRS):
            rows = []
            for c in clips:
                samples, _ = read_audio(c.path)
                if snr is not None:
                    noise = np.random.default_rng(0).standard_normal(len(samples)).astype(np.float32)
                    samples = add_noise(samples, snr, noise)
                row = predict_row(predictor, samples, c)
                rows.append(row)
                if row["predicted"] and row["present"]["text"]:
                    pairs.append((level, row["r_text"]))
                bar.advance(task)
            ok = [r for r in rows if r["predicted"]]
            out["clean" if snr is None else f"{snr:g} dB"] = {
                "wer": sum(r["errors"] for r in rows) / sum(r["ref_words"] for r in rows),
                "audio_present": float(np.mean([r["present"]["audio"] for r in ok])) if ok else 0.0,
                "text_present": float(np.mean([r["present"]["text"] for r in ok])) if ok else 0.0,
                "mean_r_audio": float(np.mean([r["r_audio"] for r in ok if r["present"]["audio"]] or [np.nan])),
                "mean_r_text": float(np.mean([r["r_text"] for r in ok if r["present"]["text"]] or [np.nan])),
                "predicted": len(ok), "clips": len(rows),
            }
    from scipy.stats import spearmanr

    levels, r_text = zip(*pairs)
    return {"clips_per_level": len(clips), "levels": out, "spearman_r_text_vs_noise": float(spearmanr(levels, r_text).statistic)}


def spoken_part(predictor, every: int) -> dict:
    from qamoe.data.text_sentiment import default_data, rank_of, read_texts, split_of
    from qamoe.extractors.datasets.speech import speak, voice_for

    plain = re.compile(r"^[A-Za-z ,.!?']+$")
    texts = sorted((t for t in read_texts(default_data()) if split_of(t.key) == "valid" and abs(t.label) >= 1.5
                    and 4 <= len(t.text.split()) <= 16 and plain.match(t.text)), key=lambda t: (rank_of(t.key), t.key))[::every]
    rows = []
    with progress() as bar:
        task = bar.add_task("espeak-ng -> predict(audio=)", total=len(texts))
        for t in texts:
            voice, rate = voice_for(t.key, 0)
            samples, hz = speak(t.text, voice, rate)
            written = predictor.predict(text=t.text)
            try:
                spoken = predictor.predict(audio=samples, sample_rate=hz)
                heard, said = spoken.transcript, spoken.sentiment
            except ValueError as exc:  # NoUsableInput (nothing heard): counts as wrong
                heard, said = f"({exc.__class__.__name__})", 0.0
            rows.append({"key": t.key, "label": t.label, "text": t.text, "voice": voice, "rate": rate, "written": written.sentiment,
                         "spoken": said, "transcript": heard,
                         "wer": word_errors(words(t.text), words(heard)) / max(1, len(words(t.text)))})
            bar.advance(task)
    sign = np.sign([r["label"] for r in rows])
    return {"texts": len(rows), "written_sign_accuracy": float(np.mean(np.sign([r["written"] for r in rows]) == sign)),
            "spoken_sign_accuracy": float(np.mean(np.sign([r["spoken"] for r in rows]) == sign)),
            "mean_wer": float(np.mean([r["wer"] for r in rows])), "rows": rows}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped live checkpoint)")
    p.add_argument("--parts", default="wer,snr,spoken")
    p.add_argument("--every", type=int, default=5, help="snr: every n-th held-out clip")
    p.add_argument("--spoken-every", type=int, default=1, help="spoken: every n-th eligible valid text")
    p.add_argument("--model", default="tiny.en", help="Whisper model of the recogniser")
    p.add_argument("--split", default="test", choices=("valid", "test"),
                   help="RAVDESS actors: test 18-20 (held out, the default) or valid 15-17 (to choose between checkpoints)")
    p.add_argument("--out", default="benchmarks/results/speech.json")
    args = p.parse_args(argv)
    global SPLIT
    SPLIT = args.split

    import torch

    from qamoe.realtime.predictor import Predictor

    torch.set_num_threads(1)
    predictor = Predictor.load(args.checkpoint, asr=args.model)
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    result["command"] = "python benchmarks/speech.py " + " ".join(argv or __import__("sys").argv[1:])
    result["asr_model"] = args.model
    result["split"] = args.split
    for part in args.parts.split(","):
        started = time.perf_counter()
        if part == "wer":
            result[part] = wer_part(predictor)
        elif part == "snr":
            result[part] = snr_part(predictor, args.every)
        elif part == "spoken":
            result[part] = spoken_part(predictor, args.spoken_every)
        else:
            raise SystemExit(f"unknown part {part!r}")
        result[part]["seconds"] = round(time.perf_counter() - started, 1)
        atomic_write_text(out, json.dumps(result, indent=1))
        print(part, json.dumps({k: v for k, v in result[part].items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
