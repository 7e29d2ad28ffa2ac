"""Signal conditions of a clip: clean, or noise of a kind added to the waveform at an SNR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamoe.dataset import DataError

from .table import NOISE_KINDS, SNR_SWEEP


@dataclass(frozen=True)
class Condition:
    """The signal condition of a clip: clean (snr None) or noise of `kind` at `snr` dB."""

    snr: float | None = None
    kind: str = "white"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise DataError(f"unknown noise kind {self.kind!r}; choose one of {', '.join(NOISE_KINDS)}")
        if self.snr is not None and not np.isfinite(self.snr):
            raise DataError(f"SNR must be a finite number of dB, got {self.snr}")

    @property
    def clean(self) -> bool:
        return self.snr is None

    @property
    def label(self) -> str:
        return "clean" if self.clean else f"{self.kind}{self.snr:+g}dB"

    def key(self) -> dict:
        return {"snr": None} if self.clean else {"snr": float(self.snr), "kind": self.kind, "seed": int(self.seed)}


VOICE_HEAD_CONDITIONS = (Condition(), *(Condition(snr) for snr in SNR_SWEEP if snr is not None))  # clean + white noise


def parse_snrs(text: str) -> list[float | None]:
    """"clean,20,10,5,0,-5" -> [None, 20.0, ...]."""
    out: list[float | None] = []
    for item in str(text).split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item in ("clean", "none", "inf"):
            out.append(None)
            continue
        try:
            out.append(float(item.removesuffix("db")))
        except ValueError:
            raise DataError(f"SNR list {text!r}: {item!r} is not a number of dB or 'clean'") from None
    if not out:
        raise DataError(f"SNR list {text!r} is empty")
    return out
