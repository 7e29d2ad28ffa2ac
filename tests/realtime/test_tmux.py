"""A person's view: `qamoe-live --demo` in a real terminal (tmux, 80 x 24), read off the screen,
then quit with q; the terminal is handed back and the process exits 0."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, predicate, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if predicate(text):
            return text
        time.sleep(0.3)
    raise AssertionError(f"screen never matched; last screen:\n{text}")


@contextmanager
def demo_in_tmux(checkpoint, tmp_path, width: int, height: int):
    """Starts `qamoe-live --demo` in a detached tmux session of the given size; yields (session,
    exit_code()) where exit_code() waits up to 15 s for the process to end and returns its status."""
    session = f"qamoe-live-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "exit-code"
    command = f"{sys.executable} -m qamoe.cli.live --demo --checkpoint {checkpoint} --rate 5; echo $? > {done}; sleep 30"
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command)

    def exit_code() -> str:
        deadline = time.monotonic() + 15
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists(), f"qamoe-live did not end; screen:\n{screen(session)}"
        return done.read_text().strip()

    try:
        yield session, exit_code
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_demo_in_a_real_terminal_shows_the_dashboard_and_quits_on_q(sim_checkpoint_dir, tmp_path):
    with demo_in_tmux(sim_checkpoint_dir, tmp_path, 80, 24) as (session, exit_code):
        text = wait_for(session, lambda s: "r_m" in s and "transcript" in s and "t " in s, timeout=120)
        assert "QA-MoE Live" in text and "sentiment" in text
        assert all(m in text for m in ("text", "audio", "vision"))
        assert "face" in text and "speech" in text and "latency ms" in text
        assert max(len(line) for line in text.split("\n")) <= 80
        # time moves: the clock in the header advances
        first = next(line for line in text.split("\n") if "upd/s" in line)
        wait_for(session, lambda s: next((l for l in s.split("\n") if "upd/s" in l), first) != first, timeout=120)
        tmux("send-keys", "-t", session, "q")
        assert exit_code() == "0"
        after = screen(session)
        assert "upd/s" not in after  # the alternate screen is gone: the terminal is handed back
        assert "updates over" in after  # with the run's summary


def test_ctrl_c_stops_the_demo_cleanly_with_a_summary(sim_checkpoint_dir, tmp_path):
    with demo_in_tmux(sim_checkpoint_dir, tmp_path, 100, 30) as (session, exit_code):
        wait_for(session, lambda s: "r_m" in s and "upd/s" in s, timeout=120)
        tmux("send-keys", "-t", session, "C-c")
        assert exit_code() == "130"
        after = screen(session)
        assert "interrupted" in after and "updates over" in after and "Traceback" not in after
