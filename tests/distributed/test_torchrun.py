"""DistributedDataParallel under a real `torchrun` with two CPU processes (gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

WORKER = Path(__file__).with_name("ddp_worker.py")
EPOCHS = 3


def run_worker(out: Path, nproc: int) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", str(WORKER), str(out), str(EPOCHS)]
    if nproc == 1:
        cmd = [sys.executable, str(WORKER), str(out), str(EPOCHS)]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    run_worker(root / "two", 2)
    run_worker(root / "one", 1)
    return root


def test_two_ranks_end_with_identical_parameters(runs):
    a = load_file(str(runs / "two" / "rank0.safetensors"))
    b = load_file(str(runs / "two" / "rank1.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert json.loads((runs / "two" / "rank0.json").read_text())["world_size"] == 2


def test_ranks_agree_on_gathered_validation_metrics(runs):
    h0 = json.loads((runs / "two" / "rank0.json").read_text())["history"]
    h1 = json.loads((runs / "two" / "rank1.json").read_text())["history"]
    assert [h["selection_score"] for h in h0] == [h["selection_score"] for h in h1]


def test_two_process_quality_matches_one_process_within_tolerance(runs):
    # the same global batch, seeds and epochs; only the split of each batch across ranks differs.
    # Tolerance: 0.15 of validation MAE (labels span [-3, 3]) after 3 short epochs.
    two = json.loads((runs / "two" / "rank0.json").read_text())["history"][-1]["valid_clean"]["MAE"]
    one = json.loads((runs / "one" / "rank0.json").read_text())["history"][-1]["valid_clean"]["MAE"]
    assert abs(two - one) < 0.15, (one, two)


def test_qamoe_train_cli_under_torchrun_writes_once_from_rank_zero(tmp_path):
    out = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "qamoe.cli.train",
           "--sizes", "96,32,32", "--epochs", "2", "--d-model", "32", "--out", str(out)]
    env = {**{k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "metrics.json", "model.safetensors"]
    assert json.loads((out / "config.json").read_text())["provenance"]["world_size"] == 2
    assert result.stdout.count("checkpoint written to") == 1
