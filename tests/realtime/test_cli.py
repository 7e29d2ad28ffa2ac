"""`qamoe-live` end to end, headless: JSONL content, pace independence, summaries and clear errors."""

from __future__ import annotations

import json

import pytest

from support.cli import exit_code
from qamoe.cli.live import main
from qamoe.realtime.runlog import read_jsonl

TIMING_FIELDS = ("latency_ms", "latency_pct", "rates")  # wall-clock measurements: the only fields that may differ


def without_timing(updates):
    return [{k: v for k, v in u.items() if k not in TIMING_FIELDS} for u in updates]


def run_cli(*argv):
    return exit_code(main, argv)


def test_demo_headless_writes_one_json_object_per_update(sim_checkpoint_dir, tmp_path, capsys):
    out = tmp_path / "demo.jsonl"
    code = run_cli("--demo", "--checkpoint", str(sim_checkpoint_dir), "--no-tui", "--jsonl", str(out),
                   "--duration", "30", "--fast", "--rate", "4")
    assert code == 0
    updates = read_jsonl(out)
    assert len(updates) == 120 and [u["seq"] for u in updates] == list(range(120))
    first = updates[0]
    for key in ("t", "sentiment", "std", "label", "reliability", "transcript", "latency_ms", "dropped", "modalities",
                "face", "speech", "sources"):
        assert key in first
    assert set(first["reliability"]) == {"text", "audio", "vision"}
    assert first["latency_ms"]["inference"] > 0
    face_lost = [u for u in updates if 22 <= u["t"] <= 30]
    assert all(u["modalities"]["vision"]["missing"] and u["modalities"]["vision"]["reason"] == "no face" for u in face_lost)
    assert "wonderful" in updates[-1]["transcript"]
    err = capsys.readouterr().err
    assert "120 updates over 30.0 s" in err and "vision" in err


def test_demo_gives_the_same_output_paced_and_fast(sim_checkpoint_dir, tmp_path):
    runs = {}
    for mode in ("paced", "fast"):
        out = tmp_path / f"{mode}.jsonl"
        extra = ["--fast"] if mode == "fast" else []
        assert run_cli("--demo", "--checkpoint", str(sim_checkpoint_dir), "--no-tui", "--jsonl", str(out),
                       "--duration", "2.5", "--rate", "4", *extra) == 0
        runs[mode] = read_jsonl(out)
    assert len(runs["paced"]) == 10
    assert without_timing(runs["paced"]) == without_timing(runs["fast"])


def test_headless_without_a_log_prints_status_lines(sim_checkpoint_dir, capsys):
    assert run_cli("--demo", "--checkpoint", str(sim_checkpoint_dir), "--no-tui", "--duration", "3", "--fast") == 0
    out = capsys.readouterr().out
    lines = out.strip().split("\n")
    assert len(lines) == 3 and all(line.startswith("t ") and "r: text" in line for line in lines)


def test_jsonl_to_standard_output_is_pure_json(sim_checkpoint_dir, capsys):
    assert run_cli("--demo", "--checkpoint", str(sim_checkpoint_dir), "--no-tui", "--jsonl", "-", "--duration", "1", "--fast") == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 5 and all(json.loads(line)["label"] for line in lines)


@pytest.mark.parametrize("argv,message", [
    ([], "choose a source"),
    (["--demo", "--camera", "0"], "cannot be combined"),
    (["--camera", "0", "--fast"], "--fast only applies"),
    (["--demo", "--duration", "0"], "--duration must be a finite number of seconds above 0"),
    (["--demo", "--duration", "nan"], "--duration must be a finite number of seconds above 0"),
    (["--demo", "--duration", "inf"], "--duration must be a finite number of seconds above 0"),
    (["--demo", "--rate", "0"], "--rate must lie in (0, 50]"),
    (["--demo", "--rate", "nan"], "--rate must lie in (0, 50]"),
    (["--demo", "--max-rate", "inf"], "--max-rate must lie in (0, 100]"),
    (["--demo", "--give-up-after", "nan"], "--give-up-after must be 0 (never)"),
    (["--demo", "--checkpoint", "/nonexistent/ckpt"], "is not a checkpoint directory"),
])
def test_bad_arguments_give_one_clear_error(argv, message, capsys):
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_a_window_longer_than_the_store_keeps_is_refused(sim_checkpoint_dir, capsys):
    assert run_cli("--demo", "--checkpoint", str(sim_checkpoint_dir), "--window", "20", "--no-tui") == 2
    assert "window length must lie in (0, 10] seconds" in capsys.readouterr().err


def test_broken_or_mismatched_checkpoints_are_refused_clearly(tmp_path, sim_checkpoint, capsys):
    from qamoe.checkpoint import save_checkpoint

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    assert run_cli("--demo", "--checkpoint", str(bad)) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    # a checkpoint of other feature sizes (a media one) cannot read the simulator's features
    other = tmp_path / "other"
    save_checkpoint(other, sim_checkpoint)
    config = json.loads((other / "config.json").read_text())
    config["model"]["modalities"][0]["dim"] = 384
    (other / "config.json").write_text(json.dumps(config))
    assert run_cli("--demo", "--checkpoint", str(other)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err


def test_unreadable_video_files_end_with_a_clear_error(sim_checkpoint_dir, tmp_path, capsys):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01 this is not a video" * 100)
    for path, message in ((tmp_path / "absent.mp4", "no such file"), (garbage, "cannot open media")):
        assert run_cli("--video", str(path), "--no-tui", "--checkpoint", str(sim_checkpoint_dir)) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert message in err and "Traceback" not in err


def test_list_devices_names_what_is_there_or_says_there_is_none(capsys):
    assert run_cli("--list-devices") == 0
    out = capsys.readouterr().out
    assert "cameras (--camera N):" in out and "microphones" in out


def test_a_replay_ends_with_its_file_whatever_the_duration(tmp_path, capsys):
    """Issue 20, class 1: --duration past the end of the file kept publishing "no input" updates forever."""
    from support.media import write_tone_video

    clip = write_tone_video(tmp_path / "tone.mp4", seconds=3)
    log = tmp_path / "run.jsonl"
    assert run_cli("--video", str(clip), "--fast", "--no-tui", "--jsonl", str(log), "--duration", "1e9") == 0
    updates = [json.loads(line) for line in log.read_text().splitlines()]
    assert updates and updates[-1]["t"] <= 3.5
