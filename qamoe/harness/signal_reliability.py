"""What r_m means on the live checkpoint's own sources under the degradations a person's input meets.

Each modality is read alone (the others missing, as when only that sense has input), on one split of
the sources the live checkpoint was trained from:

- text: VADER texts with words dropped at rate 0.1 / 0.3 / 0.5 / 0.7: left out of the sequence, as
  a recogniser that misses words leaves them out of the transcript (at least one word stays);
- audio: RAVDESS voices with white noise on the waveform at 20 / 10 / 5 / 0 / -5 dB (clips in which
  the VAD finds speech in both the clean and the noisy take);
- vision: FER2013 faces blurred, darkened, occluded and downscaled at two strengths each, held as the
  live window holds a still face (faces the tracker still finds; `faces_lost` says how many it does not).

Per sample, r_m on the degraded input; per condition, the share of the modality's answer that
survives the degradation, the fraction of the variance of its clean answers the degraded ones keep:

    retained = clip(1 - mean (p_m(degraded) - p_m(clean))^2 / Var p_m(clean), 0, 1)

with p_m the modality's probe (the answer the quality head's training target compares, `qamoe.reliability`)
and Var over the split's clean samples of that modality: 1 when the answer is untouched, 0 when it is no
better than the average answer (per sample, that target floors near 0.5 for an answer that collapsed to the
mean, since clips whose clean answer is near the mean look unharmed; a condition's mean square does not).
Every sample is also read clean (retained 1) and missing (one zero frame, retained 0). `fit_signal_scale`
maps each modality's r_m to E[retained | r_m] over the clean and degraded readings (`ReliabilityScale`,
isotonic), as the simulator's scale maps r_m to E[1 - lambda | r_m]: fitted on the validation split,
r~_m = 0.7 is meant to read "inputs like this keep about 70 % of what this modality tells" in text,
voice and face (how closely it does on held-out data: docs/reliability-report). E[kept | r_m] depends on
the mix of conditions it is fitted on (each condition weighted by its samples, clean ones included);
conditions with fewer than MIN_PAIRS pairs are left out. Missing inputs are left out of the fit: the engine reports a modality without input at 0 on
this scale (nothing of it is left); read through the map, a missing text's r_m (0.21 on the live
checkpoint) would show about 0.46, what a text with most of its words gone reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qamoe.checkpoint import Checkpoint
from qamoe.data import fer as fer_data
from qamoe.data.live_mix import vader_samples
from qamoe.data.ravdess import snr_views
from qamoe.data.window import still_window
from qamoe.dataset import ModalityData
from qamoe.reliability_scale import ReliabilityScale

DROP_RATES = (0.1, 0.3, 0.5, 0.7)
SNRS = (20.0, 10.0, 5.0, 0.0, -5.0)
FACE_KINDS = ("blur", "dark", "occlude", "downscale")
MIN_PAIRS = 30  # a condition's kept share from fewer pairs is noise
FACE_VIEWS = 500  # faces per degraded FER part (`python -m qamoe.extractors.datasets.fer --valid-views 500 --test-views 500`)
FITTED_ON = ("valid split, each modality alone: words dropped 10-70 %, white noise on the waveform 20 to -5 dB, "
             "faces blurred / darkened / occluded / downscaled; r_m -> E[share of the variance of the modality's answer the input keeps]")


@dataclass(frozen=True)
class Readings:
    """One modality under one condition: r_m (N,) as the model gives it, and the share of the
    modality's answer the condition leaves (`retained`, see the module docstring)."""

    modality: str
    condition: str
    r: np.ndarray
    retained: float


@dataclass(frozen=True)
class SignalReadings:
    readings: list[Readings]
    faces_lost: dict[str, float]  # face condition -> share of faces the tracker no longer finds (vision missing live)

    def of(self, modality: str, *, degraded_only: bool = False, present_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(r (N,), retained (N,): each sample's condition's share) of the readings of `modality`: every
        one, the degraded ones only (no clean, no missing), or the present ones (no missing)."""
        left_out = ("clean", "missing") if degraded_only else ("missing",) if present_only else ()
        chosen = [x for x in self.readings if x.modality == modality and x.condition not in left_out]
        return np.concatenate([x.r for x in chosen]), np.concatenate([np.full(len(x.r), x.retained) for x in chosen])

    @property
    def modalities(self) -> list[str]:
        return list(dict.fromkeys(x.modality for x in self.readings))


class _Reader:
    """r_m and the probe's answer of samples with one modality present."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.model = checkpoint.model.eval()
        self.readings: list[Readings] = []

    def run(self, name: str, data: ModalityData) -> tuple[np.ndarray, np.ndarray]:
        """(r_m (N,), probe answer (N,)) with `name` the only modality present."""
        x = torch.from_numpy(self.checkpoint.stats[name].normalize(data.features, data.lengths))
        return self._encode(name, x, torch.from_numpy(np.asarray(data.lengths)))

    def _encode(self, name: str, x: torch.Tensor, lengths: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """x: (N, T, d) already normalised."""
        with torch.no_grad():
            encodings = self.model.encode({name: x}, {name: lengths})
            answer = self.model.probe(encodings)[name].float()
        return encodings[name].reliability.numpy(), answer.numpy()

    def missing_r(self, name: str) -> float:
        """r_m of a missing input: one all-zero frame after normalisation, what the model reads for a
        modality left out (a zero frame *before* normalisation is another input)."""
        dim = self.checkpoint.stats[name].mean.shape[0]
        return float(self._encode(name, torch.zeros(1, 1, dim), torch.ones(1, dtype=torch.long))[0][0])

    def add(self, name: str, condition: str, r: np.ndarray, retained: float) -> None:
        self.readings.append(Readings(name, condition, np.asarray(r, np.float64), float(retained)))

    def compare(self, name: str, pairs: dict[str, tuple[ModalityData, ModalityData]], spread: float) -> None:
        """One Readings per condition with at least MIN_PAIRS pairs: pairs maps condition -> (clean,
        degraded) of the same samples."""
        for condition, (clean, degraded) in pairs.items():
            if len(clean.lengths) < MIN_PAIRS:
                continue
            _, clean_answer = self.run(name, clean)
            r, answer = self.run(name, degraded)
            self.add(name, condition, r, np.clip(1 - np.mean((answer - clean_answer) ** 2) / max(spread, 1e-8), 0, 1))

    def clean_and_missing(self, name: str, clean: ModalityData) -> float:
        """Adds every clean sample (retained 1) and as many missing readings (retained 0); returns the
        variance of the clean answers."""
        r, answer = self.run(name, clean)
        self.add(name, "clean", r, 1.0)
        self.add(name, "missing", np.full(len(r), self.missing_r(name)), 0.0)
        return float(np.var(answer))


def _subset(data: ModalityData, keep: np.ndarray) -> ModalityData:
    return ModalityData(data.features[keep], data.lengths[keep])


def _faces(values: np.ndarray) -> ModalityData:
    """(N, 27) face features -> the live window of a still face, (N, T, 27)."""
    return ModalityData.from_sequences([still_window(v) for v in values], values.shape[1])


def signal_readings(checkpoint: Checkpoint, split: str, *, text_cache, fer_cache=None, ravdess=None,
                    face_views: int = FACE_VIEWS, seed: int = 0) -> SignalReadings:
    """The readings of every modality of the live checkpoint on `split` ("valid" or "test")."""
    options = checkpoint.provenance.get("dataset_args", {})
    if checkpoint.provenance.get("dataset") != "live-mix":
        raise ValueError(f"signal readings read the live checkpoint's sources; this checkpoint was trained on "
                         f"{checkpoint.provenance.get('dataset', 'unknown data')!r}, not 'live-mix'")
    if not getattr(checkpoint.model, "unimodal_heads", None):
        raise ValueError("signal readings need a QA-MoE checkpoint with per-modality probes (reliability_objective "
                         "'consistency' or 'unimodal')")
    reader = _Reader(checkpoint)
    names = checkpoint.config.modality_names

    if "text" in names:
        texts = [s.text for s in vader_samples(text_cache, int(options.get("max_words", 32)))[split]]
        clean = ModalityData.from_sequences(texts, texts[0].shape[1])
        spread = reader.clean_and_missing("text", clean)
        rng = np.random.default_rng(seed)

        def drop(t: np.ndarray, rate: float) -> np.ndarray:
            kept = rng.random(len(t)) >= rate
            kept[rng.integers(len(t))] |= not kept.any()  # at least one word stays
            return t[kept]

        reader.compare("text", {f"{rate:.0%} words dropped": (clean, ModalityData.from_sequences(
            [drop(t, rate) for t in texts], texts[0].shape[1])) for rate in DROP_RATES}, spread)

    if "audio" in names:
        views = snr_views(ravdess, split, SNRS, noise_kind="white", folds=options.get("folds"),
                          voice=bool(options.get("voice", False)), text=options.get("ravdess_text", "statement"))
        had = np.asarray(views.present["clean"]["audio"], bool)
        clean = views.clean.modalities["audio"]
        spread = reader.clean_and_missing("audio", _subset(clean, had))
        pairs = {}
        for snr in SNRS:
            keep = had & np.asarray(views.present[f"white{snr:+g}dB"]["audio"], bool)
            pairs[f"{snr:+g} dB"] = (_subset(clean, keep), _subset(views.degraded[snr].modalities["audio"], keep))
        reader.compare("audio", pairs, spread)

    faces_lost = {}
    if "vision" in names:
        clean_part = fer_data.load_part(f"{split}-clean-{_clean_faces(split, options)}", fer_cache)
        clean_found = clean_part["found"].astype(bool)
        spread = reader.clean_and_missing("vision", _faces(clean_part["values"][clean_found]))
        position = {int(i): k for k, i in enumerate(clean_part["index"])}
        pairs = {}
        for kind in FACE_KINDS:
            for strength in (0, 1):
                part = fer_data.load_part(f"{split}-{kind}-{strength}-{face_views}-s0", fer_cache)
                found = part["found"].astype(bool)
                k = np.array([position.get(int(i), -1) for i in part["index"]])
                both = found & (k >= 0)
                both[both] &= clean_found[k[both]]  # a face in the clean and in the degraded image
                had = (k >= 0) & clean_found[np.maximum(k, 0)]  # faces the tracker finds in the clean image
                faces_lost[f"{kind} {strength}"] = float(1 - found[had].mean()) if had.any() else 1.0
                if both.any():
                    pairs[f"{kind} {strength}"] = (_faces(clean_part["values"][k[both]]), _faces(part["values"][both]))
        reader.compare("vision", pairs, spread)
    return SignalReadings(reader.readings, faces_lost)


def _clean_faces(split: str, options: dict) -> int:
    """How many clean faces of `split` the checkpoint's FER parts hold (its dataset_args' fer_parts)."""
    part = (options.get("fer_parts") or {}).get(split, f"{split}-clean-1500")
    return int(part.rsplit("-", 1)[1])


def fit_signal_scale(readings: SignalReadings) -> ReliabilityScale:
    """Each modality's r_m -> E[retained | r_m], over its clean and degraded readings (not the missing
    ones: see the module docstring)."""
    pairs = {m: readings.of(m, present_only=True) for m in readings.modalities}
    return ReliabilityScale.fit({m: r for m, (r, _) in pairs.items()}, {m: 1.0 - kept for m, (_, kept) in pairs.items()})


def retained_by_bin(readings: SignalReadings, scale: ReliabilityScale | None = None,
                    edges=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)) -> dict[str, list[dict]]:
    """modality -> per r bin of the degraded readings (r read through `scale` when given): count, mean
    r, mean share retained. If r means the same in every modality, the retained share of a bin is the
    same across modalities, and close to the bin's mean r."""
    out = {}
    for m in readings.modalities:
        r, retained = readings.of(m, degraded_only=True)
        if scale is not None:
            r = scale.apply(m, r)
        index = np.clip(np.digitize(r, edges[1:-1]), 0, len(edges) - 2)
        out[m] = [{"r": [edges[b], edges[b + 1]], "n": int((index == b).sum()),
                   "mean_r": float(r[index == b].mean()) if (index == b).any() else None,
                   "mean_retained": float(retained[index == b].mean()) if (index == b).any() else None}
                  for b in range(len(edges) - 1)]
    return out


def calibration_error(readings: SignalReadings, scale: ReliabilityScale | None = None, bins: int = 10) -> dict[str, float]:
    """modality -> the expected calibration error of r as the retained share over the degraded readings:
    sum over `bins` equal-width r bins of (share of readings) x |mean r - mean retained| (r through
    `scale` when given). 0 when r_m reads exactly the share of the answer its input keeps."""
    out = {}
    for m in readings.modalities:
        r, retained = readings.of(m, degraded_only=True)
        if scale is not None:
            r = scale.apply(m, r)
        index = np.clip((r * bins).astype(int), 0, bins - 1)
        out[m] = float(sum(np.sum(index == b) / len(r) * abs(r[index == b].mean() - retained[index == b].mean())
                           for b in range(bins) if (index == b).any()))
    return out
