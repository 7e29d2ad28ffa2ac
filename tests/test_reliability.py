"""The consistency target that teaches sigma^2_m what quality is (qamoe/reliability.py)."""

import json
from dataclasses import replace

import torch

from qamoe.config import QAMoEConfig
from qamoe.degradation import degrade
from qamoe.loss import heteroscedastic_nll, total_loss
from qamoe.model import QAMoE
from qamoe.reliability import ConsistencyTargets, consistency_loss
from qamoe.train import TrainConfig, draw_spectrum


def _targets(model, features, lengths, noise, missing_rate=0.0, seed=0):
    sigma_ref = {name: torch.ones(x.shape[-1]) for name, x in features.items()}
    degraded = degrade(features, lengths, modalities=model.config.modalities, sigma_ref=sigma_ref, noise=noise,
                       missing_rate=missing_rate, generator=torch.Generator().manual_seed(seed))
    return ConsistencyTargets()(model, (features, lengths), (degraded.features, degraded.lengths), degraded.missing)


def test_clean_input_scores_one_missing_zero_and_more_noise_less(small_config):
    torch.manual_seed(0)
    model = QAMoE(small_config)
    features = {m.name: torch.randn(64, 7, m.dim) for m in small_config.modalities}
    lengths = {m.name: torch.full((64,), 7) for m in small_config.modalities}
    clean = _targets(model, features, lengths, 0.0)
    assert all(torch.equal(t, torch.ones(64)) for t in clean.values())
    gone = _targets(model, features, lengths, 0.0, missing_rate=1.0)
    assert all(torch.equal(t, torch.zeros(64)) for t in gone.values())
    means = [{m: float(t.mean()) for m, t in _targets(model, features, lengths, lam).items()} for lam in (0.1, 0.5, 0.95)]
    for name in small_config.modality_names:
        assert means[0][name] > means[1][name] > means[2][name], (name, means)
    assert model.training  # the no-grad eval passes restore the mode


def test_consistency_loss_pulls_r_towards_the_target():
    log_var = torch.zeros(4, requires_grad=True)  # r = 0.5
    consistency_loss({"audio": log_var}, {"audio": torch.ones(4)}).backward()
    assert (log_var.grad > 0).all()  # descending lowers sigma^2, raising r towards 1


def test_total_loss_adds_the_consistency_term_only_with_targets(small_config, small_batch):
    torch.manual_seed(1)
    model = QAMoE(small_config)
    out = model(*small_batch)
    y = torch.randn(5)
    without, parts = total_loss(out, y, small_config)
    assert "consistency" not in parts and "probes" in parts
    targets = {m: torch.zeros(5) for m in small_config.modality_names}
    with_targets, parts = total_loss(out, y, small_config, targets)
    assert parts["consistency"] > 0 and with_targets > without


def test_beta_nll_weights_terms_by_their_variance():
    pred, target = torch.zeros(3), torch.tensor([1.0, 1.0, 1.0])
    log_var = torch.tensor([0.0, 1.0, 2.0])
    plain = heteroscedastic_nll(pred, log_var, target)
    beta = heteroscedastic_nll(pred, log_var, target, beta=0.5)
    per_sample = 0.5 * torch.exp(-log_var) + 0.5 * log_var
    torch.testing.assert_close(plain, per_sample.mean())
    torch.testing.assert_close(beta, (per_sample * torch.exp(0.5 * log_var)).mean())


def test_per_modality_spectrum_draws_differ_across_modalities_and_samples():
    gen = torch.Generator().manual_seed(0)
    lam, eta = draw_spectrum(TrainConfig(), 16, 3, gen)
    assert lam.shape == eta.shape == (16, 3)
    assert lam.std(1).mean() > 0.1 and lam.std(0).mean() > 0.1
    assert 0 <= float(lam.min()) and float(lam.max()) <= 1
    shared = draw_spectrum(replace(TrainConfig(), spectrum_draw="shared"), 16, 3, gen)
    assert all(isinstance(v, float) for v in shared)


def test_a_config_json_from_before_the_reliability_fields_loads_as_it_was_trained():
    raw = json.loads(json.dumps(QAMoEConfig().to_dict()))
    for field in ("variance_pooling", "reliability_objective", "router_quality", "gate_gradient", "clip_contrast",
                  "max_pooling", "modality_variance", "reliability_fusion", "beta_nll", "reliability_weight"):
        raw.pop(field)
    old = QAMoEConfig.from_dict(raw)
    assert old.variance_pooling == "frames" and old.reliability_objective == "unimodal"
    assert not old.router_quality and old.gate_gradient and not old.clip_contrast and not old.max_pooling
    raw["heteroscedastic"] = False
    assert QAMoEConfig.from_dict(raw).modality_variance is False
    assert QAMoEConfig.from_dict(json.loads(json.dumps(QAMoEConfig().to_dict()))) == QAMoEConfig()


def test_signal_views_give_each_sample_the_clean_clip_or_one_view_and_silence_feature_noise():
    import numpy as np

    from qamoe.dataset import ModalityData, SplitData
    from qamoe.feature_stats import fit_stats
    from qamoe.tensors import TensorSplit
    from qamoe.train import SignalViews

    rng = np.random.default_rng(0)
    n = 40
    clean = SplitData({"audio": ModalityData(rng.normal(size=(n, 6, 2)), np.full(n, 6)),
                       "text": ModalityData(rng.normal(size=(n, 3, 2)), np.full(n, 3))}, np.zeros(n))
    view = SplitData({"audio": ModalityData(rng.normal(size=(n, 9, 2)) + 50.0, np.full(n, 9)),
                      "text": clean.modalities["text"]}, np.zeros(n))
    stats = fit_stats(clean.modalities)
    views = SignalViews({"audio": [view]}, stats)
    batch = TensorSplit(clean, stats).batch(torch.arange(n))
    features, lengths = views.draw(batch, torch.Generator().manual_seed(0))
    from_view = lengths["audio"] == 9
    assert 0 < int(from_view.sum()) < n  # both the clean clip and the view are drawn
    assert (features["audio"][from_view, :9].mean((1, 2)) > 10).all()  # the view's frames, normalised
    torch.testing.assert_close(features["audio"][~from_view, :6], batch.features["audio"][~from_view])
    assert torch.equal(features["text"], batch.features["text"])
    noise = views.quiet_feature_noise(0.5, n, ("text", "audio"))
    assert noise.shape == (n, 2) and (noise[:, 0] == 0.5).all() and (noise[:, 1] == 0).all()
