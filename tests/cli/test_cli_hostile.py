"""Small CLI hostilities (issue 14): qamoe-eval --out naming a file is refused before any work, and
its --help keeps its examples on their own lines."""

from __future__ import annotations

import pytest

from qamoe.cli import evaluate
from support.cli import exit_code


def test_eval_out_naming_a_file_is_refused_up_front(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep me")
    with pytest.raises(SystemExit) as exit_:
        evaluate.main(["--checkpoint", str(tmp_path / "no-such-checkpoint"), "--out", str(target)])
    out = " ".join(capsys.readouterr().err.split())  # errors on stderr
    assert exit_.value.code == 2 and "is a file" in out and "Traceback" not in out
    assert target.read_text() == "keep me"


def test_eval_help_keeps_its_examples_apart(capsys):
    with pytest.raises(SystemExit) as exit_:
        evaluate.parse_args(["--help"])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    examples = [line for line in lines if line.strip().startswith("qamoe-eval --")]
    assert len(examples) >= 2, lines  # one example per line, not run into one paragraph
    assert any(line.strip().startswith("--checkpoint qamoe=") for line in lines)


def test_result_tables_into_a_file_are_not_cut_at_80_columns(tmp_path, capsys, monkeypatch):
    from qamoe.shipped import ASSETS

    monkeypatch.delenv("COLUMNS", raising=False)
    evaluate.main(["--checkpoint", str(ASSETS / "simulator"), "--out", str(tmp_path / "eval")])
    out = capsys.readouterr().out
    assert "…" not in out  # no ellipsised column
    for key in ("Has0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr"):
        assert key in out
    assert max(len(line) for line in out.splitlines()) > 80


@pytest.mark.parametrize("extra, message", [(["--seconds", "inf"], "--seconds must lie in"), (["--seconds", "0"], "--seconds must lie in")])
def test_calibrate_refuses_bad_seconds_before_recording(tmp_path, capsys, extra, message):
    from qamoe.cli import calibrate

    with pytest.raises(SystemExit) as exit_:
        calibrate.main(["--video", str(tmp_path / "any.mp4"), "--out", str(tmp_path / "p.json"), *extra])
    assert exit_.value.code == 2 and message in " ".join(capsys.readouterr().err.split())


def test_calibrate_out_naming_a_folder_is_refused_before_recording(tmp_path, capsys):
    from qamoe.cli import calibrate

    with pytest.raises(SystemExit) as exit_:
        calibrate.main(["--video", str(tmp_path / "any.mp4"), "--out", str(tmp_path)])
    out = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and "is a folder" in out and "Traceback" not in out


@pytest.mark.parametrize("flag, value, message", [
    ("--batch-size", "-4", "must be at least 1"),
    ("--batch-size", "0", "must be at least 1"),
    ("--lr", "inf", "must be a finite number"),
    ("--lr", "nan", "must be a finite number"),
    ("--lr", "0", "must be above 0"),
    ("--epochs", "0", "must be at least 1"),
    ("--epochs", "2.5", "not a whole number"),
    ("--top-k", "-1", "must be at least 1"),
    ("--beta-nll", "nan", "must be a finite number"),
])
def test_training_flags_out_of_range_are_refused_before_anything_is_written(tmp_path, capsys, flag, value, message):
    """Issue 20, class 3: --batch-size -4 trained nothing and exited 0 with a checkpoint; --lr inf ended
    in a traceback; a refused run left train_state/ behind, so the next valid run was refused."""
    from qamoe.cli import train

    out = tmp_path / "run"
    assert exit_code(train.main, ["--out", str(out), flag, value]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert flag in err and message in err and "Traceback" not in err
    assert not out.exists()
