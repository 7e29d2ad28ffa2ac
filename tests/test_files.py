"""Atomic writes: the target holds the old content or the whole new one, never a part, and no
temporary file is left behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qamoe.files import atomic_open, atomic_path, atomic_write_json, atomic_write_npz, atomic_write_text


def test_writes_replace_the_target_and_leave_nothing_else(tmp_path):
    target = tmp_path / "deep" / "er" / "x.json"
    atomic_write_json(target, {"a": 1, "b": float("nan")})
    assert json.loads(target.read_text())["a"] == 1 and target.read_text().endswith("\n")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    atomic_write_npz(tmp_path / "a.npz", {"x": np.arange(3)})
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert z["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.npz", "x.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w", newline="") as handle:
            handle.write("half of the new")
            assert target.read_text() == "old"  # nothing visible under the real name while writing
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_nested_paths_replace_both_files_only_when_both_are_complete(tmp_path):
    first, second = tmp_path / "weights", tmp_path / "config"
    with pytest.raises(ValueError):
        with atomic_path(second) as b, atomic_path(first) as a:
            a.write_bytes(b"new weights")
            raise ValueError("the config could not be written")
    assert not first.exists() and not second.exists() and not list(tmp_path.iterdir())
    with atomic_path(second) as b, atomic_path(first) as a:
        a.write_bytes(b"w")
        b.write_bytes(b"c")
    assert first.read_bytes() == b"w" and second.read_bytes() == b"c"


def test_a_full_disk_names_the_file_that_could_not_be_written(tmp_path, monkeypatch):
    """A write or fsync that fails with ENOSPC carries no file name; the error must say which file
    (qamoe-* commands print it as "could not write PATH: No space left on device")."""
    import errno
    import os

    target = tmp_path / "run" / "results.json"
    target.parent.mkdir()
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # the disk fills as the data is flushed
    with pytest.raises(OSError) as caught:
        atomic_write_json(target, {"a": 1})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["results.json"]
