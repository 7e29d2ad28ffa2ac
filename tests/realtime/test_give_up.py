"""qamoe-live with no working source, run logs that cannot be written, and replays stopped early
(issue 14): one clear line, a JSONL that says so, and no false "truncated" warning."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest

from qamoe.cli.live import main
from support.cli import exit_code
from qamoe.realtime.runlog import JsonlLog, read_events, read_jsonl


def run(argv):
    return exit_code(main, argv)


def test_jsonl_naming_a_folder_or_a_missing_folder_is_refused_up_front(tmp_path, capsys):
    assert run(["--demo", "--no-tui", "--fast", "--duration", "1", "--jsonl", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is a folder" in err and "Traceback" not in err
    missing = tmp_path / "no" / "such" / "dir" / "run.jsonl"
    assert run(["--demo", "--no-tui", "--fast", "--duration", "1", "--jsonl", str(missing)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()  # never created silently


def test_a_full_disk_stops_the_log_at_its_last_complete_line(tmp_path):
    path = tmp_path / "run.jsonl"
    log = JsonlLog(path)
    log.event("note", "first line")
    real_write = log._file.write

    def full(text):
        real_write(text[: len(text) // 2])  # part of the line reached the disk
        log._file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    log._file.write = full
    log.event("note", "second line")  # never raises into the pipeline
    log.event("note", "third line")
    log.close()
    assert log.error is not None and "No space left on device" in log.error and "line 1" in log.error
    lines = path.read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["first line"]  # no cut-off last line


def test_a_session_whose_log_failed_exits_non_zero(tmp_path, capsys, monkeypatch):
    import qamoe.realtime.runlog as runlog

    real_call = runlog.JsonlLog.__call__

    def fail_after_three(self, update):
        if self.lines >= 3:
            self.error = f"{self.path}: No space left on device; the log stops at line {self.lines}"
            return
        real_call(self, update)

    monkeypatch.setattr(runlog.JsonlLog, "__call__", fail_after_three)
    out = tmp_path / "run.jsonl"
    assert run(["--demo", "--no-tui", "--fast", "--duration", "3", "--jsonl", str(out)]) == 5
    err = " ".join(capsys.readouterr().err.split())
    assert "run log not complete" in err and "No space left on device" in err
    assert len(read_jsonl(out)) == 3


@pytest.mark.slow
def test_no_working_source_is_said_plainly_and_given_up_on(tmp_path, capsys):
    """No camera 7 and no microphone 99 here (nor in CI): a plain line on screen and in the JSONL at
    once, updates flagged no_input, and exit code 4 after --give-up-after seconds."""
    pytest.importorskip("cv2")
    out = tmp_path / "devices.jsonl"
    code = run(["--camera", "7", "--mic", "99", "--no-tui", "--jsonl", str(out), "--give-up-after", "2", "--duration", "30"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 4 and "Traceback" not in err
    assert "no working source: camera 7" in err and "gave up: no working source for 2 s" in err
    events = read_events(out)
    assert [e["event"] for e in events] == ["no_source", "gave_up"]
    assert "camera 7" in events[0]["message"] and "mic 99" in events[0]["message"]
    assert events[1]["t"] < 30  # gave up, before --duration would have ended the run
    updates = read_jsonl(out)
    assert updates and all(u["no_input"] for u in updates)


def test_give_up_after_must_be_a_number_of_seconds(capsys):
    assert run(["--camera", "7", "--no-tui", "--give-up-after", "-1"]) == 2
    assert "--give-up-after" in capsys.readouterr().err


def test_a_replay_stopped_early_is_not_called_truncated_but_a_cut_file_is(tmp_path, write_tone_video):
    from qamoe.realtime.mediafile import MediaRecording

    whole = write_tone_video(tmp_path / "whole.mp4")
    recording = MediaRecording(str(whole))
    for t, _, _ in recording.items():  # what --duration 2 or Ctrl-C does: stop reading early
        if t > 2.0:
            break
    assert not any("truncated" in w for w in recording.warnings())
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    recording = MediaRecording(str(cut))
    for _ in recording.items():
        pass
    assert any("looks truncated" in w for w in recording.warnings())


def test_a_complete_slow_frame_rate_file_is_not_called_truncated(tmp_path):
    """A 0.5 fps file's last frame is at 4 s of 6: it lasts until 6 s, the media is whole."""
    from fractions import Fraction

    from support.media import write_media

    from qamoe.extractors.clip import ClipExtractor
    from qamoe.realtime.mediafile import MediaRecording

    frames = [(t, np.full((96, 96, 3), 60 * i, np.uint8)) for i, t in enumerate((0, 2, 4))]
    path = write_media(tmp_path / "slow.mp4", frames, fps=Fraction(1, 2))
    recording = MediaRecording(str(path))
    times = [t for t, _, _ in recording.items()]
    assert times == [0.0, 2.0, 4.0] and recording.duration == pytest.approx(6.0)
    assert recording.warnings() == []
    clip = ClipExtractor(face_detector=False).extract(path)
    assert not any("truncated" in w for w in clip.warnings), clip.warnings


def test_the_no_source_message_reaches_the_dashboard_even_before_it_exists():
    from types import SimpleNamespace

    from rich.console import Console

    from qamoe.realtime.notices import Notices

    notices = Notices(err=Console(stderr=True), tui=True)
    notices("no_source", "no working source: camera 7 retrying")
    dashboard = SimpleNamespace(message="")
    notices.attach(dashboard)  # what the run does when it builds the dashboard
    assert "no working source" in dashboard.message
    notices("source_ok", "a source works again: camera 7")
    assert dashboard.message == ""


def test_the_run_summary_gives_no_sentiment_made_from_nothing():
    from qamoe.realtime.summary import RunStats
    from qamoe.realtime.update import ModalityStatus, Update

    def update(t, missing):
        mods = {m: ModalityStatus(reliability=0.35, missing=missing, reason="camera 7 retrying" if missing else "")
                for m in ("text", "audio", "vision")}
        return Update(seq=int(t * 5), t=t, sentiment=0.14, std=1.8, label="neutral", modalities=mods)

    stats = RunStats()
    for i in range(10):
        stats.add(update(i * 0.2, missing=True))
    assert stats.lines()[0] == "10 updates over 1.8 s, none with any input: no sentiment"
    stats.add(update(2.0, missing=False))
    assert "mean sentiment +0.14 (10 without any input left out)" in stats.lines()[0]
