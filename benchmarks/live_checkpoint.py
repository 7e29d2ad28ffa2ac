"""The default live checkpoint (qamoe/assets/live) on held-out real data, next to simple anchors (issue 11).

- voice: binary valence (positive happy, calm; negative sad, angry, fearful, disgust; balanced accuracy)
  of `Predictor.predict(audio=FLAC)` on those 144 clips (the product path: VAD, Whisper ASR -> text, acoustic
  features) on the held-out RAVDESS actors 18-20; sign of the sentiment. Anchor: logistic regression on
  clip-level log-mel statistics, same folds (`benchmarks/ravdess_baselines.py --seed 0`, read from
  benchmarks/results/ravdess-baselines.json).
- faces: the same for `Predictor.predict(image=48x48 face)` on the held-out FER2013 faces (the fer.py
  hash split; positive happy, negative angry, disgust, fear, sad). Anchor: logistic regression on the
  raw 48x48 pixels, trained on the same train faces, C chosen on the valid faces.
- reliability: mean r_audio of the held-out actors' clips at each SNR (white noise on the waveform,
  and babble where cached), mean r_vision of held-out faces sharp vs blurred / darkened / occluded /
  downscaled, with per-sample Spearman rho against the degradation level (present samples; a face the
  mesh loses is missing, reported apart).
- coverage of the calibrated 50 / 80 / 95 % intervals of those `Predictor` calls.
- text: with `--heldout-runs DIR` (checkpoints trained with `--exclude-source X`), each on every text
  of the source it never saw vs ridge on the MiniLM sentence vector trained on the same texts.

    python benchmarks/live_checkpoint.py [--checkpoint qamoe/assets/live] [--out benchmarks/results/live-checkpoint.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qamoe.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (0.5, 0.8, 0.95)


def balanced_accuracy(truth, pred) -> float:
    truth, pred = np.asarray(truth), np.asarray(pred)
    return float(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))


def coverage(pred, std, truth) -> dict:
    from qamoe.variance_scale import coverage as cov

    return {k: round(v, 4) for k, v in cov(np.asarray(pred), np.asarray(std), np.asarray(truth), LEVELS).items()}


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())


def voice(predictor, limit=None) -> dict:
    from qamoe.data.ravdess import default_data, read_labels, split_clips
    from qamoe.realtime.predictor import NoUsableInput

    clips = [c for c in split_clips(read_labels(default_data()))["test"] if c.valence is not None]  # the binary set
    clips = clips[:limit] if limit else clips
    rows = []
    with progress() as bar:
        task = bar.add_task("voice: predict(audio=FLAC), actors 18-20", total=len(clips))
        for c in clips:
            try:
                r = predictor.predict(audio=str(c.path))
                rows.append({"id": c.id, "emotion": c.emotion, "truth": c.sentiment, "valence": c.valence,
                             "prediction": r.sentiment, "std": r.std, "r_audio": r.reliability["audio"],
                             "r_text": r.reliability["text"], "transcript": r.transcript})
            except NoUsableInput:
                rows.append({"id": c.id, "emotion": c.emotion, "truth": c.sentiment, "valence": c.valence, "prediction": None})
            bar.advance(task)
    ok = [r for r in rows if r["prediction"] is not None]
    binary = [r for r in rows if r["valence"] is not None]
    pred = [int((r["prediction"] or 0.0) > 0) for r in binary]
    base = json.loads((ROOT / "benchmarks/results/ravdess-baselines.json").read_text())["results"]["logmel"]["valence"]
    return {
        "n_clips": len(rows), "n_predicted": len(ok), "n_binary": len(binary),
        "balanced_accuracy": balanced_accuracy([r["valence"] for r in binary], pred),
        "logmel_lr_balanced_accuracy": base["test"], "logmel_lr_command": "python benchmarks/ravdess_baselines.py --seed 0",
        "mae": float(np.mean([abs(r["prediction"] - r["truth"]) for r in ok])),
        "corr": float(np.corrcoef([r["truth"] for r in ok], [r["prediction"] for r in ok])[0, 1]),
        "coverage": coverage([r["prediction"] for r in ok], [r["std"] for r in ok], [r["truth"] for r in ok]),
        "mean_r_audio": float(np.mean([r["r_audio"] for r in ok])),
        "rows": rows,
    }


def faces(predictor, seed=0, limit=None) -> dict:
    from sklearn.linear_model import LogisticRegression

    from qamoe.data import fer
    from qamoe.realtime.predictor import NoUsableInput

    images, labels, _ = fer.read_fer()
    order = fer.split_indices(images)
    train, valid, test = order["train"][:6000], order["valid"][:1500], order["test"][:1500]
    test = test[:limit] if limit else test
    valence = fer.valence_of(labels)
    rows = []
    with progress() as bar:
        task = bar.add_task("faces: predict(image=48x48), held-out FER", total=len(test))
        for i in test:
            try:
                r = predictor.predict(image=images[i])
                rows.append({"index": int(i), "class": fer.CLASSES[labels[i]], "truth": float(fer.SENTIMENT[fer.CLASSES[labels[i]]]),
                             "valence": int(valence[i]), "prediction": r.sentiment, "std": r.std, "r_vision": r.reliability["vision"]})
            except NoUsableInput:
                rows.append({"index": int(i), "class": fer.CLASSES[labels[i]], "valence": int(valence[i]),
                             "truth": float(fer.SENTIMENT[fer.CLASSES[labels[i]]]), "prediction": None})
            bar.advance(task)
    ok = [r for r in rows if r["prediction"] is not None]
    binary = [r for r in rows if r["valence"] >= 0]
    found = [r for r in binary if r["prediction"] is not None]
    # no face found: no prediction; counted as wrong in the "all faces" score
    all_pred = [int(r["prediction"] > 0) if r["prediction"] is not None else 1 - r["valence"] for r in binary]

    def xy(index):
        keep = index[valence[index] >= 0]
        return images[keep].reshape(len(keep), -1).astype(np.float32) / 255.0, valence[keep]

    (xt, yt), (xv, yv), (xs, ys) = xy(train), xy(valid), xy(test)
    mean, std = xt.mean(0), xt.std(0) + 1e-6
    z = lambda x: (x - mean) / std  # noqa: E731
    scores = []
    for c in (1e-4, 1e-3, 1e-2, 1e-1):
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=500, random_state=seed).fit(z(xt), yt)
        scores.append((balanced_accuracy(yv, lr.predict(z(xv))), c, lr))
    best, c, lr = max(scores, key=lambda t: t[0])
    return {
        "n_faces": len(rows), "n_found": len(ok), "n_binary": len(binary), "n_binary_found": len(found),
        "balanced_accuracy_found": balanced_accuracy([r["valence"] for r in found], [int(r["prediction"] > 0) for r in found]),
        "balanced_accuracy_all": balanced_accuracy([r["valence"] for r in binary], all_pred),
        "pixel_lr": {"C": float(c), "valid": best, "test": balanced_accuracy(ys, lr.predict(z(xs))),
                     "train_faces": int(len(yt)), "test_faces": int(len(ys))},
        "mae": float(np.mean([abs(r["prediction"] - r["truth"]) for r in ok])),
        "corr": float(np.corrcoef([r["truth"] for r in ok], [r["prediction"] for r in ok])[0, 1]),
        "coverage": coverage([r["prediction"] for r in ok], [r["std"] for r in ok], [r["truth"] for r in ok]),
        "rows": rows,
    }


def _model_reliability(checkpoint, feats_list) -> list[dict]:
    """Model outputs for samples given as {modality: raw (T, d)} (absent modality = missing)."""
    from qamoe.inference import InferenceEngine

    engine = InferenceEngine(checkpoint)
    out = []
    for feats in feats_list:
        present = {k: np.asarray(v, np.float32) for k, v in feats.items() if v is not None and len(v)}
        r = engine.infer(present)
        out.append({"prediction": r.sentiment, "std": r.std, **{f"r_{k}": v for k, v in r.reliability.items()}})
    return out


def audio_reliability(checkpoint) -> dict:
    """Mean r_audio of the held-out actors' clips (with their spoken statement) at each SNR, from the
    cached RAVDESS features the checkpoint reads (audio 44, or 52 with the voice estimate)."""
    from qamoe.data.ravdess import load_ravdess
    from qamoe.dataset import DataError
    from qamoe.extractors.spec import FeatureSpec

    voice = FeatureSpec.for_checkpoint(checkpoint).voice
    result = {}
    for kind in ("white", "babble"):
        per, xs, ys = {}, [], []
        conditions = [None, 20.0, 10.0, 5.0, 0.0, -5.0]
        try:
            views = {snr: load_ravdess(audio_snr=snr, noise_kind=kind, snr_splits=("test",), voice=voice) for snr in conditions}
        except DataError as exc:
            result[kind] = f"not cached ({exc})"
            continue
        for snr, ds in views.items():
            test, present = ds.splits["test"], ds.present["test"]["audio"]
            audio, text = test.modalities["audio"], test.modalities["text"]
            feats = [{"audio": audio.features[i, : audio.lengths[i]] if present[i] else None,
                      "text": text.features[i, : text.lengths[i]]} for i in range(len(present))]
            outs = _model_reliability(checkpoint, feats)
            r = np.array([o["r_audio"] for o in outs])
            label = "clean" if snr is None else f"{snr:g} dB"
            per[label] = {"mean_r_audio": float(r[present].mean()), "n_speech_found": int(present.sum()),
                          "mean_r_audio_all": float(r.mean())}
            xs += list(r[present])
            ys += [99.0 if snr is None else snr] * int(present.sum())
        result[kind] = {"by_snr": per, "spearman_rho_r_vs_snr": spearman(xs, ys),
                        "monotonic_clean_to_0dB": bool(all(np.diff([per[k]["mean_r_audio"] for k in ("clean", "20 dB", "10 dB", "5 dB", "0 dB")]) < 0))}
    return result


def vision_reliability(checkpoint, n=500) -> dict:
    from qamoe.data import fer
    from qamoe.data.window import still_window
    from qamoe.extractors.datasets.fer import DEGRADATIONS

    clean = fer.load_part("test-clean-1500")
    base = {int(i): (v, f) for v, f, i in zip(clean["values"], clean["found"], clean["index"])}

    def run(values, found):
        feats = [{"vision": still_window(v) if ok else None} for v, ok in zip(values, found)]
        return np.array([o["r_vision"] for o in _model_reliability(checkpoint, feats)])

    first = fer.load_part(f"test-blur-0-{n}-s0")
    idx = [int(i) for i in first["index"]]
    cv = np.stack([base[i][0] for i in idx])
    cf = np.array([base[i][1] for i in idx])
    r_clean = run(cv, cf)
    out = {"clean": {"mean_r_vision": float(r_clean[cf].mean()), "found": int(cf.sum()), "n": len(idx)}}
    pooled_r, pooled_level = list(r_clean[cf]), [0] * int(cf.sum())
    for kind in DEGRADATIONS:
        rk, lk = list(r_clean[cf]), [0] * int(cf.sum())
        for level in (0, 1):
            part = fer.load_part(f"test-{kind}-{level}-{n}-s0")
            assert [int(i) for i in part["index"]] == idx
            r = run(part["values"], part["found"])
            keep = part["found"] & cf
            out[f"{kind}-{DEGRADATIONS[kind][level]}"] = {"mean_r_vision": float(r[keep].mean()) if keep.any() else None,
                                                           "mean_r_vision_clean_same_faces": float(r_clean[keep].mean()) if keep.any() else None,
                                                           "found": int(part["found"].sum()), "n": len(idx)}
            rk += list(r[keep])
            lk += [level + 1] * int(keep.sum())
            pooled_r += list(r[keep])
            pooled_level += [level + 1] * int(keep.sum())
        out[f"{kind}_spearman_rho"] = spearman(rk, lk)
    out["pooled_spearman_rho_r_vs_level"] = spearman(pooled_r, pooled_level)
    r_missing = _model_reliability(checkpoint, [{"vision": None, "text": None, "audio": None}])[0]["r_vision"]
    out["r_vision_missing_face"] = float(r_missing)
    return out


def voice_features(checkpoint) -> dict:
    """The same 144 clips from the cached features (no ASR): audio + the statement's frames, and audio
    alone; the audio the checkpoint reads (44, or 52 with the voice estimate)."""
    from qamoe.data.ravdess import load_ravdess
    from qamoe.extractors.spec import FeatureSpec

    ds = load_ravdess(voice=FeatureSpec.for_checkpoint(checkpoint).voice)
    data, present, clips = ds.splits["test"], ds.present["test"]["audio"], ds.clips["test"]
    keep = [i for i, c in enumerate(clips) if c.valence is not None]
    audio_mod, text_mod = data.modalities["audio"], data.modalities["text"]
    audio = [audio_mod.features[i, : audio_mod.lengths[i]] if present[i] else None for i in keep]
    text = [text_mod.features[i, : text_mod.lengths[i]] for i in keep]
    y, truth = np.array([clips[i].valence for i in keep]), np.array([clips[i].sentiment for i in keep])
    out = {}
    for name, feats in (("audio+statement", [{"audio": a, "text": t} for a, t in zip(audio, text)]),
                        ("audio_only", [{"audio": a} for a in audio])):
        o = _model_reliability(checkpoint, feats)
        pred, std = np.array([x["prediction"] for x in o]), np.array([x["std"] for x in o])
        out[name] = {"balanced_accuracy": balanced_accuracy(y, (pred > 0).astype(int)), "mae": float(np.mean(np.abs(pred - truth))),
                     "coverage": coverage(pred, std, truth)}
    return out


def text_heldout(runs: Path, text_cache: Path) -> dict:
    """Each run DIR/<source> trained without that VADER source, on every text of it, vs ridge; the
    texts and sentence vectors are read from the text-sentiment build in `text_cache`."""
    from sklearn.linear_model import Ridge

    from qamoe.checkpoint import load_checkpoint
    from qamoe.data import text_sentiment as ts

    rows = ts.read_shards(text_cache, "clean")
    keys, labels = rows["key"], np.array(rows["label"], np.float32)
    source = np.array([k.split(":")[0] for k in keys])
    split = np.array([ts.split_of(k) for k in keys])
    sent = np.stack(rows["sentence"])
    out = {}
    for src in ts.SOURCES:
        run = runs / src
        if not (run / "config.json").exists():
            continue
        ck = load_checkpoint(run)
        held = np.flatnonzero(source == src)
        outs = _model_reliability(ck, [{"text": rows["text"][i]} for i in held])
        pred = np.array([o["prediction"] for o in outs])
        tr, va = (source != src) & (split == "train"), (source != src) & (split == "valid")
        fits = []
        for alpha in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0):
            m = Ridge(alpha=alpha).fit(sent[tr], labels[tr])
            fits.append((np.mean(np.abs(m.predict(sent[va]) - labels[va])), alpha, m))
        _, alpha, ridge = min(fits, key=lambda t: t[0])
        rp = np.clip(ridge.predict(sent[held]), -3, 3)
        y = labels[held]

        def m(p):
            nz = y != 0
            return {"MAE": float(np.mean(np.abs(p - y))), "Corr": float(np.corrcoef(p, y)[0, 1]),
                    "Acc2_non0": float(np.mean((p[nz] > 0) == (y[nz] > 0)))}
        out[src] = {"n": int(len(held)), "qamoe": m(pred), "ridge": {**m(rp), "alpha": alpha}}
    return out


def markdown(result: dict) -> str:
    v, f = result.get("voice"), result.get("faces")
    lines = ["| sense | QA-MoE (Predictor) | anchor | n |", "| --- | --- | --- | --- |"]
    if v:
        lines.append(f"| voice, binary valence, bal. acc., actors 18-20 | {v['balanced_accuracy']:.3f} | log-mel LR {v['logmel_lr_balanced_accuracy']:.3f} | {v['n_binary']} |")
    if f:
        lines.append(f"| faces, binary valence, bal. acc., held-out FER (no face = wrong) | {f['balanced_accuracy_all']:.3f} | pixel LR {f['pixel_lr']['test']:.3f} | {f['n_binary']} |")
        lines.append(f"| faces, same, faces the mesh found | {f['balanced_accuracy_found']:.3f} | | {f['n_binary_found']} |")
    for src, t in (result.get("text_heldout") or {}).items():
        lines.append(f"| text, held-out source {src}: MAE / Corr / Acc-2 | {t['qamoe']['MAE']:.3f} / {t['qamoe']['Corr']:.3f} / {t['qamoe']['Acc2_non0']:.3f} | "
                     f"ridge {t['ridge']['MAE']:.3f} / {t['ridge']['Corr']:.3f} / {t['ridge']['Acc2_non0']:.3f} | {t['n']} |")
    lines += ["", "| coverage of calibrated intervals | 50 % | 80 % | 95 % |", "| --- | --- | --- | --- |"]
    for name, part in (("voice, actors 18-20", v), ("faces, held-out FER", f)):
        if part:
            c = part["coverage"]
            lines.append(f"| {name} | {c['50%']:.3f} | {c['80%']:.3f} | {c['95%']:.3f} |")
    a = result.get("audio_reliability", {})
    for kind, part in a.items():
        if isinstance(part, dict):
            lines += ["", f"| r_audio, {kind} noise | " + " | ".join(part["by_snr"]) + " | Spearman rho |",
                      "| --- " * (len(part["by_snr"]) + 2) + "|",
                      "| mean r_audio | " + " | ".join(f"{x['mean_r_audio']:.3f}" for x in part["by_snr"].values())
                      + f" | {part['spearman_rho_r_vs_snr']:.3f} |"]
    vr = result.get("vision_reliability")
    if vr:
        conds = [k for k, x in vr.items() if isinstance(x, dict)]
        lines += ["", "| r_vision | " + " | ".join(conds) + " |", "| --- " * (len(conds) + 1) + "|",
                  "| mean r_vision (faces found) | " + " | ".join(f"{vr[k]['mean_r_vision']:.3f}" if vr[k]["mean_r_vision"] is not None else "-" for k in conds) + " |",
                  "| faces found | " + " | ".join(f"{vr[k]['found']}/{vr[k]['n']}" for k in conds) + " |",
                  "", f"Spearman rho(r_vision, level 0/1/2), pooled: {vr['pooled_spearman_rho_r_vs_level']:.3f}; "
                  + ", ".join(f"{k.split('_')[0]} {vr[k]:.3f}" for k in vr if k.endswith("_spearman_rho"))
                  + f"; r_vision with no face: {vr['r_vision_missing_face']:.3f}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(ROOT / "qamoe/assets/live"))
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/live-checkpoint.json"))
    p.add_argument("--parts", default="voice,faces,audio,vision,text")
    p.add_argument("--heldout-runs", default=str(ROOT / "runs/live/heldout"))
    p.add_argument("--text-cache", default=str(ROOT / "runs/live/text_cache"),
                   help="the text-sentiment build the held-out runs were trained on (part text)")
    p.add_argument("--limit", type=int, default=0, help="only the first N clips / faces (a quick look)")
    args = p.parse_args(argv)
    import torch

    from qamoe.realtime.predictor import Predictor

    torch.set_num_threads(1)
    parts = args.parts.split(",")
    predictor = Predictor.load(args.checkpoint)
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update({"checkpoint": args.checkpoint, "command": "python benchmarks/live_checkpoint.py " + " ".join(argv or [])})
    started = time.perf_counter()
    if "voice" in parts:
        result["voice"] = voice(predictor, args.limit or None)
    if "faces" in parts:
        result["faces"] = faces(predictor, limit=args.limit or None)
    if "audio" in parts:
        result["audio_reliability"] = audio_reliability(predictor.checkpoint)
    if "vision" in parts:
        result["vision_reliability"] = vision_reliability(predictor.checkpoint)
    if "voice_features" in parts:
        result["voice_features"] = voice_features(predictor.checkpoint)
    if "text" in parts:
        result["text_heldout"] = text_heldout(Path(args.heldout_runs), Path(args.text_cache))
    result["seconds"] = round(time.perf_counter() - started, 1)
    atomic_write_text(out, json.dumps(result, indent=1))
    md = markdown(result)
    atomic_write_text(out.with_suffix(".md"), md)
    print(md)


if __name__ == "__main__":
    main()
