"""`qamoe-extract` reruns follow the content of what defines a clip (media file, labels row, extractor
settings), and hostile tables, folders and disks end in one clear line. The extractors are replaced by
a fast stand-in that counts its calls (the real ones are tested in test_extract.py)."""

import errno
import json

import numpy as np
import pytest

from qamoe.cli import extract
from qamoe.data.extracted import load_extracted
from qamoe.extractors import clip as clip_module
from qamoe.extractors.clip import ClipFeatures, describe


class FakeExtractor:
    calls: list = []

    def __init__(self, **config):
        self.config = config
        self.dims = {m["dim"] and k: m["dim"] for k, m in describe(config)["modalities"].items()}

    def extract(self, path, start=None, end=None, transcript=None):
        FakeExtractor.calls.append((str(path), start, end, self.config["fps"]))
        data = np.frombuffer(open(path, "rb").read()[:64].ljust(64, b"\0"), np.uint8).astype(np.float32)
        feats = {m: np.tile(data[: 1 + i], (3, d // (1 + i) + 1))[:, :d] for i, (m, d) in enumerate(self.dims.items())}
        times = {m: np.zeros((3, 2)) for m in self.dims}
        return ClipFeatures(feats, times, {m: 3 for m in self.dims})


@pytest.fixture
def fake(monkeypatch):
    FakeExtractor.calls = []
    monkeypatch.setattr(clip_module, "ClipExtractor", FakeExtractor)
    monkeypatch.setattr(extract, "_EXTRACTOR", None)
    return FakeExtractor


@pytest.fixture
def folder(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b", "c"):
        (videos / f"{name}.mp4").write_bytes(name.encode() * 100)
    return tmp_path


def write_labels(folder, rows, name="labels.csv"):
    path = folder / name
    path.write_text("video_id,segment,start,end,label,split\n" + "".join(f"{r}\n" for r in rows))
    return path


def run(folder, labels, *extra):
    return extract.main(["--videos", str(folder / "videos"), "--labels", str(labels), "--out", str(folder / "out"), *extra])


ROWS = ["a,0,0,1,1.5,train", "b,0,0,1,-1.0,valid", "c,0,0,1,0.5,test"]


def clip_meta(folder, stem):
    return json.loads((folder / "out" / "clips" / f"{stem}.json").read_text())


def test_a_changed_label_or_split_is_picked_up_on_rerun_without_re_extracting(fake, folder):
    assert run(folder, write_labels(folder, ROWS)) == 0
    assert len(fake.calls) == 3
    changed = write_labels(folder, ["a,0,0,1,-2.5,valid", "b,0,0,1,-1.0,train", "c,0,0,1,0.5,test"], "new.csv")
    assert run(folder, changed) == 0
    assert len(fake.calls) == 3  # same media, same settings: features reused
    assert clip_meta(folder, "a__0")["clip"]["label"] == -2.5 and clip_meta(folder, "a__0")["clip"]["split"] == "valid"
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    assert manifest["labels"] == str(changed)
    data = load_extracted(folder / "out")
    assert data.splits["valid"].ids == ["a$_$0"] and data.splits["valid"].labels.tolist() == [-2.5]
    assert data.splits["train"].ids == ["b$_$0"]


def test_a_changed_extractor_or_media_file_re_extracts_and_removed_rows_leave(fake, folder):
    labels = write_labels(folder, ROWS)
    assert run(folder, labels) == 0 and len(fake.calls) == 3
    assert run(folder, labels, "--fps", "10") == 0  # other settings: every clip again, never mixed
    assert len(fake.calls) == 6 and {c[3] for c in fake.calls[3:]} == {10.0}
    assert json.loads((folder / "out" / "manifest.json").read_text())["config"]["fps"] == 10.0
    (folder / "videos" / "b.mp4").write_bytes(b"new content" * 50)  # the file changed in place
    assert run(folder, labels, "--fps", "10") == 0
    assert len(fake.calls) == 7 and fake.calls[-1][0].endswith("b.mp4")
    assert run(folder, write_labels(folder, ROWS[:2])) == 0  # c's row is gone from the table: nothing failed
    assert not (folder / "out" / "clips" / "c__0.json").exists()
    changed_times = write_labels(folder, ["a,0,0,2,1.5,train", "b,0,0,1,-1.0,valid"])
    assert run(folder, changed_times) == 0
    assert fake.calls[-1][:3] == (str(folder / "videos" / "a.mp4"), 0.0, 2.0)


def test_cmu_mosi_layout_without_its_standard_folds_is_refused_not_hash_split(fake, folder, monkeypatch, capsys):
    monkeypatch.setenv("QAMOE_SHARED_DATA", str(folder / "nowhere"))
    table = folder / "OpinionLevelSentiment.csv"
    table.write_text("0.0,1.0,a,1,1.5\n0.0,1.0,tmZoasNr4rU,1,-1\n")
    assert run(folder, table) == 2
    err = capsys.readouterr().err
    assert "standard folds" in err and "--folds hash" in err and "Traceback" not in err
    assert not (folder / "out").exists()
    assert run(folder, table, "--folds", "hash") == 0  # asked for explicitly: allowed


@pytest.mark.parametrize("content, message", [
    (b"video_id,label\n\xff\xfebad,1\n", "not UTF-8"),
    (b"video_id,label\na,1e300\n", "outside"),
    (b"video_id,label\na,1\na,-2\n", "contradictory labels 1 and -2"),
    (b"video_id,label\na,1\na,1\n", "labelled twice"),
])
def test_hostile_labels_tables_end_in_one_clear_line(fake, folder, capsys, content, message):
    table = folder / "labels.csv"
    table.write_bytes(content)
    assert run(folder, table) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3
    assert fake.calls == []


def test_the_same_file_name_in_two_subfolders_is_refused(fake, folder, capsys):
    for sub in ("one", "two"):
        (folder / "videos" / sub).mkdir()
        (folder / "videos" / sub / "d.mp4").write_bytes(sub.encode() * 10)
    assert run(folder, write_labels(folder, ["d,0,0,1,1,train"])) == 2
    err = capsys.readouterr().err
    assert "2 media files are named d" in err and "one" in err and "two" in err
    assert fake.calls == []


@pytest.mark.parametrize("option", [["--fps", "0"], ["--fps", "-3"], ["--fps", "nan"], ["--workers", "0"], ["--limit", "0"]])
def test_bad_numbers_are_refused_before_any_work(fake, folder, capsys, option):
    with pytest.raises(SystemExit) as exit_:
        run(folder, write_labels(folder, ROWS), *option)
    assert exit_.value.code == 2 and option[0] in capsys.readouterr().err
    assert fake.calls == [] and not (folder / "out").exists()


def test_out_naming_a_file_is_refused(fake, folder, capsys):
    (folder / "out").write_text("precious")
    assert run(folder, write_labels(folder, ROWS)) == 2
    assert "is a file" in capsys.readouterr().err
    assert (folder / "out").read_text() == "precious"


def test_disk_full_mid_run_is_one_line_and_a_rerun_finishes(fake, folder, monkeypatch, capsys):
    labels = write_labels(folder, ROWS)
    from qamoe.extractors import shards

    real = shards.write_clip
    written = []

    def fill_disk(out, record, *args, **kwargs):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "clips" / f"{record.file_stem}.npz"))
        written.append(record)
        return real(out, record, *args, **kwargs)

    monkeypatch.setattr(extract, "_extract_one", extract._extract_one)
    monkeypatch.setattr(shards, "write_clip", fill_disk)
    assert run(folder, labels) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "rerun" in err and "Traceback" not in err
    monkeypatch.setattr(shards, "write_clip", real)
    assert run(folder, labels) == 0
    assert json.loads((folder / "out" / "summary.json").read_text())["skipped"] == 1
    assert len(load_extracted(folder / "out").splits["test"].ids) == 1


def test_ctrl_c_during_extraction_is_one_line(fake, folder, monkeypatch, capsys):
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(FakeExtractor, "extract", interrupt)
    assert run(folder, write_labels(folder, ROWS)) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err and "KeyboardInterrupt" not in err


def test_ctrl_c_with_worker_processes_is_one_line_and_leaves_no_worker(tmp_path, write_tone_video):
    """The real thing: qamoe-extract --workers 2 in its own process, SIGINT after the first clip."""
    import glob
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    for module in ("av", "faster_whisper", "silero_vad", "transformers", "mediapipe"):
        pytest.importorskip(module)

    videos = tmp_path / "videos"
    videos.mkdir()
    rows = []
    for i in range(10):
        write_tone_video(videos / f"w{i}.mp4", seconds=4)
        rows.append(f"w{i},0,0,4,0.5,{['train', 'valid', 'test'][i % 3]}")
    labels = write_labels(tmp_path, rows)
    marker = f"qamoe-test-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "QAMOE_TEST_MARKER": marker}
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qamoe.cli.extract", "--videos", str(videos), "--labels", str(labels), "--out", str(out),
         "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while not glob.glob(str(out / "clips" / "*.json")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "extraction finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr

    def running_workers() -> list[str]:
        left = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker.encode() in environ.read_bytes():
                    left.append(environ.parent.name)
            except OSError:
                pass
        return left

    deadline = time.monotonic() + 30  # workers exit on their own after the parent: wait for that, not a fixed time
    while (left := running_workers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"worker processes left running: {left}"


