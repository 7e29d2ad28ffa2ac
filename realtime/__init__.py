"""The live pipeline: sources, one clock, bounded ring buffers, windowing, inference, UI, run log.

Data flow (see DESIGN.md):

    Source --(stream, t, item)--> FeatureStage.push (one inbox per processor) --> extractors
        --> FeatureStore --> window (latest W seconds per modality; missing when empty)
        --> qamoe.inference.InferenceEngine --> Update (+ its Telemetry) --> terminal UI / JSONL run log

docs/ARCHITECTURE.md has the layers and the whole picture.

Modules (flat, one concept each):

- time and buffering: `clock` (MonotonicClock, VirtualClock), `ringbuffer` (RingBuffer), `streams`
  (stream names), `store` (FeatureStore, Transcript)
- sources: `sources` (CaptureSource, Recording, states, SourceBoard), `camera`, `microphone`, `mediafile`,
  `simulated` (the --demo scene), `player` (a recording played as a live device), `fake` (tests)
- processing: `stage` (FeatureStage: the fan-out and the processors' bookkeeping), `extraction`
  (processors over qamoe.extractors), `update` (Update: the prediction), `pipeline` (Pipeline.tick,
  Pipeline.build wires store, stage, trigger and monitor as they are made)
- telemetry, beside the data path: `telemetry` (Telemetry, Monitor: observes the stage, the store and
  the updates), `latency` (LatencyTracker: per-item stage latencies)
- drivers: `drivers` (ReplayDriver on a virtual clock, LiveDriver with capture threads); both update
  when a face frame or word arrives (event-driven, capped) with a fixed-rate floor
- outputs: `tui` (Dashboard, run_live), `runlog` (JSONL), `summary`, `replay_report` (--report)
- the application: `checkpoints` (defaults), `app` (LiveOptions, Session); CLI in cli/live.py
- one-shot: `predictor` (Predictor: one clip, text or picture through the same extractors),
  `recording` (a fixed-length recording through the live sources, for qamoe-calibrate)
"""

__all__ = ["Predictor", "Prediction"]


def __getattr__(name: str):
    if name in ("Predictor", "Prediction"):
        from qamoe.realtime import predictor  # noqa: PLC0415 - imported on first use: the package stays light

        return getattr(predictor, name)
    raise AttributeError(f"module 'qamoe.realtime' has no attribute {name!r}")
