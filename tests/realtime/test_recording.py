"""qamoe-calibrate records through the live sources: their retries apply, and a dead device is named."""

from __future__ import annotations

import pytest

from qamoe.realtime.recording import RecordingError, record
from qamoe.realtime.fake import FakeCapture


def test_a_device_that_opens_on_the_second_try_is_waited_for_and_recorded():
    mic = FakeCapture("audio", lambda t: t, period_s=0.01, name="mic", open_failures=1)
    mic.retry_s = 0.05
    camera = FakeCapture("video", lambda t: t, period_s=0.02, name="camera")
    items = record([mic, camera], 0.3, give_up_s=30)
    assert mic.opens == 2
    assert len(items["audio"]) > 0 and len(items["video"]) > 0
    assert items["audio"] == sorted(items["audio"])  # in arrival (capture) order


def test_a_device_that_never_opens_is_named_with_its_state():
    camera = FakeCapture("video", lambda t: t, name="camera 7", open_failures=10**6)
    camera.retry_s = 0.05
    with pytest.raises(RecordingError, match=r"camera 7: retrying: camera 7 did not open"):
        record([camera], 0.1, give_up_s=0.3)
