"""benchmarks/gpu_budget.sh, issue 22's full budget as one prepared GPU run, checked on the CPU with
`--quick` (one seed, one epoch, two models; the same commands as the full run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def budget(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "benchmarks/gpu_budget.sh"), *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHON": sys.executable, "RUNS": str(tmp_path / "runs"),
                               "OUT": str(tmp_path / "out"), **env})


def test_quick_budget_trains_evaluates_pairs_and_reuses_its_checkpoints(tmp_path):
    proc = budget(tmp_path, "--quick")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads((tmp_path / "out/budget.json").read_text())
    assert record["exit"] == 0 and record["device"] == "cpu" and record["seeds"] == [1111] and record["epochs"] == 1
    assert record["seeds_evaluated"] == [1111] and not record["bf16_autocast_in_training"]
    assert [p["phase"] for p in record["phases"]] == ["train", "evaluate"]
    assert all("--device cpu" in c for c in record["commands"])
    for name in ("qamoe", "late-fusion"):
        assert (tmp_path / "runs" / name / "seed1111" / "model.safetensors").is_file()
    result = json.loads((tmp_path / "out/baselines/baselines.json").read_text())
    assert result["reference"] == "qamoe" and set(result["paired"]) == {"late-fusion"}
    assert (tmp_path / "out/baselines/reliability.json").is_file() and (tmp_path / "out/baselines/REPORT.md").is_file()

    again = budget(tmp_path, "--quick")
    assert again.returncode == 0
    assert "already trained" in (tmp_path / "out/logs/train-1.log").read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_budget_on_a_machine_without_a_gpu_fails_plainly_and_says_so_in_its_record(tmp_path):
    proc = budget(tmp_path, "--quick", DEVICE="cuda")
    assert proc.returncode != 0
    log = (tmp_path / "out/logs/train-1.log").read_text()
    assert "no usable GPU" in log and "Traceback" not in log
    record = json.loads((tmp_path / "out/budget.json").read_text())
    assert record["exit"] != 0 and [p["phase"] for p in record["phases"]] == ["train"]


def test_budget_refuses_an_unknown_argument(tmp_path):
    proc = budget(tmp_path, "--fast")
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_a_budget_that_runs_out_of_time_says_so_and_evaluates_no_half_trained_seed(tmp_path):
    proc = budget(tmp_path, "--quick", LIMIT="4", EVAL_RESERVE="1")
    assert proc.returncode == 124 and "ran out of time" in proc.stderr
    record = json.loads((tmp_path / "out/budget.json").read_text())
    assert record["exit"] == 124 and record["seeds_evaluated"] == []
    assert [p["phase"] for p in record["phases"]] == ["train"]  # nothing evaluated on missing checkpoints
