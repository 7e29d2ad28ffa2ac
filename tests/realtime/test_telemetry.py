"""Telemetry beside the data path (issue 21): the stage and the store tell the observers they were
built with, the update carries its telemetry as a separate record, and the run log's line is the
same flat object it always was."""

from __future__ import annotations

import numpy as np

from qamoe.extractors.base import FeatureFrame
from qamoe.realtime.stage import FeatureStage
from qamoe.realtime.store import FeatureStore
from qamoe.realtime.streams import AUDIO, feature_stream
from qamoe.realtime.telemetry import Monitor, Telemetry
from qamoe.realtime.update import Update


class Recorder:
    """A stage observer and store listener that writes down what it is told."""

    def __init__(self):
        self.events = []

    def arrived(self, stream, t):
        self.events.append(("arrived", stream, t))

    def picked(self, stream, t):
        self.events.append(("picked", stream, t))

    def ran(self, target, ms):
        self.events.append(("ran", target, ms >= 0))

    def stored(self, kind, t, usable):
        self.events.append(("stored", kind, t, usable))


class Doubler:
    """A processor of raw audio that writes one audio frame per chunk."""

    stream, name, writes = AUDIO, "doubler", ("audio",)

    def process(self, t, item, store):
        store.add_frame("audio", FeatureFrame(t, t + 0.02, np.full(4, 2.0 * item, np.float32)))

    def flush(self, store):
        pass


def test_the_stage_and_the_store_tell_the_observers_they_were_built_with():
    recorder = Recorder()
    store = FeatureStore(("audio", "vision"), listeners=(recorder.stored,))
    stage = FeatureStage(store, [Doubler()], observers=(recorder,))
    stage.push(AUDIO, 0.5, 1.0)
    assert stage.process_next(stage.processors[0], timeout=0.1)
    stage.push(feature_stream("vision"), 0.6, FeatureFrame(0.6, 0.64, np.zeros(4, np.float32), missing=True))
    stage.drain()
    assert recorder.events == [
        ("arrived", AUDIO, 0.5), ("picked", AUDIO, 0.5), ("stored", "audio", 0.5, True), ("ran", "doubler", True),
        ("arrived", feature_stream("vision"), 0.6), ("stored", "vision", 0.6, False),  # copying features: no run time
    ]
    assert not hasattr(stage, "latency") and not hasattr(stage, "latency_ms")  # the stage measures nothing itself


def test_the_monitor_counts_rates_and_run_times_it_observed():
    monitor = Monitor()
    store = FeatureStore(("audio",), listeners=(monitor.stored,))
    stage = FeatureStage(store, [Doubler()], observers=(monitor,))
    for k in range(10):  # 10 chunks in the last second
        stage.push(AUDIO, 1.0 + 0.1 * k, float(k))
    stage.drain()
    assert monitor.rate(AUDIO, now=1.95) == 10 / monitor.rate_span_s
    assert set(monitor.extract_ms) == {"doubler"}


def test_an_update_and_its_telemetry_round_trip_through_the_run_log(make_pipeline):
    pipeline = make_pipeline()
    update = pipeline.tick(1.0)
    assert isinstance(update.telemetry, Telemetry) and update.telemetry.latency_ms["inference"] > 0
    line = update.to_json()
    # one flat line: the telemetry's fields beside the prediction's, no nested record
    assert {"latency_ms", "latency_pct", "dropped", "sources", "rates"} <= set(line) and "telemetry" not in line
    back = Update.from_json(line)
    assert back.to_json() == line
    assert back.telemetry.dropped == update.telemetry.dropped and back.modalities.keys() == update.modalities.keys()


def test_a_pipeline_whose_parts_were_not_wired_is_refused(sim_checkpoint):
    """Built by hand without its trigger and monitor in the store and stage, a pipeline would never
    update on events and would trace nothing: refused, with the way to build it."""
    import pytest

    from qamoe.inference import InferenceEngine
    from qamoe.realtime.pipeline import Pipeline, UpdateTrigger

    engine = InferenceEngine(sim_checkpoint)
    stage = FeatureStage(FeatureStore(engine.modalities))
    with pytest.raises(ValueError, match="Pipeline.build"):
        Pipeline(engine, stage, trigger=UpdateTrigger(), monitor=Monitor())
    built = Pipeline.build(engine)
    assert built.store.listeners[0] == built.monitor.stored  # the monitor notes the time before an update can wake
