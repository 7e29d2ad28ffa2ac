"""`Update`: what one tick of the inference loop predicts, with its telemetry beside it (a separate
record, `telemetry.Telemetry`), for the UI and the JSONL run log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .telemetry import Telemetry


@dataclass(frozen=True)
class ModalityStatus:
    """One modality in one update.

    reliability: r_m as reported (`InferenceEngine`): on the checkpoint's reliability scale when it has
    one, where a missing modality reads 0; without one, the model's r_m (a missing modality still
    gets one: it should be low).
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
    expression: the face's expression over the last second, {class: probability} in the expression
    network's order (angry, disgust, fear, happy, sad, surprise, neutral); empty without a face or
    when the vision extractor computes none.
    telemetry: how the pipeline was doing (latencies, drops, rates, source states): not part of the
    prediction, kept beside it.
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
    partial: str = ""
    expression: dict[str, float] = field(default_factory=dict)
    telemetry: Telemetry = field(default_factory=Telemetry)
    reliability_scale: str = "none"  # what the r_m are read on: "validation" (the checkpoint's scale) or "none"

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
        """A JSON-ready dict: floats rounded, one flat `reliability` map for scripts, and the telemetry's
        fields beside the prediction's (one flat line, as the run log has always been)."""
        raw = asdict(self)
        del raw["telemetry"]
        raw["t"] = round(self.t, 4)
        raw["sentiment"] = round(self.sentiment, 4)
        raw["std"] = round(self.std, 4)
        raw["reliability"] = {m: round(s.reliability, 4) for m, s in self.modalities.items()}
        for status in raw["modalities"].values():
            status["reliability"] = round(status["reliability"], 4)
            status["top_experts"] = [list(pair) for pair in status["top_experts"]]
        raw["expression"] = {k: round(v, 4) for k, v in self.expression.items()}
        raw["no_input"] = all(s.missing for s in self.modalities.values())  # the number is the prior alone
        raw.update(self.telemetry.to_json())
        return raw

    @classmethod
    def from_json(cls, line: dict) -> Update:
        """The Update a run-log line was written from (rounded as written)."""
        modalities = {m: ModalityStatus(s["reliability"], s["missing"], s.get("reason", ""), s.get("frames", 0),
                                        [tuple(p) for p in s.get("top_experts", [])])
                      for m, s in line["modalities"].items()}
        telemetry = Telemetry(**{k: line.get(k, {}) for k in ("latency_ms", "latency_pct", "dropped", "sources", "rates")})
        return cls(t=line["t"], seq=line["seq"], sentiment=line["sentiment"], std=line["std"], label=line["label"],
                   modalities=modalities, transcript=line.get("transcript", ""), face=line.get("face"),
                   speech=line.get("speech"), partial=line.get("partial", ""), expression=line.get("expression", {}),
                   telemetry=telemetry, reliability_scale=line.get("reliability_scale", "none"))
