"""`Update`: everything one tick of the inference loop publishes, for the UI and the JSONL run log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModalityStatus:
    """One modality in one update.

    reliability: r_m from the model (a missing modality still gets one: it should be low).
    missing: True when the window had no usable frame; reason says why ('no face', 'silence',
    'no words', 'camera lost: ...'), empty when present.
    frames: usable frames in the window; top_experts: [(expert, gate weight)] of the router.
    """

    reliability: float
    missing: bool
    reason: str = ""
    frames: int = 0
    top_experts: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Update:
    """One published prediction.

    t: pipeline clock time of the tick (s; media time for replay); seq: 0, 1, 2, ...
    sentiment: -3..+3; std: its standard deviation; label: negative / neutral / positive.
    modalities: name -> ModalityStatus, in the model's order.
    transcript: the rolling transcript up to t, final words then the partial ones; partial: its
    trailing words that are still a partial hypothesis (they may change); face / speech: presence
    indicators (None = unknown).
    latency_ms: stage -> milliseconds of this tick (window, inference, total ... and age/* ages).
    latency_pct: stage -> {p50, p95, p99, n} (ms) over the recent items traced through the pipeline
    (`video/e2e`, `word/asr`, `tick/model` ..., see `latency.py`), as of the previous update.
    dropped: ring buffer name -> items dropped so far; sources: source name -> state text.
    rates: stream -> items per second recently received ('updates' is this loop's rate).
    expression: the face's expression over the last second, {class: probability} in the expression
    network's order (angry, disgust, fear, happy, sad, surprise, neutral); empty without a face or
    when the vision extractor computes none.
    """

    t: float
    seq: int
    sentiment: float
    std: float
    label: str
    modalities: dict[str, ModalityStatus]
    transcript: str = ""
    face: bool | None = None
    speech: bool | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    partial: str = ""
    latency_pct: dict[str, dict[str, float]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    expression: dict[str, float] = field(default_factory=dict)

    @property
    def top_expression(self) -> tuple[str, float] | None:
        """(most likely expression, its probability), or None."""
        if not self.expression:
            return None
        name = max(self.expression, key=self.expression.get)
        return name, self.expression[name]

    @property
    def reliability(self) -> dict[str, float]:
        return {m: s.reliability for m, s in self.modalities.items()}

    def to_json(self) -> dict:
        """A JSON-ready dict: floats rounded, one flat `reliability` map for scripts."""
        raw = asdict(self)
        raw["t"] = round(self.t, 4)
        raw["sentiment"] = round(self.sentiment, 4)
        raw["std"] = round(self.std, 4)
        raw["reliability"] = {m: round(s.reliability, 4) for m, s in self.modalities.items()}
        for status in raw["modalities"].values():
            status["reliability"] = round(status["reliability"], 4)
            status["top_experts"] = [list(pair) for pair in status["top_experts"]]
        raw["latency_ms"] = {k: round(v, 2) for k, v in self.latency_ms.items()}
        raw["rates"] = {k: round(v, 2) for k, v in self.rates.items()}
        raw["expression"] = {k: round(v, 4) for k, v in self.expression.items()}
        raw["no_input"] = all(s.missing for s in self.modalities.values())  # the number is the prior alone
        return raw
