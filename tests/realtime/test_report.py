"""qamoe-live --report: a picture of the run that holds the run's own numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qamoe.cli.live import main
from qamoe.realtime.replay_report import read_report
from support.cli import exit_code


@pytest.mark.parametrize("suffix", [".html", ".png"])
def test_a_demo_replay_writes_a_report_with_the_runs_numbers(tmp_path, capsys, suffix):
    report, jsonl = tmp_path / f"run{suffix}", tmp_path / "run.jsonl"
    code = exit_code(main, ["--demo", "--no-tui", "--fast", "--duration", "12", "--seed", "3",
                            "--jsonl", str(jsonl), "--report", str(report)])
    assert code == 0 and report.is_file()
    assert "report written" in capsys.readouterr().err
    data = read_report(report)
    logged = [json.loads(line) for line in jsonl.read_text().splitlines() if '"sentiment"' in line]
    assert len(data["updates"]) == len(logged) > 10
    np.testing.assert_allclose([r["sentiment"] for r in data["updates"]], [u["sentiment"] for u in logged], atol=1e-3)
    assert [r["missing"] for r in data["updates"]] == [{m: s["missing"] for m, s in u["modalities"].items()} for u in logged]
    assert data["words"] and all(w["start"] <= data["summary"]["t_end"] + 1 for w in data["words"])
    assert data["command"].startswith("qamoe-live") and "--seed 3" in data["command"]
    if suffix == ".png":
        from PIL import Image

        with Image.open(report) as image:
            pixels = np.asarray(image.convert("L"), np.float32)
        assert pixels.shape[1] > 800 and pixels.std() > 20  # a drawn figure, not a blank canvas
    else:
        text = report.read_text()
        assert "data:image/png;base64," in text and data["words"][0]["text"] in text


def test_a_report_path_that_cannot_be_written_is_refused_before_the_run(tmp_path, capsys):
    assert exit_code(main, ["--demo", "--no-tui", "--fast", "--duration", "2", "--report", str(tmp_path / "run.pdf")]) == 2
    assert ".html or .png" in capsys.readouterr().err
    missing = tmp_path / "no" / "such" / "run.html"
    assert exit_code(main, ["--demo", "--no-tui", "--fast", "--duration", "2", "--report", str(missing)]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())
