"""The live pipeline: sources, one clock, bounded ring buffers, windowing, inference, UI, run log.

Data flow (see DESIGN.md):

    Source --(stream, t, item)--> raw RingBuffer --> FeatureStage (extractors) --> FeatureStore
        --> window (latest W seconds per modality; missing when empty) --> InferenceEngine --> Update
        --> terminal UI / JSONL run log

Modules (flat, one concept each):

- time and buffering: `clock` (MonotonicClock, VirtualClock), `ringbuffer` (RingBuffer), `streams`
  (stream names), `store` (FeatureStore, Transcript)
- sources: `sources` (CaptureSource, Recording, states), `camera`, `microphone`, `mediafile`,
  `simulated` (the --demo scene), `player` (a recording played as a live device), `fake` (tests)
- processing: `stage` (FeatureStage), `extraction` (processors over qamoe.extractors), `window`,
  `inference` (InferenceEngine), `update` (Update), `pipeline` (Pipeline.tick)
- drivers: `replay` (ReplayDriver, virtual clock), `threaded` (LiveDriver, capture threads); both update
  when a face frame or word arrives (event-driven, capped) with a fixed-rate floor
- outputs: `tui` (Dashboard, run_live), `runlog` (JSONL), `summary`, `latency` (per-stage percentiles)
- the application: `checkpoints` (defaults), `app` (LiveOptions, Session); CLI in qamoe/cli/live.py
"""
