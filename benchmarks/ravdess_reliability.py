"""The reliability protocol on real voices: held-out RAVDESS actors, the audio degraded on the waveform.

Protocol III's mixture with the audio's noise put where a microphone puts it. Per clip and modality,
eta ~ U(0, 0.7) and the modality is missing with probability eta (`evaluate.mixture_levels`, the
simulator's draw); text and action units get the feature noise lambda ~ U(0, 0.7) as on the
simulator; the audio instead gets white noise on the waveform at an SNR drawn uniformly from `--snrs`
(before extraction; one noise realisation per clip, scaled to each SNR). Its degradation level is the
noise's amplitude relative to the speech's, the same quantity lambda is for feature noise (noise std
over signal std): level = min(1, 10^(-SNR/20)), so clean 0, 20 dB 0.1, 10 dB 0.32, 5 dB 0.56, 0 dB and
below 1 (noise as loud as the voice leaves nothing, as missing does). A clip in which the VAD found no
speech (or without action units) reads as missing (level 1), as it would live. The numbers are those
of `qamoe-eval --protocol reliability` (`harness.protocols.reliability_of`), with r_m read on two
scales, both fitted on the validation actors: the checkpoint's own (fitted by qamoe-train under the
feature-noise mixture) and one fitted on the validation actors under this same waveform mixture
(seed 7); the test actors are never used for a fit.

    python benchmarks/ravdess_reliability.py --checkpoint runs/ravdess-1111 [--split test] [--seed 0] \
        [--snrs clean,20,10,5,0,-5] [--out docs/reliability-report/ravdess/reliability-seed1111]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import qamoe  # noqa: F401


def snr_level(snr: float | None) -> float:
    """The degradation level of waveform noise at `snr` dB: its amplitude over the speech's, at most 1."""
    return 0.0 if snr is None else float(min(1.0, 10.0 ** (-snr / 20.0)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", help="RAVDESS folder (default: the checkpoint's, else $QAMOE_SHARED_DATA/ravdess)")
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--snrs", default="clean,20,10,5,0,-5")
    p.add_argument("--noise-seed", type=int, default=0, help="the waveform noise's realisation")
    p.add_argument("--seed", type=int, default=0, help="the mixture's draw (as qamoe-eval --seed)")
    p.add_argument("--out", default="benchmarks/results/ravdess-reliability", help="folder for reliability.json and REPORT.md")
    args = p.parse_args(argv)

    from rich.console import Console

    from qamoe.checkpoint import load_checkpoint
    from qamoe.data.ravdess import Condition, parse_snrs, snr_views
    from qamoe.dataset import ModalityData, SplitData
    from qamoe.evaluate import mixture_levels, predict_split, sigma_ref_tensors
    from qamoe.files import atomic_write_json
    from qamoe.harness.protocols import reliability_of
    from qamoe.harness.records import ModelResults, ProtocolPayload
    from qamoe.harness.report import rich_tables, write_markdown
    from qamoe.reliability_scale import FIT_SEED, MISSING_LEVEL, ReliabilityScale, scaled
    from qamoe.tensors import TensorSplit

    console = Console(width=160)
    checkpoint = load_checkpoint(args.checkpoint)
    config = checkpoint.config
    stored = checkpoint.provenance.get("dataset_args", {}).get("ravdess") or {}
    snrs = parse_snrs(args.snrs)

    def waveform_mixture(split: str, seed: int):
        """(predictions with the r_m as the model gives them, level per modality, the SNR index per clip)."""
        views = snr_views(args.data or stored.get("data"), split, [s for s in snrs if s is not None],
                          noise_kind="white", noise_seed=args.noise_seed, task=stored.get("task", "sentiment"),
                          text=stored.get("text", "statement"), folds=stored.get("folds"), voice=bool(stored.get("voice", False)))
        n, names = len(views.ids), config.modality_names
        noise, missing_rate = mixture_levels(n, len(names), seed)
        noise[:, names.index("audio")] = 0.0  # the audio's noise is on the waveform, not on its features
        condition = np.random.default_rng(20_011 + seed).integers(0, len(snrs), n)  # (N,) index into snrs
        chosen = [snrs[c] for c in condition]
        audio_data = [(views.clean if s is None else views.degraded[s]).modalities["audio"] for s in chosen]
        sequences = [d.features[i, : d.lengths[i]] for i, d in enumerate(audio_data)]
        mixed = SplitData({**views.clean.modalities, "audio": ModalityData.from_sequences(sequences, audio_data[0].dim)},
                          views.labels, views.ids)
        had = {m: np.array([views.present[label_of(s)][m][i] for i, s in enumerate(chosen)]) for m in names}
        pred = predict_split(checkpoint.model, TensorSplit(mixed, checkpoint.stats), sigma_ref=sigma_ref_tensors(checkpoint.stats),
                             noise=noise, missing_rate=missing_rate, seed=seed)
        missing = {m: pred.missing[m] | ~had[m] for m in names}  # no speech found, no action units: missing to the model
        pred = dataclasses.replace(pred, missing=missing)
        level = {m: np.where(missing[m], MISSING_LEVEL, pred.noise[m]) for m in names}
        level["audio"] = np.where(missing["audio"], MISSING_LEVEL, [snr_level(s) for s in chosen])
        return pred, level, condition

    def label_of(snr):
        return "clean" if snr is None else Condition(snr, "white", args.noise_seed).label

    p, level, condition = waveform_mixture(args.split, args.seed)
    valid_p, valid_level, _ = waveform_mixture("valid", FIT_SEED)  # the same kind of degradation, other actors
    scales = {"scale fitted on valid, feature noise (the checkpoint's)": ReliabilityScale.from_extra(checkpoint.extra),
              "scale fitted on valid, waveform noise": ReliabilityScale.fit(valid_p.reliability, valid_level)}
    results = {label: reliability_of(scaled(p, scale), level, config, seed=args.seed,
                                     unscaled=p.reliability if scale.fitted else None)
               for label, scale in scales.items()}
    missing = p.missing
    result = results["scale fitted on valid, waveform noise"]

    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    payload = ProtocolPayload(
        protocol="reliability", dataset=f"ravdess ({args.split} actors, audio: white noise on the waveform at {args.snrs} dB)",
        split=args.split, eval_seed=args.seed, command=command,
        models={label: ModelResults([str(Path(args.checkpoint))], "qamoe", [checkpoint.provenance.get("train_config", {}).get("seed")], [r])
                for label, r in results.items()},
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "reliability.json", payload.to_dict())
    names = config.modality_names
    on_scale = scaled(p, scales["scale fitted on valid, waveform noise"]).reliability
    r_audio = on_scale["audio"]
    per_snr = {label_of(s): {"n": int((condition == k).sum()),
                           "mean_r_audio_present": float(np.mean(r_audio[(condition == k) & ~missing["audio"]]))
                           if ((condition == k) & ~missing["audio"]).any() else None,
                           "audio_missing": float(np.mean(missing["audio"][condition == k]))}
               for k, s in enumerate(snrs)}
    without = {m: float(spearmanr(np.concatenate([on_scale[k] for k in names if k != m]),
                                  np.concatenate([level[k] for k in names if k != m]))[0]) for m in names}
    atomic_write_json(out / "per_snr.json", {"command": command, "per_snr": per_snr,
                                             "pooled_rho_without_modality": without})
    preamble = (f"`{command}`\n\nMean r_audio (on the waveform-fitted scale) of the clips whose audio is present, per SNR: "
                + ", ".join(f"{k} {v['mean_r_audio_present']:.3f} (n={v['n']})" for k, v in per_snr.items()
                            if v["mean_r_audio_present"] is not None)
                + ". Pooled rho on the waveform scale with one modality's pairs left out: "
                + ", ".join(f"without {m} {rho:.3f}" for m, rho in without.items()))
    write_markdown({"reliability": payload}, out, title="Reliability on held-out RAVDESS actors, waveform noise", preamble=preamble)
    for table in rich_tables(payload):
        console.print(table)
    console.print(preamble)
    console.print(f"written to {out}/reliability.json and REPORT.md")
    return result


if __name__ == "__main__":
    main()
