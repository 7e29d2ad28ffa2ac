"""The threaded live driver: a slow consumer drops (and counts) instead of growing; the recording
player re-stamps a file onto the live clock; the store expires old frames without calling it loss."""

from __future__ import annotations

import time

import numpy as np
import pytest

from qamoe.extractors.base import AudioChunk, FeatureFrame
from qamoe.realtime.clock import MonotonicClock
from qamoe.realtime.fake import FakeCapture, ScriptedRecording
from qamoe.realtime.player import RecordingPlayer
from qamoe.realtime.store import FeatureStore
from qamoe.realtime.streams import AUDIO, feature_stream
from qamoe.realtime.drivers import LiveDriver
from qamoe.realtime.stage import CAPACITY


class SlowAudioFeatures:
    """A processor that needs 40 ms per chunk, fed 20 ms chunks: it must fall behind."""

    stream, name, writes = AUDIO, "slow", ("audio",)

    def __init__(self, dim):
        self.dim = dim
        self.processed = 0

    def process(self, t, item, store):
        time.sleep(0.04)
        self.processed += 1
        store.add_frame("audio", FeatureFrame(item.t, item.t + 0.02, np.ones(self.dim, np.float32)))

    def flush(self, store):
        pass


def test_slow_consumer_drops_oldest_counts_it_and_memory_stays_bounded(make_pipeline, dims):
    processor = SlowAudioFeatures(dims["audio"])
    mic = FakeCapture(AUDIO, lambda t: AudioChunk(t, np.zeros(320, np.float32), 16000), period_s=0.004, name="mic")
    pipeline = make_pipeline(processors=[processor], sources=[mic])
    driver = LiveDriver(pipeline, MonotonicClock(), rate_hz=10)
    updates = []
    pipeline.subscribe(updates.append)
    buffer = pipeline.stage.inboxes["slow"]
    longest = 0
    driver.start()
    deadline = time.monotonic() + 60  # waits for what it asserts; the bound only ends a failing run
    try:  # until the loss was published on 15 updates (the updater kept going while the consumer lagged)
        while time.monotonic() < deadline and sum(u.telemetry.dropped["audio→slow"] > 0 for u in list(updates)) < 15:
            longest = max(longest, *(len(b) for b in pipeline.stage.inboxes.values()))
            time.sleep(0.01)
    finally:
        driver.stop()
    assert longest <= CAPACITY["audio"]
    assert buffer.dropped > 0 and buffer.dropped + processor.processed + len(buffer) <= buffer.pushed
    assert sum(u.telemetry.dropped["audio→slow"] > 0 for u in updates) >= 15  # the loss is published, update after update
    assert not updates[-1].modalities["audio"].missing


def test_store_expires_old_frames_quietly_and_counts_real_overflow():
    store = FeatureStore(("audio",), capacity=12, keep_s=1.0)
    for k in range(30):  # 3 s at 10 frames/s: frames over 1 s old expire, nothing is lost
        store.add_frame("audio", FeatureFrame(k / 10, k / 10 + 0.1, np.zeros(2, np.float32)))
    assert store.buffers["audio"].dropped == 0 and len(store.buffers["audio"]) == 11
    for k in range(15):  # 15 fresh frames within 0.15 s into room for 12: three are lost, and counted
        store.add_frame("audio", FeatureFrame(10 + k / 100, 10.1, np.zeros(2, np.float32)))
    assert store.buffers["audio"].dropped == 3


def test_recording_player_restamps_items_onto_the_live_clock_and_loops():
    frames = [(k * 0.05, feature_stream("vision"), FeatureFrame(k * 0.05, k * 0.05 + 0.05, np.zeros(2, np.float32)))
              for k in range(6)]
    player = RecordingPlayer(lambda: ScriptedRecording(frames), loop=True)
    got = []
    clock = MonotonicClock()
    time.sleep(0.2)  # the clock has moved on: the player must not reuse media time 0
    player.start(lambda stream, t, item: got.append((t, item)), clock)
    deadline = time.monotonic() + 60  # waits for what it asserts; the bound only ends a failing run
    while (player.loops < 1 or len(got) < 8) and time.monotonic() < deadline:
        time.sleep(0.01)
    player.stop()
    assert player.loops >= 1 and len(got) >= 8
    assert got[0][0] >= 0.2  # stamped on the live clock, not from media time 0
    for t, item in got:
        assert item.start == pytest.approx(t, abs=1e-6)  # the item's own time is its capture time
    gaps = np.diff([t for t, _ in got])
    # real-time pacing: never faster than the recording (a loaded machine may only make it slower)
    assert np.all(gaps >= 0) and np.median(gaps) >= 0.045
