"""Faults: a recording that raises mid-stream, live sources that fail to open, die or stall. The
pipeline keeps publishing; the affected modality goes missing with the reason; devices are retried."""

from __future__ import annotations

import time

import numpy as np

from qamoe.extractors.base import FeatureFrame
from qamoe.realtime.clock import MonotonicClock, VirtualClock
from qamoe.realtime.fake import FakeCapture, ScriptedRecording
from qamoe.realtime.replay import ReplayDriver
from qamoe.realtime.sources import RETRYING, RUNNING, STALLED
from qamoe.realtime.streams import feature_stream
from qamoe.realtime.threaded import LiveDriver


def features(modality: str, dim: int, seconds: float, rate: float = 5.0):
    stream = feature_stream(modality)
    return [(k / rate, stream, FeatureFrame(k / rate, (k + 1) / rate, np.ones(dim, np.float32)))
            for k in range(int(seconds * rate))]


def test_recording_that_raises_mid_stream_turns_its_modality_missing(make_pipeline):
    pipeline = make_pipeline()
    dims = pipeline.engine.dims
    vision = ScriptedRecording(features("vision", dims["vision"], 10), name="camera-file", fail_after=20)  # dies at 4 s
    audio = ScriptedRecording(features("audio", dims["audio"], 10), name="mic-file")
    updates = []
    pipeline.subscribe(updates.append)
    summary = ReplayDriver(pipeline, [vision, audio], VirtualClock(), rate_hz=2, pace=None).run()
    assert updates[-1].t >= 9.5  # the run went on to the end of the healthy recording
    before = [u for u in updates if u.t <= 3.5]
    after = [u for u in updates if u.t >= 6]
    assert all(not u.modalities["vision"].missing for u in before)
    assert all(u.modalities["vision"].missing and "simulated read error" in u.modalities["vision"].reason for u in after)
    assert all(not u.modalities["audio"].missing for u in updates[1:])
    assert any(w.startswith("camera-file: failed at 3.80 s") and "OSError" in w for w in summary.warnings)
    assert "failed" in updates[-1].sources["camera-file"]


def frame_maker(dim):
    return lambda t: FeatureFrame(t, t + 0.05, np.ones(dim, np.float32))


def run_live(pipeline, sources, seconds):
    driver = LiveDriver(pipeline, sources, MonotonicClock(), rate_hz=10)
    updates = []
    pipeline.subscribe(updates.append)
    driver.start()
    try:
        time.sleep(seconds)
    finally:
        driver.stop()
    return updates


def test_device_that_fails_to_open_is_reported_retried_and_the_rest_runs(make_pipeline):
    pipeline = make_pipeline()
    dims = pipeline.engine.dims
    camera = FakeCapture(feature_stream("vision"), frame_maker(dims["vision"]), name="camera 9", open_failures=2)
    camera.retry_s = 0.3
    mic = FakeCapture(feature_stream("audio"), frame_maker(dims["audio"]), name="mic")
    updates = run_live(pipeline, [camera, mic], 1.6)
    early = updates[2]
    assert early.modalities["vision"].missing and "camera 9 did not open" in early.modalities["vision"].reason
    assert "retrying" in early.sources["camera 9"]
    assert not early.modalities["audio"].missing  # the other modality carries on
    assert camera.opens == 3 and not updates[-1].modalities["vision"].missing  # the third try worked
    assert updates[-1].sources["camera 9"] == RUNNING


def test_device_that_dies_mid_stream_goes_missing_then_comes_back(make_pipeline):
    pipeline = make_pipeline()
    camera = FakeCapture(feature_stream("vision"), frame_maker(pipeline.engine.dims["vision"]), name="camera 0", die_after=10)
    camera.retry_s = 1.5
    seen_states = []
    pipeline.subscribe(lambda u: seen_states.append((u.modalities["vision"].missing, u.modalities["vision"].reason)))
    updates = run_live(pipeline, [camera], 3.2)
    reasons = [r for missing, r in seen_states if missing]
    assert any("unplugged" in r for r in reasons)  # reported while it was down
    assert camera.opens == 2 and camera.restarts == 1
    assert not updates[-1].modalities["vision"].missing  # and back after the retry


def test_stalled_device_reads_as_stalled_and_its_modality_goes_missing(make_pipeline):
    pipeline = make_pipeline()
    camera = FakeCapture(feature_stream("vision"), frame_maker(pipeline.engine.dims["vision"]), name="camera 0", stall_after=5)
    camera.stall_s = 0.5
    updates = run_live(pipeline, [camera], 2.0)
    last = updates[-1]
    assert camera.state().state == STALLED or last.sources["camera 0"].startswith(STALLED)
    assert last.modalities["vision"].missing and "stalled" in last.modalities["vision"].reason
    assert camera.state().state not in (RETRYING,)


class BrokenExtractor:
    """A processor whose extractor raises on every chunk (a corrupt model, a bad frame)."""

    stream, name = "audio", "audio"

    def process(self, t, item, store):
        raise RuntimeError("extractor exploded")

    def flush(self, store):
        pass


def test_extractor_that_raises_is_reported_and_its_modality_goes_missing(make_pipeline):
    from qamoe.extractors.base import AudioChunk

    pipeline = make_pipeline(processors=[BrokenExtractor()])
    dims = pipeline.engine.dims
    chunks = [(k * 0.1 + 0.1, "audio", AudioChunk(k * 0.1, np.zeros(1600, np.float32), 16000)) for k in range(30)]
    vision = features("vision", dims["vision"], 3)
    updates = []
    pipeline.subscribe(updates.append)
    ReplayDriver(pipeline, [ScriptedRecording(chunks, name="mic-file"), ScriptedRecording(vision, name="cam-file")],
                 VirtualClock(), rate_hz=2, pace=None).run()
    last = updates[-1]
    assert last.sources["extractor audio"] == "error: RuntimeError: extractor exploded"
    assert last.modalities["audio"].missing and not last.modalities["vision"].missing
