"""The evaluation protocols on a tiny trained checkpoint: definitions, reproducibility, helpers."""

import dataclasses
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qamoe.harness import efficiency as E
from qamoe.harness import protocols as P
from qamoe.harness import records as R
from qamoe.data.synthetic import make_synthetic
from qamoe.tensors import TensorSplit
from qamoe.evaluate import MIXTURE_MAX, predict_mixture, predict_split, sigma_ref_tensors
from qamoe.train import TrainConfig, model_config_for, train_model

SIZES = {"train": 64, "valid": 24, "test": 40}
DOCS = Path(__file__).resolve().parents[2] / "docs"
PUBLISHED = sorted(p for p in DOCS.glob("*-report/**/*.json") if "protocol" in json.loads(p.read_text()))


@pytest.fixture(scope="module")
def setup():
    dataset = make_synthetic(0, sizes=SIZES)
    config = model_config_for(dataset, d_model=16, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=16)
    out = {}
    for arch in ("qamoe", "late-fusion"):
        checkpoint, _ = train_model(dataset, config, replace(TrainConfig(), epochs=1, seed=3, device="cpu"), architecture=arch)
        out[arch] = checkpoint
    split = TensorSplit(dataset.splits["test"], out["qamoe"].stats)
    return out, split, sigma_ref_tensors(out["qamoe"].stats)


def test_subsets_cover_every_non_empty_set_of_modalities(setup):
    checkpoints, split, sigma_ref = setup
    result = P.subsets(checkpoints["qamoe"], split, sigma_ref)
    assert list(result.conditions) == ["{t,a,v}", "{t,a}", "{t,v}", "{a,v}", "{t}", "{a}", "{v}"]
    full = predict_split(checkpoints["qamoe"].model, split, sigma_ref=sigma_ref).metrics(checkpoints["qamoe"].config)
    assert result.conditions["{t,a,v}"].metrics == pytest.approx(full)
    assert result.conditions["{t}"].available == ["text"]


def test_missing_and_noise_levels(setup):
    checkpoints, split, sigma_ref = setup
    for fn, key in ((P.missing, "missing_rate"), (P.noise, "noise")):
        result = fn(checkpoints["qamoe"], split, sigma_ref, seed=2)
        assert list(result.conditions) == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
        assert getattr(result.conditions["0.3"], key) == 0.3
        assert result.to_dict()["conditions"]["0.3"][key] == 0.3
    assert P.missing(checkpoints["qamoe"], split, sigma_ref).retrained_per_rate is False


def test_grid_cells_equal_the_single_condition_evaluation(setup):
    checkpoints, split, sigma_ref = setup
    ck = checkpoints["qamoe"]
    result = P.grid(ck, split, sigma_ref, seed=5, levels=(0.0, 0.3, 0.7))
    assert len(result.metrics["MAE"]) == 3 and len(result.metrics["MAE"][0]) == 3
    single = predict_split(ck.model, split, sigma_ref=sigma_ref, noise=0.7, missing_rate=0.3, seed=5).metrics(ck.config)
    assert result.metrics["MAE"][1][2] == pytest.approx(single["MAE"])  # row eta = 0.3, column lambda = 0.7
    assert P.GRID_LEVELS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def test_mixture_is_identical_across_models_and_reproducible(setup):
    checkpoints, split, sigma_ref = setup
    a = predict_mixture(checkpoints["qamoe"].model, split, sigma_ref=sigma_ref, seed=1)
    b = predict_mixture(checkpoints["late-fusion"].model, split, sigma_ref=sigma_ref, seed=1)
    for m in a.missing:
        np.testing.assert_array_equal(a.missing[m], b.missing[m])  # the same corruption for every model
        np.testing.assert_array_equal(a.noise[m], b.noise[m])
    assert 0 < np.mean(np.concatenate(list(a.noise.values()))) < MIXTURE_MAX
    again = P.mixture(checkpoints["qamoe"], split, sigma_ref, seed=1)
    assert again == P.mixture(checkpoints["qamoe"], split, sigma_ref, seed=1)
    assert again.metrics == pytest.approx(a.metrics(checkpoints["qamoe"].config))  # the protocol scores that draw


def test_reliability_protocol_structure(setup):
    checkpoints, split, sigma_ref = setup
    result = P.reliability(checkpoints["qamoe"], split, sigma_ref)
    assert result.has_reliability
    assert -1 <= result.pooled.spearman_rho <= 1
    for entry in result.modalities.values():
        assert [b.range for b in entry.bins] == [[0.0, 0.2], [0.2, 0.4], [0.4, 0.6], [0.6, 0.8], [0.8, 1.0]]
        assert sum(b.count for b in entry.bins) == len(split)
    assert sum(b.count for b in result.sample_quintiles) == len(split)
    baseline = P.reliability(checkpoints["late-fusion"], split, sigma_ref)
    assert not baseline.has_reliability and math.isnan(baseline.pooled.spearman_rho)


def test_the_shipped_simulator_checkpoint_reliability_falls_with_degradation():
    """The protocol's number on a trained model: rho(r_m, degradation) clearly negative, pooled and per
    modality (a protocol that scrambled r or degradation would give about 0)."""
    from qamoe.checkpoint import load_checkpoint
    from qamoe.shipped import SIMULATOR, shipped_checkpoint

    checkpoint = load_checkpoint(shipped_checkpoint(SIMULATOR))
    dataset = make_synthetic(7, sizes={"train": 8, "valid": 8, "test": 96})
    split = TensorSplit(dataset.splits["test"], checkpoint.stats)
    result = P.reliability(checkpoint, split, sigma_ref_tensors(checkpoint.stats), seed=0)
    assert result.pooled.spearman_rho < -0.5
    assert all(entry.spearman_rho < -0.4 for entry in result.modalities.values())


def test_binning_spearman_and_monotonicity_helpers():
    score = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    error = np.array([2.0, 2.0, 1.5, 1.0, 0.6, 0.4, 0.2])
    bins = P._binned(score, error)
    assert [b.count for b in bins] == [2, 1, 1, 1, 2]  # 1.0 falls in the closed last bin
    assert [b.closed for b in bins] == [False, False, False, False, True]
    assert bins[0].error == 2.0 and bins[-1].error == pytest.approx(0.3)
    assert P._monotone(bins) is True
    bins[2] = replace(bins[2], error=3.0)
    assert P._monotone(bins) is False
    rho, _ = P._spearman(score, score ** 2)
    assert rho == pytest.approx(1.0)
    assert math.isnan(P._spearman(np.ones(5), np.arange(5.0))[0])


def test_efficiency_counts_active_experts_and_flops(setup):
    checkpoints, split, _ = setup
    q = E.efficiency(checkpoints["qamoe"], split, batch_sizes=(1, 4), repeats=2)
    assert q.active_parameters < q.total_parameters
    assert q.flops_per_sample > 0 and set(q.batches) == {"1", "4"}
    assert all(b.latency_ms > 0 and b.peak_memory_mb > 0 for b in q.batches.values())
    lf = E.efficiency(checkpoints["late-fusion"], split, batch_sizes=(2,), repeats=1)
    assert lf.active_parameters == lf.total_parameters


def test_aggregate_mean_and_std_over_seeds():
    a = {"m": {"MAE": 1.0, "grid": [[1.0, 2.0]]}, "flag": True, "name": "x"}
    b = {"m": {"MAE": 3.0, "grid": [[3.0, float("nan")]]}, "flag": True, "name": "x"}
    agg = R.aggregate([a, b])
    assert agg["m"]["MAE"] == {"mean": 2.0, "std": 1.0, "values": [1.0, 3.0]}
    assert agg["m"]["grid"][0][0]["mean"] == 2.0
    assert agg["m"]["grid"][0][1]["mean"] == 2.0  # NaN ignored
    assert agg["flag"] is True and agg["name"] == "x"
    assert R.mean_of(agg["m"]["MAE"]) == 2.0 and R.mean_of(4.0) == 4.0


def test_unknown_protocol_is_refused(setup):
    checkpoints, split, sigma_ref = setup
    with pytest.raises(ValueError, match="unknown protocol"):
        P.run_protocol("telepathy", checkpoints["qamoe"], split, sigma_ref)


def _key_tree(value, path=""):
    """The key paths of a JSON tree (batch sizes of the efficiency protocol are not keys of the format)."""
    if isinstance(value, dict):
        out = set()
        for key, child in value.items():
            name = "*" if path.endswith("batches") else key
            out |= {f"{path}/{name}"} | _key_tree(child, f"{path}/{name}")
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _key_tree(value[0], f"{path}[]")
    return set()


@pytest.fixture(scope="module")
def every_result(setup):
    """Each protocol's result on the QA-MoE checkpoint, plus the reliability of a method without r_m
    (NaN correlations)."""
    checkpoints, split, sigma_ref = setup
    out = {}
    for name in P.PROTOCOLS:
        kwargs = {"batch_sizes": (1, 4), "repeats": 1} if name == "efficiency" else {}
        out[name] = P.RUNNERS[name](checkpoints["qamoe"], split, sigma_ref, **kwargs)
    out["reliability without r_m"] = P.reliability(checkpoints["late-fusion"], split, sigma_ref)
    return out


def test_results_write_the_json_keys_of_the_published_reports(every_result):
    """Every protocol's to_dict() has exactly the keys of docs/simulator-report/PROTOCOL.json, so
    reports and the claims read from those files stay valid."""
    for name in P.PROTOCOLS:
        result = every_result[name]
        assert isinstance(result, R.ProtocolResult) and result.name == name
        published = json.loads((DOCS / "simulator-report" / f"{name}.json").read_text())
        assert _key_tree(result.to_dict()) == _key_tree(published["models"]["qamoe"]["per_seed"][0]), name
        assert result.to_dict()["protocol"] == name
        json.dumps(result.to_dict())  # JSON-ready


def assert_same(a, b, path="") -> None:
    """a and b are the same tree: the same type at every node (records, Spread, int, float, ...),
    equal leaves, NaN equal to NaN."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


def test_every_result_reads_back_what_it_writes(every_result):
    for name, result in every_result.items():
        written = json.loads(json.dumps(result.to_dict()))  # through JSON text, as PROTOCOL.json holds it
        assert_same(R.ProtocolResult.from_dict(written), result)
        assert_same(type(result).from_dict(written), result)
    clean = every_result["mixture"]  # no NaN: plain equality holds too
    assert R.ProtocolResult.from_dict(json.loads(json.dumps(clean.to_dict()))) == clean


def test_from_dict_refuses_what_to_dict_does_not_write(every_result):
    written = every_result["mixture"].to_dict()
    with pytest.raises(ValueError, match="GridResult cannot read a result of protocol 'mixture'"):
        R.GridResult.from_dict(written)
    with pytest.raises(ValueError, match="cannot read a result of protocol 'telepathy'"):
        R.ProtocolResult.from_dict({**written, "protocol": "telepathy"})
    with pytest.raises(ValueError, match=r"unknown fields \['typo'\], missing fields \['clean_metrics'\]"):
        R.ProtocolResult.from_dict({**{k: v for k, v in written.items() if k != "clean_metrics"}, "typo": 1})
    bins = every_result["reliability"].to_dict()
    bins["sample_bins"][0].pop("count")
    with pytest.raises(ValueError, match=r"ErrorBin: unknown fields \[\], missing fields \['count'\]"):
        R.ProtocolResult.from_dict(bins)


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: str(p.relative_to(DOCS)))
def test_published_payloads_read_back_into_typed_records(path):
    """Each PROTOCOL.json under docs/*-report reads into typed records that write it back byte for
    byte (the aggregate, recomputed from per_seed, included), and reads back from that again."""
    text = path.read_text()
    data = json.loads(text)
    payload = R.ProtocolPayload.from_dict(data)
    assert json.dumps(payload.to_dict()) == json.dumps(data)
    kind = R.RESULT_TYPES[data["protocol"]]
    for model in payload.models.values():
        assert all(type(r) is kind for r in model.per_seed)
        assert type(model.aggregate) is kind
    assert_same(R.ProtocolPayload.from_dict(json.loads(json.dumps(payload.to_dict()))), payload)


def test_published_reports_cover_every_protocol():
    assert {json.loads(p.read_text())["protocol"] for p in PUBLISHED} == set(P.PROTOCOLS)
    retrained = json.loads((DOCS / "simulator-report" / "missing-retrained" / "missing-retrained.json").read_text())
    for model in retrained["models"].values():  # that experiment writes the per-seed records and aggregate too
        records = [R.ProtocolIMissingResult.from_dict(r) for r in model["per_seed"]]
        assert [r.to_dict() for r in records] == model["per_seed"]
        assert R.aggregate_results(records).to_dict() == model["aggregate"]


def test_the_published_report_renders_from_its_json_files(tmp_path):
    """REPORT.md and CLAIMS.md of docs/simulator-report come out of its PROTOCOL.json files as
    published: the renderers read the typed records loaded from disk."""
    from qamoe.harness.claims import claims
    from qamoe.harness.report import load_payload, write_markdown

    docs = DOCS / "simulator-report"
    payloads = {name: load_payload(docs / f"{name}.json") for name in P.PROTOCOLS}
    write_markdown(payloads, tmp_path, title="QA-MoE baselines on synthetic")
    assert (tmp_path / "REPORT.md").read_text() == (docs / "REPORT.md").read_text()
    assert {p.name for p in tmp_path.glob("grid_*.png")} == {f"grid_{m}.png" for m in payloads["grid"].models}
    assert claims(docs) + "\n" == (docs / "CLAIMS.md").read_text()  # run.sh print()s it: one more newline


def test_payload_aggregates_the_seeds_it_holds(setup):
    checkpoints, split, sigma_ref = setup
    per_seed = [P.mixture(checkpoints["qamoe"], split, sigma_ref, seed=s) for s in (0, 1)]
    payload = R.ProtocolPayload("mixture", "synthetic", "test", 0, "test", {
        "qamoe": R.ModelResults(["a", "b"], "qamoe", [1, 2], per_seed)})
    written = payload.to_dict()
    assert list(written) == ["protocol", "dataset", "split", "eval_seed", "command", "models"]
    mae = written["models"]["qamoe"]["aggregate"]["metrics"]["MAE"]
    assert mae["values"] == [r.metrics["MAE"] for r in per_seed]
    agg = payload.models["qamoe"].aggregate  # the same record type, a Spread for every number
    assert isinstance(agg, R.ProtocolIIIResult)
    values = [r.metrics["MAE"] for r in per_seed]
    assert agg.metrics["MAE"] == R.Spread(float(np.mean(values)), float(np.std(values)), values)
    assert agg.max_level == R.Spread(MIXTURE_MAX, 0.0, [MIXTURE_MAX, MIXTURE_MAX])
    with pytest.raises(ValueError, match="results of another protocol for \\['qamoe'\\]"):
        R.ProtocolPayload("grid", "synthetic", "test", 0, "test", payload.models)


def test_every_protocol_has_a_renderer():
    from qamoe.harness.report import RENDERERS

    assert list(RENDERERS) == list(P.PROTOCOLS)
    with pytest.raises(ValueError, match="no tables"):
        from qamoe.harness.report import renderer

        renderer("telepathy")


@pytest.mark.parametrize("qamoe_mae, verdict", [(0.9, "**yes**"), (1.1, "**no**")])
def test_the_mixture_claim_follows_the_numbers(tmp_path, qamoe_mae, verdict):
    from qamoe.harness.claims import claims

    def model(label, mae):
        result = R.ProtocolIIIResult(seed=0, max_level=MIXTURE_MAX, metrics={"MAE": mae, "Mult_acc_7": 0.3},
                                     clean_metrics={"MAE": mae}, missing_share={})
        return R.ModelResults([label], label, [1], [result])

    payload = R.ProtocolPayload("mixture", "synthetic", "test", 0, "", {"qamoe": model("qamoe", qamoe_mae),
                                                                         "mult": model("mult", 1.0)})
    (tmp_path / "mixture.json").write_text(json.dumps(payload.to_dict()))
    row = next(line for line in claims(tmp_path).splitlines() if "stochastic mixture" in line)
    assert row.endswith(f"| {verdict} |")


def test_condition_tables_say_when_r_is_read_on_the_one_scale(setup):
    from qamoe.harness.report import protocol_tables
    from qamoe.reliability_scale import ReliabilityScale

    checkpoints, split, sigma_ref = setup
    checkpoint = checkpoints["qamoe"]
    names = checkpoint.config.modality_names
    on_scale = replace(checkpoint, extra={"reliability_scale": ReliabilityScale(
        {m: ((0.0, 1.0), (0.0, 0.5)) for m in names}).to_extra("test")})
    titles = {}
    for label, ck in (("raw", replace(checkpoint, extra={})), ("scaled", on_scale)):
        result = P.noise(ck, split, sigma_ref, levels=(0.0, 0.5))
        payload = R.ProtocolPayload("noise", "synthetic", "test", 0, "test", {"qamoe": R.ModelResults(["x"], "qamoe", [1], [result])})
        titles[label] = [table[0] for table in protocol_tables(payload) if "mean reliability" in table[0]]
    assert titles["scaled"] == ["qamoe: mean reliability r_m per condition (on the one reliability scale, fitted on valid)"]
    assert titles["raw"] == ["qamoe: mean reliability r_m per condition"]
