"""`--camera N`: a webcam through OpenCV as a `CaptureSource` (VIDEO stream, RGB frames)."""

from __future__ import annotations

import glob
import os
import sys
from typing import Any, Iterable

import numpy as np

from qamoe.extractors.base import VideoFrame

from .clock import Clock
from .sources import CaptureSource, SourceError
from .streams import VIDEO


def _cv2():
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # failures are reported by us, in one clear line
    try:
        import cv2  # noqa: PLC0415
    except ImportError as exc:
        raise SourceError("the camera needs OpenCV: pip install opencv-python-headless") from exc
    if hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)
    return cv2


class CameraSource(CaptureSource):
    streams = (VIDEO,)

    def __init__(self, device: int | str = 0, *, width: int = 640, height: int = 480) -> None:
        super().__init__()
        self.device = int(device) if str(device).isdigit() else device
        self.name = f"camera {device}"
        self.width, self.height = width, height
        self._capture = None

    def open(self) -> None:
        cv2 = _cv2()
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"camera {self.device!r} did not open (no such device, or it is busy); see --list-devices")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._capture = capture

    def read(self, clock: Clock) -> Iterable[tuple[str, float, Any]]:
        ok, bgr = self._capture.read()
        t = clock.now()
        if not ok or bgr is None:
            raise SourceError(f"camera {self.device!r} stopped delivering frames")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])  # a copy: OpenCV reuses its buffer
        return [(VIDEO, t, VideoFrame(t, rgb))]

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def list_cameras(max_index: int = 4) -> list[str]:
    """Camera indices that open, as 'index: WxH'; empty when OpenCV or cameras are absent."""
    try:
        cv2 = _cv2()
    except SourceError:
        return []
    found = []
    indices = range(max_index)
    if sys.platform.startswith("linux"):  # only probe the video devices that exist
        indices = sorted(int(p[len("/dev/video"):]) for p in glob.glob("/dev/video*") if p[len("/dev/video"):].isdigit())
    for index in indices:
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(f"{index}: {int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}")
        capture.release()
    return found
