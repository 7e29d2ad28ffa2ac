"""The voice anchor of issue 18: a logistic regression on Whisper tiny.en's encoder states, pooled per clip.

Every RAVDESS clip (actors 01-20) goes through the recogniser's own Whisper encoder the way
`qamoe.extractors.asr` runs it (log-mel of the clip plus `CONTEXT_PAD_S` of padding); the states of
the clip's own frames (50 per second) are pooled to their mean and standard deviation (2 x 384
values). Folds as the project's (`DEFAULT_FOLDS`: train 01-14, valid 15-17, test 18-20); C chosen on
valid by balanced accuracy; binary valence (positive happy, calm; negative sad, angry, fearful,
disgust) and the 8 emotions (accuracy and balanced accuracy). Next to it, the same regression on
the mean and std of the 80 log-mel bands Whisper reads.

    python benchmarks/voice_encoder_anchor.py --out benchmarks/results/voice-encoder-anchor.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qamoe.files import atomic_write_text


def balanced_accuracy(truth, pred) -> float:
    truth, pred = np.asarray(truth), np.asarray(pred)
    return float(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))


def pooled_states(whisper, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(768,) mean + std of the encoder states over the clip's frames, (160,) the same of its log-mel."""
    import ctranslate2

    from qamoe.extractors.asr import CONTEXT_PAD_S

    mel = whisper.feature_extractor(samples)  # (80, n_frames), 100 per second
    frames = mel.shape[1]
    width = int(min(3000, np.ceil(len(samples) / 16000 + CONTEXT_PAD_S) * 100))
    padded = np.zeros((1, 80, width), np.float32)
    padded[0, :, : min(frames, width)] = mel[:, :width]
    states = np.asarray(whisper.model.encode(ctranslate2.StorageView.from_array(padded), to_cpu=True))[0]  # (width / 2, 384)
    own = states[: max(1, frames // 2)]
    return np.concatenate([own.mean(0), own.std(0)]), np.concatenate([mel.mean(1), mel.std(1)])


def fit(x, y, splits, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x[splits == "train"])
    z = scaler.transform(x)
    best = None
    for c in (1e-3, 1e-2, 1e-1, 1.0):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed).fit(z[splits == "train"], y[splits == "train"])
        score = balanced_accuracy(y[splits == "valid"], model.predict(z[splits == "valid"]))
        if best is None or score > best[0]:
            best = (score, c, model)
    score, c, model = best
    test = splits == "test"
    pred = model.predict(z[test])
    return {"C": c, "valid_balanced_accuracy": score, "test_balanced_accuracy": balanced_accuracy(y[test], pred),
            "test_accuracy": float(np.mean(pred == y[test])), "n_test": int(test.sum())}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/voice-encoder-anchor.json")
    args = p.parse_args(argv)

    from rich.progress import Progress

    from qamoe.data.ravdess import default_data, read_labels, split_clips
    from qamoe.extractors.asr import load_whisper
    from qamoe.extractors.decode import read_audio

    whisper = load_whisper("tiny.en")
    by_split = split_clips(read_labels(default_data()))
    clips = [(s, c) for s in ("train", "valid", "test") for c in by_split[s]]
    enc, mel, splits, valence, emotion = [], [], [], [], []
    started = time.process_time()
    with Progress() as bar:
        task = bar.add_task("encoder states", total=len(clips))
        for split, clip in clips:
            samples, _ = read_audio(clip.path)
            e, m = pooled_states(whisper, samples)
            enc.append(e), mel.append(m), splits.append(split)
            valence.append(-1 if clip.valence is None else clip.valence), emotion.append(clip.emotion)
            bar.advance(task)
    cpu = time.process_time() - started
    enc, mel, splits, valence, emotion = map(np.asarray, (enc, mel, splits, valence, emotion))
    binary = valence >= 0
    result = {"command": "python benchmarks/voice_encoder_anchor.py " + " ".join(argv or []), "seed": args.seed,
              "clips": len(clips), "cpu_s_per_clip": round(cpu / len(clips), 3)}
    for name, x in (("whisper_encoder_mean_std", enc), ("logmel80_mean_std", mel)):
        result[name] = {"binary_valence": fit(x[binary], valence[binary], splits[binary], args.seed),
                        "emotions_8": fit(x, emotion, splits, args.seed)}
    atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
