"""benchmarks/gpu.sh, the prepared GPU measurement of issue 13, run end to end on the CPU (`--device
cpu --quick`): every section runs (core in fp32 and under bf16 autocast for QA-MoE and the MulT-style
baseline, the extractors, a short real-time replay of the live pipeline) and the JSON says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from support.media import make_talking_clip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_talking_clip(tmp_path_factory.mktemp("gpu-clip") / "talking.mp4")[0]


def test_gpu_script_runs_every_section_on_the_cpu(clip, tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks/gpu.sh"), "--device", "cpu", "--quick", "--video", str(clip),
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["machine"]["device"] == "cpu" and result["quick"]
    rows = {(r["arch"], r["mode"], r["batch"]): r for r in result["core"]}
    for arch in ("qamoe", "mult"):
        for mode in ("fp32", "bf16"):
            for batch in (1, 16):
                row = rows[(arch, mode, batch)]
                assert "error" not in row, row
                assert row["finite"] and row["median_ms"] > 0 and row["samples_per_s"] > 0
    assert rows[("qamoe", "bf16", 16)]["prediction_dtype"] == "torch.bfloat16"  # autocast really ran the MoE in bf16
    ex = result["extractors"]
    assert ex["face_mesh"]["face_found"] and ex["face_mesh"]["median_ms"] > 0
    assert ex["expression_net"]["batch64"]["median_ms"] > 0 and ex["minilm"]["batch16"]["median_ms"] > 0
    live = result["live"]
    assert live["exit"] == 0 and live["updates"] > 10
    assert live["latency_pct_ms"]["video/e2e"]["n"] > 0 and live["latency_pct_ms"]["tick/model"]["p50"] > 0


@pytest.mark.platform_skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_script_says_plainly_when_there_is_no_gpu(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "benchmarks/gpu.sh"), "--device", "cuda", "--video", "none.mp4",
                           "--out", str(tmp_path / "x.json")], capture_output=True, text=True, timeout=300,
                          env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "no usable GPU" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.json").exists()
