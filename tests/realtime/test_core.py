"""Clock, ring buffer and windowing: the device-free core of the live pipeline."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from qamoe.extractors.base import FeatureFrame
from qamoe.realtime.clock import MonotonicClock, VirtualClock
from qamoe.realtime.ringbuffer import RingBuffer
from qamoe.dataset import pool_frames
from qamoe.data.window import make_window


def test_virtual_clock_only_moves_forward_and_monotonic_clock_starts_near_zero():
    clock = VirtualClock()
    clock.advance_to(2.5)
    clock.advance_to(1.0)
    assert clock.now() == 2.5
    live = MonotonicClock()
    first, second = live.now(), live.now()
    assert 0 <= first <= second < 1.0


def test_ring_buffer_drops_oldest_and_counts_what_it_dropped():
    buffer = RingBuffer(3, name="b")
    for i in range(5):
        buffer.push(float(i), i)
    assert [s.item for s in buffer.pop_all()] == [2, 3, 4]
    assert (buffer.pushed, buffer.dropped, len(buffer)) == (5, 2, 0)
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)


def test_ring_buffer_reads_by_time_without_taking():
    buffer = RingBuffer(10)
    for t in (0.5, 1.0, 1.5, 2.0):
        buffer.push(t, t)
    assert [s.t for s in buffer.since(0.5, 1.5)] == [1.0, 1.5]
    assert buffer.latest().t == 2.0 and len(buffer) == 4


def test_ring_buffer_stays_bounded_and_consistent_under_concurrent_producers():
    buffer = RingBuffer(50)
    taken = []
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            taken.extend(buffer.pop_all(timeout=0.01))

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=lambda k=k: [buffer.push(i, (k, i)) for i in range(5000)]) for k in range(4)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    stop.set()
    consumer.join()
    taken.extend(buffer.pop_all())
    assert buffer.pushed == 20000
    assert len(taken) + buffer.dropped == 20000  # every item was either consumed or counted as dropped
    assert len(buffer) == 0


def frame(start, value=1.0, missing=False, dim=3):
    return FeatureFrame(start, start + 0.1, np.full(dim, value, np.float32), missing)


def test_window_is_missing_when_empty_or_all_frames_are_marked_missing():
    assert make_window([], 3, 8).missing
    window = make_window([frame(0.0, missing=True), frame(0.1, missing=True)], 3, 8)
    assert window.missing and window.seen == 2 and window.usable == 0


def test_window_keeps_only_usable_frames_in_order_and_cleans_non_finite_values():
    window = make_window([frame(0.0, 1), frame(0.1, missing=True), frame(0.2, np.nan)], 3, 8)
    assert not window.missing and window.usable == 2 and window.newest_end == pytest.approx(0.3)
    np.testing.assert_array_equal(window.values, [[1, 1, 1], [0, 0, 0]])


def test_window_is_missing_when_its_newest_usable_frame_is_stale():
    frames = [frame(0.0), frame(0.1), frame(0.2, missing=True)]
    assert not make_window(frames, 3, 8, fresh_after=0.1).missing
    assert make_window(frames, 3, 8, fresh_after=0.25).missing  # newest usable ended at 0.2


def test_pooling_bounds_the_sequence_and_keeps_the_mean():
    values = np.arange(400 * 2, dtype=np.float32).reshape(400, 2)
    pooled = pool_frames(values, 64)
    assert pooled.shape == (64, 2)
    assert pooled.mean() == pytest.approx(values.mean(), rel=1e-3)
    assert pool_frames(values[:10], 64).shape == (10, 2)


def test_pop_takes_the_oldest_item_or_times_out_empty():
    buffer = RingBuffer(2)
    assert buffer.pop(timeout=0.01) is None
    for t in (1.0, 2.0, 3.0):
        buffer.push(t, t)
    assert buffer.pop().t == 2.0 and buffer.pop().t == 3.0 and buffer.pop() is None
