"""--device for qamoe-live, qamoe-eval and Predictor (issue 13): cpu and auto run here; cuda without a
usable GPU is one clear error, never a traceback."""

from __future__ import annotations

import pytest
import torch

from support.cli import exit_code
from qamoe.realtime import checkpoints
from qamoe.shipped import exists, shipped_checkpoint

no_gpu = pytest.mark.platform_skipif(torch.cuda.is_available(), reason="this machine has a GPU")


def sim_dir():
    path = shipped_checkpoint("simulator")
    if not exists(path):
        pytest.skip("no shipped simulator checkpoint in this build")
    return path


@no_gpu
def test_predictor_on_cuda_without_a_gpu_is_a_clear_error_and_cpu_and_auto_work():
    from qamoe.checkpoint import load_checkpoint
    from qamoe.realtime.predictor import Predictor

    with pytest.raises(ValueError, match="no usable GPU"):
        Predictor(load_checkpoint(sim_dir()), device="cuda")
    for device in ("cpu", "auto"):
        predictor = Predictor(load_checkpoint(sim_dir()), device=device)
        assert predictor.engine.device.type == "cpu"


@no_gpu
def test_qamoe_eval_on_cuda_without_a_gpu_exits_2_with_one_line(tmp_path, capsys):
    from qamoe.cli.evaluate import main

    with pytest.raises(SystemExit) as exit:
        main(["--checkpoint", str(sim_dir()), "--device", "cuda", "--out", str(tmp_path / "eval")])
    assert exit.value.code == 2
    captured = capsys.readouterr()  # read once: a second read would be empty
    err = " ".join(captured.err.split())
    assert "no usable GPU" in err and "Traceback" not in err + captured.out


@no_gpu
def test_qamoe_live_on_cuda_without_a_gpu_exits_2_with_one_line(capsys):
    from qamoe.cli.live import main

    with pytest.raises(SystemExit) as exit:
        main(["--demo", "--checkpoint", str(sim_dir()), "--device", "cuda", "--no-tui", "--duration", "1", "--fast"])
    assert exit.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no usable GPU" in err and "Traceback" not in err


def test_qamoe_live_runs_on_device_cpu(tmp_path):
    from qamoe.cli.live import main
    from qamoe.realtime.runlog import read_jsonl

    out = tmp_path / "run.jsonl"
    assert exit_code(main, ["--demo", "--checkpoint", str(sim_dir()), "--device", "auto", "--no-tui", "--duration", "2",
                            "--fast", "--jsonl", str(out)]) == 0
    assert len(read_jsonl(out)) == 10
