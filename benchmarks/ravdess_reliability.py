"""The reliability protocol on real voices: held-out RAVDESS actors, the audio degraded on the waveform.

Protocol III's mixture with the audio's noise put where a microphone puts it. Per clip and modality,
eta ~ U(0, 0.7) and the modality is missing with probability eta (`evaluate.mixture_levels`, the
simulator's draw); text and action units get the feature noise lambda ~ U(0, 0.7) as on the
simulator; the audio instead gets white noise on the waveform at an SNR drawn uniformly from `--snrs`
(before extraction; one noise realisation per clip, scaled to each SNR). Its degradation level is the
noise's amplitude relative to the speech's, the same quantity lambda is for feature noise (noise std
over signal std): level = min(1, 10^(-SNR/20)), so clean 0, 20 dB 0.1, 10 dB 0.32, 5 dB 0.56, 0 dB and
below 1 (noise as loud as the voice leaves nothing, as missing does). A clip in which the VAD found no
speech reads as missing audio (level 1), as it would live. r_m are read on the checkpoint's one
reliability scale when it has one; the numbers are those of `qamoe-eval --protocol reliability`
(`harness.protocols.reliability_of`).

    python benchmarks/ravdess_reliability.py --checkpoint runs/ravdess-1111 [--split test] [--seed 0] \
        [--snrs clean,20,10,5,0,-5] [--out docs/reliability-report/ravdess/reliability-seed1111]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

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
    from qamoe.data.ravdess import parse_snrs, snr_views
    from qamoe.dataset import ModalityData, SplitData
    from qamoe.evaluate import mixture_levels, predict_split, sigma_ref_tensors
    from qamoe.harness.protocols import reliability_of
    from qamoe.harness.records import ModelResults, ProtocolPayload
    from qamoe.harness.report import rich_tables, write_markdown
    from qamoe.reliability_scale import MISSING_LEVEL, ReliabilityScale, scaled
    from qamoe.tensors import TensorSplit

    console = Console(width=160)
    checkpoint = load_checkpoint(args.checkpoint)
    config = checkpoint.config
    stored = checkpoint.provenance.get("dataset_args", {}).get("ravdess") or {}
    snrs = parse_snrs(args.snrs)
    views = snr_views(args.data or stored.get("data"), args.split, [s for s in snrs if s is not None],
                      noise_kind="white", noise_seed=args.noise_seed, task=stored.get("task", "sentiment"),
                      text=stored.get("text", "statement"), folds=stored.get("folds"), voice=bool(stored.get("voice", False)))
    by_snr = {snr: (views.clean if snr is None else views.degraded[snr]) for snr in snrs}
    labels = {snr: "clean" if snr is None else f"white+{snr:g}dB" for snr in snrs}

    n, names = len(views.ids), config.modality_names
    noise, missing_rate = mixture_levels(n, len(names), args.seed)
    audio = names.index("audio")
    noise[:, audio] = 0.0  # the audio's noise is on the waveform, not on its features
    condition = np.random.default_rng(20_011 + args.seed).integers(0, len(snrs), n)  # (N,) index into snrs
    chosen = [snrs[c] for c in condition]
    audio_data = [by_snr[s].modalities["audio"] for s in chosen]
    sequences = [d.features[i, : d.lengths[i]] for i, d in enumerate(audio_data)]
    mixed = SplitData({**views.clean.modalities, "audio": ModalityData.from_sequences(sequences, audio_data[0].dim)},
                      views.labels, views.ids)
    voiced = np.array([views.present[labels[s]]["audio"][i] for i, s in enumerate(chosen)])  # (N,) VAD found speech

    p = predict_split(checkpoint.model, TensorSplit(mixed, checkpoint.stats), sigma_ref=sigma_ref_tensors(checkpoint.stats),
                      noise=noise, missing_rate=missing_rate, seed=args.seed)
    missing = {**p.missing, "audio": p.missing["audio"] | ~voiced}  # no speech found: missing to the model
    p = dataclasses.replace(p, missing=missing)
    level = {m: np.where(missing[m], MISSING_LEVEL, p.noise[m]) for m in names}
    level["audio"] = np.where(missing["audio"], MISSING_LEVEL, [snr_level(s) for s in chosen])
    scale = ReliabilityScale.from_extra(checkpoint.extra)
    result = reliability_of(scaled(p, scale), level, config, seed=args.seed,
                            unscaled=p.reliability if scale.fitted else None)

    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    payload = ProtocolPayload(
        protocol="reliability", dataset=f"ravdess ({args.split} actors, audio: white noise on the waveform at {args.snrs} dB)",
        split=args.split, eval_seed=args.seed, command=command,
        models={"qamoe": ModelResults([str(Path(args.checkpoint))], "qamoe", [checkpoint.provenance.get("train_config", {}).get("seed")], [result])},
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from qamoe.files import atomic_write_json

    atomic_write_json(out / "reliability.json", payload.to_dict())
    r_audio = scaled(p, scale).reliability["audio"]
    per_snr = {labels[s]: {"n": int((condition == k).sum()),
                           "mean_r_audio_present": float(np.mean(r_audio[(condition == k) & ~missing["audio"]]))
                           if ((condition == k) & ~missing["audio"]).any() else None,
                           "vad_found_no_speech": float(np.mean(~voiced[condition == k]))}
               for k, s in enumerate(snrs)}
    atomic_write_json(out / "per_snr.json", {"command": command, "per_snr": per_snr})
    preamble = (f"`{command}`\n\nMean r_audio (on the scale) of the clips whose audio is present, per SNR: "
                + ", ".join(f"{k} {v['mean_r_audio_present']:.3f} (n={v['n']})" for k, v in per_snr.items()
                            if v["mean_r_audio_present"] is not None))
    write_markdown({"reliability": payload}, out, title="Reliability on held-out RAVDESS actors, waveform noise", preamble=preamble)
    for table in rich_tables(payload):
        console.print(table)
    console.print(preamble)
    console.print(f"written to {out}/reliability.json and REPORT.md")
    return result


if __name__ == "__main__":
    main()
