"""--resume continues only the same run (settings and data), and qamoe-train's write failures end in
one line (issue 14). Tiny in-process runs on the simulator."""

from __future__ import annotations

import errno
import json

import pytest

from support.cli import exit_code
import qamoe.train as train_module
from qamoe.cli import train as train_cli

BASE = ["--sizes", "64,32,32", "--epochs", "2", "--d-model", "16", "--num-experts", "2", "--top-k", "1", "--seed", "3",
        "--batch-size", "16"]


def run(argv, capsys):
    code = exit_code(train_cli.main, argv)
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


@pytest.fixture
def interrupted(tmp_path, monkeypatch, capsys):
    """OUT holding a run stopped by Ctrl-C right after its first epoch was saved."""
    out = tmp_path / "run"
    real_save = train_module.save_train_state

    def save_then_interrupt(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_train_state", save_then_interrupt)
    code, text = run(["--out", str(out), *BASE], capsys)
    assert code == 130 and (out / "train_state" / "latest.json").is_file() and (out / "train_state" / "run.json").is_file()
    monkeypatch.setattr(train_module, "save_train_state", real_save)
    return out


def with_option(name, value):
    args = list(BASE)
    if name in args:
        args[args.index(name) + 1] = value
    else:
        args += [name, value]
    return args


@pytest.mark.parametrize("name, value, shown", [
    ("--seed", "4", "train.seed 3 -> 4"),
    ("--lr", "0.01", "train.lr 0.001 -> 0.01"),
    ("--data-seed", "1", "data"),
    ("--sizes", "64,32,33", "data"),
    ("--d-model", "32", "model.d_model 16 -> 32"),
    ("--epochs", "3", "train.epochs 2 -> 3"),
])
def test_resume_refuses_another_run(interrupted, capsys, name, value, shown):
    before = (interrupted / "train_state" / "latest.json").read_bytes()
    code, text = run(["--out", str(interrupted), *with_option(name, value), "--resume"], capsys)
    assert code == 2, text
    assert "--resume continues only the same run" in text and shown in text and "Traceback" not in text
    assert (interrupted / "train_state" / "latest.json").read_bytes() == before  # nothing touched
    assert not (interrupted / "metrics.json").exists()


def test_resume_of_the_same_run_finishes_it(interrupted, capsys):
    code, text = run(["--out", str(interrupted), *BASE, "--resume"], capsys)
    assert code == 0, text
    assert json.loads((interrupted / "metrics.json").read_text())["best_epoch"] in (1, 2)
    assert not (interrupted / "train_state").exists()


def test_a_state_without_its_run_record_is_not_resumed(interrupted, capsys):
    (interrupted / "train_state" / "run.json").unlink()
    code, text = run(["--out", str(interrupted), *BASE, "--resume"], capsys)
    assert code == 2 and "cannot be checked" in text


def test_out_naming_a_file_is_refused_before_training(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep me")
    code, text = run(["--out", str(target), *BASE], capsys)
    assert code == 2 and "is a file" in text and "epoch" not in text
    assert target.read_text() == "keep me"


def test_a_full_disk_when_writing_metrics_is_one_line(tmp_path, capsys, monkeypatch):
    def full(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(train_cli, "atomic_write_json", full)
    code, text = run(["--out", str(tmp_path / "run"), *with_option("--epochs", "1")], capsys)
    assert code == 1 and "No space left on device" in text and "metrics.json" in text and "Traceback" not in text


def test_resume_on_a_finished_checkpoint_changes_nothing(tmp_path, capsys):
    """`--resume --seed 7` typed on a folder that holds a finished run: refused, the checkpoint kept."""
    out = tmp_path / "done"
    assert run(["--out", str(out), *BASE], capsys)[0] == 0
    weights = (out / "model.safetensors").read_bytes()
    code, text = run(["--out", str(out), *with_option("--seed", "7"), "--resume"], capsys)
    assert code == 2 and "finished checkpoint" in text and "nothing was changed" in text
    assert (out / "model.safetensors").read_bytes() == weights and not (out / "train_state").exists()


def test_a_second_run_into_a_folder_in_use_is_refused(interrupted, capsys):
    from qamoe.train_state import OutFolderLock

    before = (interrupted / "train_state" / "latest.json").read_bytes()
    with OutFolderLock(interrupted):  # the first run, still training
        code, text = run(["--out", str(interrupted), *BASE, "--resume"], capsys)
    assert code == 2 and "still going" in text and "rerun" not in text
    assert (interrupted / "train_state" / "latest.json").read_bytes() == before
    assert run(["--out", str(interrupted), *BASE, "--resume"], capsys)[0] == 0  # the lock died with its holder


def test_a_run_stopped_before_its_first_epoch_leaves_nothing_in_the_way(tmp_path, monkeypatch, capsys):
    out = tmp_path / "early"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_train_state", interrupt)  # stopped before any epoch was saved
    assert run(["--out", str(out), *BASE], capsys)[0] == 130
    assert not (out / "train_state" / "latest.json").exists()
    monkeypatch.undo()
    code, text = run(["--out", str(out), *BASE], capsys)  # nothing to resume: a new run may start there
    assert code == 0 and "interrupted run" not in text and (out / "model.safetensors").is_file()
