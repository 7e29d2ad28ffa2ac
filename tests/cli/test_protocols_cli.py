"""qamoe-experiment and qamoe-eval --protocol end to end, on a small generated CMU-MOSI pickle of
MMSA's layout (so --dataset mosi --data PATH is exercised too)."""

import json
import pickle

import numpy as np
import pytest

from qamoe.cli import evaluate, experiment

SIZES = {"train": 16, "valid": 6, "test": 10}


def write_mosi(path):
    rng = np.random.default_rng(0)
    data = {}
    for split, n in SIZES.items():
        length = rng.integers(4, 21, n)
        mask = (np.arange(20)[None, :] < length[:, None]).astype(np.float32)
        y = np.round(rng.uniform(-3, 3, n), 1).astype(np.float32)
        text = rng.standard_normal((n, 20, 768)).astype(np.float32)
        text[:, :, 0] += y[:, None]  # a little signal
        audio = rng.standard_normal((n, 20, 5)).astype(np.float32) * mask[..., None]
        audio[0, 1, 2] = -np.inf
        data[split] = {
            "text": text, "text_bert": np.stack([mask * 7, mask, 0 * mask], 1), "audio": audio,
            "vision": rng.standard_normal((n, 20, 20)).astype(np.float32) * mask[..., None],
            "regression_labels": y, "id": np.array([f"clip{i}$_${i}" for i in range(n)], dtype=object),
            "raw_text": np.array(["words"] * n, dtype=object),
        }
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    data = write_mosi(root / "aligned_50.pkl")
    runs, out = root / "runs", root / "report"
    experiment.main(["baselines", "--models", "qamoe,late-fusion", "--seeds", "1,2", "--epochs", "1",
                     "--runs", str(runs), "--out", str(out), "--dataset", "mosi", "--data", str(data)])
    return {"data": data, "runs": runs, "out": out}


def test_baselines_experiment_writes_every_protocol_and_the_report(baselines):
    out = baselines["out"]
    for name in ("subsets", "missing", "noise", "mixture", "grid", "reliability", "efficiency"):
        payload = json.loads((out / f"{name}.json").read_text())
        assert set(payload["models"]) == {"qamoe", "late-fusion"}
        assert payload["models"]["qamoe"]["seeds"] == [1, 2]
        assert payload["dataset"] == "mosi"
    mixture = json.loads((out / "mixture.json").read_text())
    mae = mixture["models"]["qamoe"]["aggregate"]["metrics"]["MAE"]
    assert len(mae["values"]) == 2 and mae["std"] >= 0
    report = (out / "REPORT.md").read_text()
    for heading in ("Table 2", "Table 3", "Table 4", "Table 5", "Figure 3", "Table 6", "Table 10"):
        assert heading in report
    assert "±" in report  # mean ± std over the two seeds
    assert (out / "grid_qamoe.png").stat().st_size > 1000 and (out / "grid_late-fusion.png").exists()
    grid = json.loads((out / "grid.json").read_text())
    assert len(grid["models"]["qamoe"]["aggregate"]["metrics"]["Mult_acc_7"]) == 8


def test_the_report_rebuilt_from_the_json_files_is_the_one_written(baselines, tmp_path):
    """REPORT.md from the PROTOCOL.json files read back (typed records from disk) is the report the
    run wrote from its fresh results."""
    from qamoe.harness.protocols import PROTOCOLS
    from qamoe.harness.report import load_payload, write_markdown

    out = baselines["out"]
    payloads = {name: load_payload(out / f"{name}.json") for name in PROTOCOLS}
    write_markdown(payloads, tmp_path, title="QA-MoE baselines on mosi")
    assert (tmp_path / "REPORT.md").read_text() == (out / "REPORT.md").read_text()


def test_eval_protocol_reuses_checkpoints_with_identical_corruptions(baselines, tmp_path):
    runs = baselines["runs"]
    evaluate.main(["--protocol", "mixture", "--seeds", "1,2", "--dataset", "mosi", "--data", str(baselines["data"]),
                   "--checkpoint", f"q={runs}/qamoe/seed{{seed}}", "--checkpoint", str(runs / "late-fusion"),
                   "--out", str(tmp_path)])
    mine = json.loads((tmp_path / "mixture.json").read_text())
    theirs = json.loads((baselines["out"] / "mixture.json").read_text())
    assert set(mine["models"]) == {"q", "late-fusion"}
    assert mine["models"]["q"]["aggregate"] == theirs["models"]["qamoe"]["aggregate"]
    assert not (tmp_path / "REPORT.md").exists()  # only --protocol all writes the report


def test_comparison_experiments_reuse_trained_checkpoints(baselines, tmp_path, capsys):
    experiment.main(["ablations", "--models", "qamoe,qamoe-no-gating", "--seeds", "1", "--epochs", "1",
                     "--runs", str(baselines["runs"]), "--out", str(tmp_path), "--dataset", "mosi",
                     "--data", str(baselines["data"])])
    text = capsys.readouterr().out
    assert "qamoe seed 1: already trained" in text
    result = json.loads((tmp_path / "ablations.json").read_text())
    assert result["reference"] == "qamoe"
    assert set(result["worse_than_reference_on_mixture_mae"]) == {"qamoe-no-gating"}
    assert (tmp_path / "reliability.json").exists() and (tmp_path / "ablations.md").exists()


def test_bad_options_fail_with_a_message(baselines, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        evaluate.main(["--checkpoint", "a", "--checkpoint", "b", "--out", str(tmp_path)])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        evaluate.main(["--protocol", "grid", "--checkpoint", "x/seed{seed}", "--out", str(tmp_path)])
    assert "give --seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        experiment.main(["ablations", "--models", "qamoe,nonsense", "--out", str(tmp_path)])
    assert "unknown variant" in capsys.readouterr().err


def claim_verdicts(text: str) -> dict[str, str]:
    """claim (first cell) -> verdict (last cell, e.g. "**no** (only 2 of 5 bins occupied)")."""
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| claim")]
    return {row.split(" | ")[0][2:]: row.rsplit(" | ", 1)[1].rstrip(" |") for row in rows}


def test_claims_are_stated_from_the_results(baselines):
    """Each verdict is the one the numbers in the JSON files give, not merely yes or no."""
    from qamoe.harness.claims import claims

    out = baselines["out"]
    verdicts = claim_verdicts(claims(out))
    verdict = lambda holds: "**yes**" if holds else "**no**"  # noqa: E731
    reliability = json.loads((out / "reliability.json").read_text())["models"]["qamoe"]
    rho = reliability["aggregate"]["pooled"]["spearman_rho"]["mean"]
    spearman = next(c for c in verdicts if c.startswith("Spearman"))
    assert verdicts[spearman] == verdict(rho <= -0.8)
    bins = next(c for c in verdicts if "five r_m bins" in c)
    falls = all(r["sample_error_falls_monotonically"] is True for r in reliability["per_seed"])
    assert verdicts[bins].split(" (")[0] == verdict(falls)
    mixture = json.loads((out / "mixture.json").read_text())["models"]
    mae = {label: m["aggregate"]["metrics"]["MAE"]["mean"] for label, m in mixture.items()}
    ahead = next(c for c in verdicts if "stochastic mixture" in c)
    assert verdicts[ahead] == verdict(mae["qamoe"] < mae["late-fusion"])
    assert any("graceful degradation" in c for c in verdicts)


def test_train_and_eval_read_the_mosi_pickle(baselines, tmp_path):
    from qamoe.cli import train

    out = tmp_path / "ck"
    train.main(["--dataset", "mosi", "--data", str(baselines["data"]), "--epochs", "1", "--out", str(out),
                "--model", "topk-moe"])
    evaluate.main(["--checkpoint", str(out), "--dataset", "mosi", "--data", str(baselines["data"]),
                   "--noise", "0.3", "--out", str(tmp_path / "eval")])
    result = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert result["dataset"] == "mosi" and result["noise"] == 0.3
    assert result["mean_reliability"] == {"text": 1.0, "audio": 1.0, "vision": 1.0}  # a method without r_m


def test_random_missing_protocol_retrained_per_rate(baselines, tmp_path):
    import numpy as np

    from qamoe.data.registry import load_dataset
    from qamoe.harness.experiments import variant, with_fixed_missing

    dataset = load_dataset("mosi", str(baselines["data"]))
    degraded = with_fixed_missing(dataset, 0.5, seed=1)
    lengths = degraded.splits["train"].modalities["audio"].lengths
    assert 0 < np.mean(lengths == 1) < 1  # some samples lost audio
    np.testing.assert_array_equal(degraded.splits["test"].modalities["audio"].lengths,
                                  dataset.splits["test"].modalities["audio"].lengths)  # test untouched
    assert variant("qamoe-missing0.3").fixed_missing == 0.3
    experiment.main(["missing-retrained", "--models", "late-fusion-missing0.3", "--seeds", "1", "--epochs", "1",
                     "--runs", str(tmp_path / "runs"), "--out", str(tmp_path), "--dataset", "mosi",
                     "--data", str(baselines["data"])])
    result = json.loads((tmp_path / "missing-retrained.json").read_text())
    assert result["models"]["late-fusion-missing0.3"]["missing_rate"] == 0.3
