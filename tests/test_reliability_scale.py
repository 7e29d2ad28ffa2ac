"""One reliability scale: r_m of every modality read as the share of the modality left undegraded."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

from qamoe.reliability_scale import ReliabilityScale, fit_on_validation, mixture_levels_of, scaled


def two_modalities_on_different_scales(n=4000, seed=0):
    """The same degradation read by two quality heads on different scales: text's r spans 0.5-1,
    audio's 0-0.6, each with its own noise; level 1.0 (missing) for 30 % of the samples."""
    rng = np.random.default_rng(seed)
    level, r = {}, {}
    for name, (low, high) in {"text": (0.5, 1.0), "audio": (0.0, 0.6)}.items():
        lam = rng.uniform(0, 0.7, n)
        gone = rng.random(n) < 0.3
        level[name] = np.where(gone, 1.0, lam)
        r[name] = low + (high - low) * np.clip(1 - level[name] + rng.normal(0, 0.08, n), 0, 1)
    return r, level


def pooled_rho(r, level):
    return spearmanr(np.concatenate(list(r.values())), np.concatenate(list(level.values())))[0]


def test_one_scale_makes_the_pooled_rank_follow_the_degradation_as_each_modality_does():
    r, level = two_modalities_on_different_scales()
    within = [spearmanr(r[m], level[m])[0] for m in r]
    scale = ReliabilityScale.fit(*two_modalities_on_different_scales(seed=1))  # fitted on other samples
    on_scale = scale.apply_all(r)
    assert pooled_rho(r, level) > -0.75  # the raw scales mix: text at lambda 0.6 outranks clean audio
    assert pooled_rho(on_scale, level) < max(within) + 0.01  # as good as the weaker modality's own rank
    for m in r:  # each modality keeps its own order, and r~ lies in [0, 1]
        order = np.argsort(r[m])
        assert np.all(np.diff(on_scale[m][order]) >= 0)
        assert 0 <= on_scale[m].min() and on_scale[m].max() <= 1
    # the same share left reads the same in both: clean-ish samples near 0.9+, missing ones near 0
    for m in r:
        assert on_scale[m][level[m] < 0.05].mean() > 0.8 and on_scale[m][level[m] == 1.0].mean() < 0.25


def test_a_score_that_never_varies_gets_no_knots_and_passes_unchanged():
    scale = ReliabilityScale.fit({"text": np.ones(50)}, {"text": np.linspace(0, 1, 50)})
    assert not scale.fitted
    np.testing.assert_array_equal(scale.apply("text", np.ones(3)), np.ones(3))


def test_stored_scale_round_trips_and_damaged_knots_are_refused():
    r, level = two_modalities_on_different_scales()
    scale = ReliabilityScale.fit(r, level)
    back = ReliabilityScale.from_extra({"reliability_scale": scale.to_extra("valid")})
    np.testing.assert_array_equal(back.apply("audio", r["audio"]), scale.apply("audio", r["audio"]))
    assert not ReliabilityScale.from_extra({}).fitted
    for knots in ({"text": {"r": [0.2, 0.1], "kept": [0.1, 0.2]}},  # r must increase
                  {"text": {"r": [0.1, 0.2], "kept": [0.5, 0.2]}},  # kept must not fall
                  {"text": {"r": [0.1, 0.2], "kept": [0.5, 1.5]}},  # kept beyond 1
                  {"text": {"r": [0.1, float("nan")], "kept": [0.5, 0.6]}},
                  {"text": {"r": [0.1], "kept": [0.5, 0.6]}},
                  {"text": {"r": ["a", "b"], "kept": [0.5, 0.6]}},
                  {"text": {"r": ["0.1", "0.5"], "kept": [0.5, 0.6]}},  # numbers as strings
                  {"text": {"r": [True, 2], "kept": [0.5, 0.6]}},
                  {"text": {"r": 5, "kept": [0.5]}},
                  {"text": {"r": None, "kept": [0.5]}},
                  {"text": [0.1, 0.2]}):
        with pytest.raises(ValueError, match="reliability_scale"):
            ReliabilityScale.from_extra({"reliability_scale": {"knots": knots}})


@pytest.fixture(scope="module")
def trained():
    import torch

    from qamoe.config import TrainConfig
    from qamoe.data.synthetic import make_synthetic
    from qamoe.tensors import TensorSplit
    from qamoe.train import model_config_for, train_model

    torch.manual_seed(0)
    dataset = make_synthetic(0, sizes={"train": 240, "valid": 80, "test": 80})
    config = model_config_for(dataset, d_model=16, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=16)
    checkpoint, _ = train_model(dataset, config, replace(TrainConfig(), epochs=2, seed=3, device="cpu"))
    return checkpoint, dataset, TensorSplit(dataset.splits["valid"], checkpoint.stats)


def test_the_engine_and_the_protocol_report_r_on_the_stored_scale(trained, tmp_path):
    import torch

    from qamoe.checkpoint import load_checkpoint, save_checkpoint
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors
    from qamoe.harness import protocols
    from qamoe.inference import InferenceEngine
    from qamoe.tensors import TensorSplit

    checkpoint, dataset, valid = trained
    scale = fit_on_validation(checkpoint, valid)
    assert set(scale.knots) == set(checkpoint.config.modality_names)
    flat = ReliabilityScale({m: ((0.0, 1.0), (0.25, 0.25)) for m in checkpoint.config.modality_names})
    checkpoint.extra["reliability_scale"] = flat.to_extra("test")
    save_checkpoint(tmp_path / "ck", checkpoint)
    loaded = load_checkpoint(tmp_path / "ck")
    engine = InferenceEngine(loaded)
    present = {m.name: np.random.default_rng(0).normal(size=(5, m.dim)).astype(np.float32) for m in loaded.config.modalities}
    assert all(v == pytest.approx(0.25) for v in engine.infer(present).reliability.values())
    first = loaded.config.modality_names[0]
    alone = engine.infer({first: present[first]}).reliability  # the others have no input: nothing of them is left
    assert alone[first] == pytest.approx(0.25) and all(alone[m] == 0.0 for m in alone if m != first)
    assert all(v == 0.0 for v in engine.infer({}).reliability.values())
    unscaled = InferenceEngine(replace(loaded, extra={})).infer({first: present[first]}).reliability
    x = torch.from_numpy(loaded.stats[first].normalize(present[first]))[None]  # (1, T, d)
    with torch.no_grad():
        model_r = loaded.model({first: x}, {first: torch.tensor([x.shape[1]])}).reliability
    assert unscaled == pytest.approx({m: float(r[0]) for m, r in model_r.items()})  # without a scale: the model's own, missing too

    test = TensorSplit(dataset.splits["test"], loaded.stats)
    result = protocols.reliability(loaded, test, sigma_ref_tensors(loaded.stats))
    assert result.scale == "validation" and result.pooled_unscaled is not None
    assert result.r_range == pytest.approx([0.25, 0.25])  # every r read through the stored scale
    raw = predict_mixture(loaded.model, test, sigma_ref=sigma_ref_tensors(loaded.stats), seed=0)
    assert result.pooled_unscaled.spearman_rho == pytest.approx(spearmanr(
        np.concatenate(list(raw.reliability.values())), np.concatenate(list(mixture_levels_of(raw).values())))[0])
    back = type(result).from_dict(result.to_dict())
    assert (back.scale, back.pooled_unscaled) == (result.scale, result.pooled_unscaled)
    # Protocols I and II report each condition's mean r on the same scale, and say so
    noise = protocols.noise(loaded, test, sigma_ref_tensors(loaded.stats), levels=(0.0, 0.5))
    assert noise.scale == "validation" and noise.to_dict()["scale"] == "validation"
    assert all(r == pytest.approx(0.25) for c in noise.conditions.values() for r in c.mean_reliability.values())
    bare = replace(checkpoint, extra={})  # no scale: r_m as the model gives them
    unscaled = protocols.missing(bare, test, sigma_ref_tensors(checkpoint.stats), levels=(0.3,))
    assert unscaled.scale == "none" and "scale" not in unscaled.to_dict()  # as results written before the scale read


def test_a_scale_for_modalities_the_model_does_not_read_is_refused(trained, tmp_path):
    from qamoe.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    checkpoint = trained[0]
    checkpoint.extra["reliability_scale"] = ReliabilityScale({"speech": ((0.0, 1.0), (0.0, 1.0))}).to_extra("x")
    save_checkpoint(tmp_path / "ck", checkpoint)
    with pytest.raises(CheckpointError, match="another checkpoint"):
        load_checkpoint(tmp_path / "ck")
    del checkpoint.extra["reliability_scale"]


def test_scaled_predictions_keep_everything_but_r(trained):
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors

    checkpoint, _, valid = trained
    p = predict_mixture(checkpoint.model, valid, sigma_ref=sigma_ref_tensors(checkpoint.stats), seed=1)
    scale = fit_on_validation(checkpoint, valid)
    q = scaled(p, scale)
    np.testing.assert_array_equal(q.prediction, p.prediction)
    assert all(not np.array_equal(q.reliability[m], p.reliability[m]) for m in p.reliability)
    assert scaled(p, ReliabilityScale()) is p


def test_samples_that_never_had_a_modality_are_left_out_of_its_fit(trained):
    from qamoe.evaluate import predict_mixture, sigma_ref_tensors

    checkpoint, _, valid = trained
    n = len(valid)
    present = {"text": np.arange(n) % 2 == 0}  # say the odd samples come from a source without text
    scale = fit_on_validation(checkpoint, valid, present=present)
    p = predict_mixture(checkpoint.model, valid, sigma_ref=sigma_ref_tensors(checkpoint.stats), seed=7)
    level = mixture_levels_of(p)
    expected = ReliabilityScale.fit({"text": p.reliability["text"][present["text"]]}, {"text": level["text"][present["text"]]})
    assert scale.knots["text"] == expected.knots["text"]
    assert scale.knots["audio"] == fit_on_validation(checkpoint, valid).knots["audio"]  # the others as before


def test_the_fit_does_not_depend_on_the_order_of_equal_scores():
    """Every missing input reads the same zero frame, so many samples share one r: a block of ties."""
    rng = np.random.default_rng(3)
    r = np.concatenate([np.full(300, 0.02), rng.uniform(0.3, 0.9, 700)])
    level = np.concatenate([rng.choice([1.0, 0.0], 300, p=[0.8, 0.2]), 1 - r[300:] + rng.normal(0, 0.05, 700)])
    order = rng.permutation(len(r))
    a = ReliabilityScale.fit({"audio": r}, {"audio": level})
    b = ReliabilityScale.fit({"audio": r[order]}, {"audio": level[order]})
    assert a.knots == b.knots
    assert a.apply("audio", 0.02) == pytest.approx(1 - level[:300].mean())  # the tie block's own mean


def test_seeds_read_on_different_scales_are_not_averaged(trained):
    from qamoe.evaluate import sigma_ref_tensors
    from qamoe.harness import protocols
    from qamoe.harness.records import aggregate_results
    from qamoe.tensors import TensorSplit

    checkpoint, dataset, valid = trained
    test = TensorSplit(dataset.splits["test"], checkpoint.stats)
    checkpoint.extra.pop("reliability_scale", None)
    raw = protocols.reliability(checkpoint, test, sigma_ref_tensors(checkpoint.stats))
    checkpoint.extra["reliability_scale"] = fit_on_validation(checkpoint, valid).to_extra("valid")
    on_scale = protocols.reliability(checkpoint, test, sigma_ref_tensors(checkpoint.stats))
    del checkpoint.extra["reliability_scale"]
    assert aggregate_results([on_scale, on_scale]).scale == "validation"
    with pytest.raises(ValueError, match="different scales"):
        aggregate_results([raw, on_scale])
