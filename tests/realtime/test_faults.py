"""Faults: a recording that raises mid-stream, live sources that fail to open, die or stall. The
pipeline keeps publishing; the affected modality goes missing with the reason; devices are retried."""

from __future__ import annotations

import time

import numpy as np

from qamoe.extractors.base import FeatureFrame
from qamoe.realtime.clock import MonotonicClock, VirtualClock
from qamoe.realtime.fake import FakeCapture, ScriptedRecording
from qamoe.realtime.drivers import LiveDriver, ReplayDriver
from qamoe.realtime.sources import RETRYING, RUNNING, STALLED
from qamoe.realtime.streams import feature_stream


def features(modality: str, dim: int, seconds: float, rate: float = 5.0):
    stream = feature_stream(modality)
    return [(k / rate, stream, FeatureFrame(k / rate, (k + 1) / rate, np.ones(dim, np.float32)))
            for k in range(int(seconds * rate))]


def test_recording_that_raises_mid_stream_turns_its_modality_missing(make_pipeline, dims):
    vision = ScriptedRecording(features("vision", dims["vision"], 10), name="camera-file", fail_after=20)  # dies at 4 s
    audio = ScriptedRecording(features("audio", dims["audio"], 10), name="mic-file")
    pipeline = make_pipeline(sources=[vision, audio])
    updates = []
    pipeline.subscribe(updates.append)
    summary = ReplayDriver(pipeline, VirtualClock(), rate_hz=2, pace=None).run()
    assert updates[-1].t >= 9.5  # the run went on to the end of the healthy recording
    before = [u for u in updates if u.t <= 3.5]
    after = [u for u in updates if u.t >= 6]
    assert all(not u.modalities["vision"].missing for u in before)
    assert all(u.modalities["vision"].missing and "simulated read error" in u.modalities["vision"].reason for u in after)
    assert all(not u.modalities["audio"].missing for u in updates[1:])
    assert any(w.startswith("camera-file: failed at 3.80 s") and "OSError" in w for w in summary.warnings)
    assert "failed" in updates[-1].telemetry.sources["camera-file"]


def frame_maker(dim):
    return lambda t: FeatureFrame(t, t + 0.05, np.ones(dim, np.float32))


def run_live_until(make_pipeline, sources, done, timeout_s=60.0):
    """Runs the live driver until `done(updates)` holds (or `timeout_s` passes, for a failing test to
    report); waits for the events it asserts instead of guessing how long they take on a busy machine."""
    pipeline = make_pipeline(sources=sources)
    driver = LiveDriver(pipeline, MonotonicClock(), rate_hz=10)
    updates = []
    pipeline.subscribe(updates.append)
    driver.start()
    deadline = time.monotonic() + timeout_s
    try:
        while not done(list(updates)) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        driver.stop()
    return updates


def vision_missing(update, why=""):
    return update.modalities["vision"].missing and why in update.modalities["vision"].reason


def test_device_that_fails_to_open_is_reported_retried_and_the_rest_runs(make_pipeline, dims):
    camera = FakeCapture(feature_stream("vision"), frame_maker(dims["vision"]), name="camera 9", open_failures=2)
    camera.retry_s = 0.3
    mic = FakeCapture(feature_stream("audio"), frame_maker(dims["audio"]), name="mic")

    def retried_while_audio_ran(u):
        return "retrying" in u.telemetry.sources["camera 9"] and vision_missing(u, "camera 9 did not open") \
            and not u.modalities["audio"].missing

    updates = run_live_until(make_pipeline, [camera, mic], lambda us: any(map(retried_while_audio_ran, us))
                             and not vision_missing(us[-1]) and us[-1].telemetry.sources["camera 9"] == RUNNING)
    assert any(map(retried_while_audio_ran, updates))  # reported, and the other modality carried on
    assert camera.opens == 3 and not vision_missing(updates[-1])  # the third try worked
    assert updates[-1].telemetry.sources["camera 9"] == RUNNING


def test_device_that_dies_mid_stream_goes_missing_then_comes_back(make_pipeline, dims):
    camera = FakeCapture(feature_stream("vision"), frame_maker(dims["vision"]), name="camera 0", die_after=10)
    camera.retry_s = 1.5

    def down_then_back(us):
        down = [i for i, u in enumerate(us) if vision_missing(u, "unplugged")]
        return bool(down) and any(not vision_missing(u) for u in us[down[0]:])

    updates = run_live_until(make_pipeline, [camera], down_then_back)
    assert down_then_back(updates)  # reported while it was down, and back after the retry
    assert camera.opens == 2 and camera.restarts == 1


def test_stalled_device_reads_as_stalled_and_its_modality_goes_missing(make_pipeline, dims):
    camera = FakeCapture(feature_stream("vision"), frame_maker(dims["vision"]), name="camera 0", stall_after=5)
    camera.stall_s = 0.5
    updates = run_live_until(make_pipeline, [camera], lambda us: bool(us) and vision_missing(us[-1], "stalled"))
    last = updates[-1]
    assert last.telemetry.sources["camera 0"].startswith(STALLED)
    assert vision_missing(last, "stalled")
    assert camera.state().state not in (RETRYING,)


class BrokenExtractor:
    """A processor whose extractor raises on every chunk (a corrupt model, a bad frame)."""

    stream, name, writes = "audio", "audio", ("audio",)

    def process(self, t, item, store):
        raise RuntimeError("extractor exploded")

    def flush(self, store):
        pass


def test_extractor_that_raises_is_reported_and_its_modality_goes_missing(make_pipeline, dims):
    from qamoe.extractors.base import AudioChunk

    chunks = [(k * 0.1 + 0.1, "audio", AudioChunk(k * 0.1, np.zeros(1600, np.float32), 16000)) for k in range(30)]
    vision = features("vision", dims["vision"], 3)
    pipeline = make_pipeline(processors=[BrokenExtractor()],
                             sources=[ScriptedRecording(chunks, name="mic-file"), ScriptedRecording(vision, name="cam-file")])
    updates = []
    pipeline.subscribe(updates.append)
    ReplayDriver(pipeline, VirtualClock(), rate_hz=2, pace=None).run()
    last = updates[-1]
    assert last.telemetry.sources["extractor audio"] == "error: RuntimeError: extractor exploded"
    assert last.modalities["audio"].missing and not last.modalities["vision"].missing
