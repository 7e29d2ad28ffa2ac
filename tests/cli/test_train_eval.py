"""qamoe-train and qamoe-eval end to end on the simulator, through their real entry points."""

import json

import numpy as np
import pytest

from qamoe.checkpoint import load_checkpoint
from qamoe.cli import evaluate, train


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A short spectrum-trained run of the embedded default (shared by the tests below)."""
    out = tmp_path_factory.mktemp("run") / "ckpt"
    train.main(["--epochs", "6", "--out", str(out), "--seed", "1111"])
    return out


def test_train_writes_checkpoint_and_metrics(trained):
    assert {p.name for p in trained.iterdir()} >= {"model.safetensors", "config.json", "metrics.json"}
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(metrics["valid"]) == set(metrics["test"]) >= {"Mult_acc_7", "Non0_acc_2", "MAE", "Corr"}
    assert 1 <= metrics["best_epoch"] <= 6 and len(metrics["history"]) == 6
    # selection used the validation split: the best epoch has the lowest selection score
    scores = [h["selection_score"] for h in metrics["history"]]
    assert int(np.argmin(scores)) + 1 == metrics["best_epoch"]
    # it learned something real: clean test correlation well above chance
    assert metrics["test"]["Corr"] > 0.4
    assert load_checkpoint(trained).provenance["train_config"]["spectrum"] is True


def test_train_calibrates_the_variance_on_validation_and_reports_coverage(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    scale = metrics["calibration"]["variance_scale"]
    assert 0 < scale < 100
    assert load_checkpoint(trained).extra["uncertainty"]["variance_scale"] == scale
    for condition in ("clean", "mixture"):
        for when in ("before", "after"):
            shares = metrics["calibration"]["test_coverage"][condition][when]
            assert list(shares) == ["50%", "80%", "95%"]
            assert shares["50%"] <= shares["80%"] <= shares["95%"]


def test_train_reads_every_modality_on_one_reliability_scale_fitted_on_validation(trained, tmp_path):
    from qamoe.reliability_scale import ReliabilityScale

    checkpoint = load_checkpoint(trained)
    scale = ReliabilityScale.from_extra(checkpoint.extra)
    assert set(scale.knots) == {"text", "audio", "vision"}
    assert checkpoint.extra["reliability_scale"]["fitted_on"].startswith("valid")
    out = tmp_path / "rel"
    evaluate.main(["--checkpoint", str(trained), "--out", str(out), "--protocol", "reliability"])
    result = json.loads((out / "reliability.json").read_text())["models"]
    (model,) = result.values()
    record = model["per_seed"][0]
    assert record["scale"] == "validation" and "pooled_unscaled" in record
    # on one scale the pooled rank follows the degradation at least as well as the unscaled r does
    assert record["pooled"]["spearman_rho"] <= record["pooled_unscaled"]["spearman_rho"] + 0.02


def run_eval(trained, tmp_path, *args):
    out = tmp_path / "eval"
    evaluate.main(["--checkpoint", str(trained), "--out", str(out), *args])
    return json.loads((out / "eval.json").read_text())


def test_eval_is_reproducible_and_reports_reliability(trained, tmp_path):
    a = run_eval(trained, tmp_path, "--noise", "0.3", "--missing", "0.2", "--seed", "4")
    b = run_eval(trained, tmp_path, "--noise", "0.3", "--missing", "0.2", "--seed", "4")
    assert a["metrics"] == b["metrics"]
    assert set(a["mean_reliability"]) == {"text", "audio", "vision"}
    assert a["reliability_scale"] == "validation"  # qamoe-train fitted one: eval.json says r is read on it


def test_reliability_falls_as_missing_rate_rises(trained, tmp_path):
    means = [run_eval(trained, tmp_path, "--missing", str(eta))["mean_reliability"] for eta in (0.0, 0.4, 0.8)]
    for name in ("text", "audio", "vision"):
        series = [m[name] for m in means]
        assert series[0] > series[1] > series[2], (name, series)


def test_removing_modalities_hurts_and_drops_their_reliability(trained, tmp_path):
    full = run_eval(trained, tmp_path)
    text_only = run_eval(trained, tmp_path, "--modalities", "text")
    assert text_only["metrics"]["MAE"] > full["metrics"]["MAE"]
    assert text_only["mean_reliability"]["audio"] < full["mean_reliability"]["audio"]


def test_eval_refuses_bad_options_with_a_message(trained, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_eval(trained, tmp_path, "--modalities", "text,smell")
    assert exit_info.value.code == 2
    assert "smell" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["--checkpoint", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert "not a checkpoint directory" in capsys.readouterr().err
