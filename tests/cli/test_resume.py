"""A training run killed by a real SIGKILL at a random moment resumes to the same result."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

ARGS = ["--sizes", "160,48,48", "--epochs", "6", "--d-model", "32", "--num-experts", "4", "--top-k", "2", "--seed", "3"]


def train_cmd(out, *extra):
    return [sys.executable, "-m", "qamoe.cli.train", "--out", str(out), *ARGS, *extra]


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def comparable(metrics_path):
    m = json.loads(metrics_path.read_text())
    return {k: m[k] for k in ("valid", "test", "best_epoch", "history")}


def wait_for_saved_epoch(proc, pointer, epoch: int, timeout_s: float = 300) -> float:
    """Waits until the running `proc` has saved the state of `epoch` (latest.json is written atomically);
    returns time.monotonic() when it saw it."""
    deadline = time.monotonic() + timeout_s
    while not (pointer.exists() and json.loads(pointer.read_text())["epoch"] >= epoch):
        assert proc.poll() is None, f"training ended (exit {proc.returncode}) before it saved epoch {epoch}"
        assert time.monotonic() < deadline, f"no state of epoch {epoch} after {timeout_s} s"
        time.sleep(0.01)
    return time.monotonic()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "whole"
    subprocess.run(train_cmd(out), check=True, capture_output=True, env=env(), timeout=600)
    return out


def test_killed_run_resumes_to_identical_metrics(tmp_path, uninterrupted):
    out = tmp_path / "killed"
    rng = random.Random()
    proc = subprocess.Popen(train_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    pointer = out / "train_state" / "latest.json"
    first = wait_for_saved_epoch(proc, pointer, 1)
    second = wait_for_saved_epoch(proc, pointer, 2)
    # somewhere in epoch 3 of 6, possibly mid-write: a random part of an epoch's length as measured on
    # this run, so a fast or a loaded machine still kills it with three epochs to spare
    time.sleep(rng.uniform(0.0, 1.0) * (second - first))
    if proc.poll() is not None:
        pytest.fail("training finished before it could be killed; make the run longer")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()

    # without --resume the interrupted run is protected, not overwritten
    refused = subprocess.run(train_cmd(out), capture_output=True, text=True, env=env(), timeout=300)
    assert refused.returncode == 2 and "--resume" in refused.stderr and "--resume" not in refused.stdout

    done = subprocess.run(train_cmd(out, "--resume"), capture_output=True, text=True, env=env(), timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert comparable(out / "metrics.json") == comparable(uninterrupted / "metrics.json")
    assert not (out / "train_state").exists()  # cleaned up once the run completed


def test_partial_state_directory_from_a_killed_write_is_ignored(tmp_path, uninterrupted):
    """Simulates a kill in the middle of writing epoch 3's state: epoch 2 is what resumes."""
    out = tmp_path / "partial"
    proc = subprocess.Popen(train_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    pointer = out / "train_state" / "latest.json"
    wait_for_saved_epoch(proc, pointer, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epoch = json.loads(pointer.read_text())["epoch"]
    half = out / "train_state" / f"epoch-{epoch + 1:04d}"
    half.mkdir(exist_ok=True)
    (half / "state.safetensors").write_bytes(b"\x00" * 64)  # a torn write
    done = subprocess.run(train_cmd(out, "--resume"), capture_output=True, text=True, env=env(), timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert comparable(out / "metrics.json") == comparable(uninterrupted / "metrics.json")
