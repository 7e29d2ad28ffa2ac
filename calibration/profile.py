"""Device calibration: a short recording of the user's own microphone / camera -> a small JSON profile.

`measure(audio_chunks, video_frames)` runs the live pipeline's extractors (acoustic features gated by
the VAD, `extractors.gated_audio.GatedAudio`, as the live pipeline does; face features as `VisionProcessor`
does) and keeps, per modality, the mean and standard deviation of the usable frames, plus what the
room sounds like when nobody speaks (the noise floor) and how often there was speech / a face.

`DeviceProfile.normalizer(checkpoint.stats)` returns `f(modality, raw (T, d)) -> raw (T, d)` that
maps live features onto the training data's statistics *before* the checkpoint's own normalisation:

    x' = train_mean + (x - device_mean) * clip(train_std / device_std, 1 / MAX_GAIN, MAX_GAIN)   (scale=True)
    x' = x - device_mean + train_mean                                                           (scale=False, default)

Default is a mean shift only: for log-mel bands and log energy a microphone's frequency response and
gain are additive offsets (channel normalisation, as cepstral mean normalisation does); a few
seconds of one speaker are too narrow to estimate a spread, so rescaling is opt-in and bounded.
A modality is left untouched when the profile measured fewer than `MIN_FRAMES` usable frames, or when
the checkpoint never saw real frames of it (its training statistics are constant: sigma_ref == 0),
as with vision in the default checkpoint. Text (words) has no device statistics.
The vision profile holds the 20 face-geometry values; for a checkpoint that reads 27 (geometry + the
expression network's 7 log-probabilities) only the geometry is shifted: a person's expression is not
a property of the camera.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from qamoe.extractors.audio import FEATURE_NAMES
from qamoe.files import atomic_write_text

FORMAT = 1
MIN_FRAMES = 50
MAX_GAIN = 2.0
DEVICE_MODALITIES = ("audio", "vision")
MAX_ABS = 1e4  # no feature of either modality comes near this: a mean or spread beyond it is a damaged file
VISION_PROFILE_DIM = 20  # face geometry only: the expression log-probabilities are the person, not the camera
AUDIO_PROFILE_DIM = len(FEATURE_NAMES)  # acoustic features only: the voice-emotion log-probabilities are the person
PROFILE_DIMS = {"audio": AUDIO_PROFILE_DIM, "vision": VISION_PROFILE_DIM}
LOG_ENERGY = FEATURE_NAMES.index("log_energy")  # the audio feature that measures the noise floor


class ProfileError(ValueError):
    """A profile file that cannot be used; the message says why."""


@dataclass
class ModalityProfile:
    frames: int  # usable frames measured
    frames_seen: int  # all frames, usable or not
    mean: list[float]
    std: list[float]

    @property
    def usable_share(self) -> float:
        return self.frames / self.frames_seen if self.frames_seen else 0.0


@dataclass
class DeviceProfile:
    modalities: dict[str, ModalityProfile]
    noise_floor_dbfs: float | None = None  # RMS level of the non-speech audio, dB full scale
    noise_log_energy: float | None = None  # median audio log_energy feature outside speech
    speech_share: float | None = None  # share of audio time the VAD called speech
    seconds: float = 0.0
    source: dict = field(default_factory=dict)  # what was recorded (mic / camera / video path)
    created: str = ""
    format: int = FORMAT

    # ---------------------------------------------------------------- persistence

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def from_dict(cls, raw: dict) -> "DeviceProfile":
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ProfileError(f"not a device profile of format {FORMAT} (got {type(raw).__name__} "
                               f"format {raw.get('format') if isinstance(raw, dict) else None!r})")
        try:
            mods = {}
            for name, m in raw["modalities"].items():
                if name not in DEVICE_MODALITIES:
                    raise ProfileError(f"modality {name!r}: a device profile holds {' and '.join(DEVICE_MODALITIES)} only "
                                       "(text has no device statistics)")
                mean, std = np.asarray(m["mean"], np.float64), np.asarray(m["std"], np.float64)
                if mean.shape != std.shape or mean.ndim != 1 or not (np.isfinite(mean).all() and np.isfinite(std).all()):
                    raise ProfileError(f"modality {name!r}: mean/std malformed or not finite")
                if np.abs(mean).max(initial=0) > MAX_ABS or std.min(initial=0) < 0 or std.max(initial=0) > MAX_ABS:
                    raise ProfileError(f"modality {name!r}: a mean or spread beyond +-{MAX_ABS:g} or a negative spread: "
                                       "the profile is damaged (make it again with qamoe-calibrate)")
                mods[str(name)] = ModalityProfile(int(m["frames"]), int(m["frames_seen"]), mean.tolist(), std.tolist())
            fields = {k: raw.get(k) for k in ("noise_floor_dbfs", "noise_log_energy", "speech_share")}
            return cls(mods, **fields, seconds=float(raw.get("seconds", 0.0)), source=dict(raw.get("source") or {}),
                       created=str(raw.get("created", "")))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProfileError):
                raise
            raise ProfileError(f"device profile is malformed: {exc!r}") from None

    @classmethod
    def load(cls, path: str | Path) -> "DeviceProfile":
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ProfileError(f"no device profile at {path} (make one with qamoe-calibrate)") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ProfileError(f"{path} is not a readable JSON device profile: {exc}") from None
        return cls.from_dict(raw)

    # ---------------------------------------------------------------- use

    def normalizer(self, stats: dict, *, scale: bool = False) -> Callable[[str, np.ndarray], np.ndarray]:
        """`stats`: the checkpoint's {modality: FeatureStats}. Returns f(modality, raw (T, d)) -> raw (T, d)."""
        maps: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for name, prof in self.modalities.items():
            s = stats.get(name)
            n = len(prof.mean)
            if name not in DEVICE_MODALITIES:
                raise ProfileError(f"the profile holds {name!r}: text has no device statistics")
            if s is None:
                continue  # the checkpoint does not read this modality
            # a geometry profile (20) also serves a checkpoint that reads expression too (27), an acoustic
            # one (44) a checkpoint that reads the voice too (52); any other size belongs to another
            # feature layout and would shift the wrong columns
            if n != min(PROFILE_DIMS[name], len(s.mean)):
                raise ProfileError(f"the profile's {name} holds {n} values, this checkpoint reads {len(s.mean)}"
                                   f" (a {name} profile holds its first {PROFILE_DIMS[name]} device values): "
                                   "it was made for another feature layout; make it again with qamoe-calibrate")
            if prof.frames < MIN_FRAMES:
                continue
            if not np.any(np.asarray(s.sigma_ref) > 0):  # the checkpoint never saw real frames of it
                continue
            dev_mean = np.asarray(prof.mean, np.float32)
            if scale:
                gain = np.asarray(s.std, np.float64)[:n] / np.maximum(np.asarray(prof.std, np.float64), 1e-6)
                gain = np.clip(gain, 1 / MAX_GAIN, MAX_GAIN).astype(np.float32)
            else:
                gain = np.ones_like(dev_mean)
            train_mean = np.asarray(s.mean, np.float32)
            if n < len(train_mean):  # values the profile does not cover pass through unchanged
                dev_mean = np.concatenate([dev_mean, train_mean[n:]])
                gain = np.concatenate([gain, np.ones(len(train_mean) - n, np.float32)])
            maps[name] = (dev_mean, gain, train_mean)

        def apply(name: str, values: np.ndarray) -> np.ndarray:
            if name not in maps:
                return values
            dev_mean, gain, train_mean = maps[name]
            return (train_mean + (np.asarray(values, np.float32) - dev_mean) * gain).astype(np.float32)

        apply.modalities = tuple(maps)  # type: ignore[attr-defined]
        return apply


def _stats(frames: list, dim: int) -> ModalityProfile:
    usable = [np.asarray(f.values, np.float64).reshape(dim) for f in frames if not f.missing]
    if usable:
        x = np.stack(usable)
        mean, std = x.mean(0), x.std(0)
    else:
        mean, std = np.zeros(dim), np.zeros(dim)
    return ModalityProfile(len(usable), len(frames), mean.tolist(), std.tolist())


def measure(audio_chunks: Iterable | None = None, video_frames: Iterable | None = None, *, audio=None, vision=None,
            source: dict | None = None) -> DeviceProfile:
    """Runs the live extractors over a recording; either input may be None (not recorded).

    `audio`: a `GatedAudio`, `vision`: a `FaceFeatures` to use (default: the live pipeline's own, with
    the VAD alone deciding what is speech: a profile describes the voice, not a loud room)."""
    mods: dict[str, ModalityProfile] = {}
    noise_db = noise_energy = speech_share = None
    seconds = 0.0
    if audio_chunks is not None:
        if audio is None:
            from qamoe.extractors.gated_audio import GatedAudio  # noqa: PLC0415

            audio = GatedAudio(loud_dbfs=None)  # the voice's statistics: speech frames only, loud noise or not
        audio.reset()
        frames, quiet_power, speech_s, total_s = [], [], 0.0, 0.0
        for chunk in audio_chunks:
            frames += audio.feed(chunk)
            n = len(chunk.samples)
            total_s += n / chunk.rate
            if audio.in_speech:
                speech_s += n / chunk.rate
            elif n:
                quiet_power.append(float(np.mean(np.square(np.asarray(chunk.samples, np.float64)))))
        frames += audio.flush()
        mods["audio"] = _stats(frames, audio.dim)
        quiet = [np.asarray(f.values)[LOG_ENERGY] for f in frames if f.missing]  # outside speech
        if quiet_power:
            noise_db = float(10 * math.log10(max(float(np.median(quiet_power)), 1e-12)))
        if quiet:
            noise_energy = float(np.median(quiet))
        speech_share = speech_s / total_s if total_s else 0.0
        seconds = max(seconds, total_s)
    if video_frames is not None:
        if vision is None:
            from qamoe.extractors.vision import FaceFeatures  # noqa: PLC0415

            vision = FaceFeatures(fps=15)
        vision.reset()
        frames, t0, t1 = [], None, None
        for frame in video_frames:
            t0 = frame.t if t0 is None else t0
            t1 = frame.t
            frames += vision.feed(frame)
        frames += vision.flush()
        mods["vision"] = _stats(frames, vision.dim)
        if t0 is not None:
            seconds = max(seconds, t1 - t0)
    return DeviceProfile(mods, noise_db, noise_energy, speech_share, float(seconds), dict(source or {}),
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
