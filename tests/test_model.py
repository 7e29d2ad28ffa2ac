import torch

from qamoe.config import QAMoEConfig
from qamoe.model import ProbabilisticProjection, QAMoE, QualityAwareMoE, TemporalEncoder


def test_forward_returns_prediction_variance_reliability_and_gates(small_config, small_batch):
    model = QAMoE(small_config).eval()
    out = model(*small_batch)
    assert out.prediction.shape == (5,)
    assert out.log_variance.shape == (5,)
    assert set(out.reliability) == {"text", "audio", "vision"}
    for name in small_config.modality_names:
        r = out.reliability[name]
        assert r.shape == (5,) and (r > 0).all() and (r <= 1).all()
        assert out.gates[name].shape == (5, 4)
        assert ((out.gates[name] > 0).sum(-1) == 2).all()
    torch.testing.assert_close(out.std, torch.exp(out.log_variance / 2))


def test_reliability_is_eq6_of_the_variance():
    torch.manual_seed(1)
    proj = ProbabilisticProjection(8)
    h = torch.randn(4, 8)
    mu, sigma2, r = proj(h)
    torch.testing.assert_close(mu, proj.mean(h))
    assert (sigma2 > 0).all()
    torch.testing.assert_close(r, 1 / (1 + sigma2.mean(-1)))


def test_reliability_falls_monotonically_as_variance_grows():
    proj = ProbabilisticProjection(4)
    with torch.no_grad():
        proj.log_scale[2].weight.zero_()
        proj.log_scale[2].bias.copy_(torch.tensor([-5.0, 0.0, 3.0, 10.0]))
        rs = []
        for shift in (-5.0, 0.0, 5.0, 20.0):
            proj.log_scale[2].bias.add_(shift if not rs else 5.0)
            rs.append(float(proj(torch.zeros(1, 4))[2]))
    assert rs == sorted(rs, reverse=True) and rs[0] < 1 and rs[-1] > 0


def test_interpolation_at_r_one_is_the_experts_and_at_r_zero_the_prior(small_config):
    torch.manual_seed(2)
    model = QAMoE(small_config)
    block: QualityAwareMoE = model.experts["audio"]
    with torch.no_grad():
        block.prior.copy_(torch.arange(16.0))
    mu = torch.randn(3, 16)
    experts, _, _ = block.moe(mu)
    y1, _, _ = block(mu, torch.ones(3))
    y0, _, _ = block(mu, torch.zeros(3))
    yh, _, _ = block(mu, torch.full((3,), 0.25))
    torch.testing.assert_close(y1, experts)
    torch.testing.assert_close(y0, torch.arange(16.0).expand(3, 16))
    torch.testing.assert_close(yh, 0.25 * experts + 0.75 * block.prior)


def test_padding_does_not_change_the_encoding(small_config):
    torch.manual_seed(4)
    enc = TemporalEncoder(5, small_config).eval()
    x = torch.randn(1, 3, 5)
    padded = torch.cat([x, torch.randn(1, 4, 5) * 100], dim=1)
    torch.testing.assert_close(enc(x, torch.tensor([3])), enc(padded, torch.tensor([3])))


def test_absent_modality_reads_as_one_zero_frame(small_config, small_batch):
    model = QAMoE(small_config).eval()
    features, lengths = small_batch
    without = {k: v for k, v in features.items() if k != "vision"}
    zeroed = dict(features, vision=torch.zeros(5, 1, 4))
    lengths_zeroed = dict(lengths, vision=torch.ones(5, dtype=torch.long))
    torch.testing.assert_close(model(without, lengths).prediction, model(zeroed, lengths_zeroed).prediction)


def test_wrong_feature_size_is_refused_with_the_modality_name(small_config, small_batch):
    features, lengths = small_batch
    features = dict(features, audio=torch.randn(5, 7, 9))
    try:
        QAMoE(small_config)(features, lengths)
    except ValueError as err:
        assert "audio" in str(err) and "9" in str(err)
    else:
        raise AssertionError("a wrong feature size was accepted")


def test_ablation_switches(small_config, small_batch):
    from dataclasses import replace

    no_gate = QAMoE(replace(small_config, quality_gating=False)).eval()
    out = no_gate(*small_batch)
    assert all(torch.equal(r, torch.ones(5)) for r in out.reliability.values())

    no_var = QAMoE(replace(small_config, heteroscedastic=False)).eval()
    assert no_var.log_variance_head is None
    assert torch.equal(no_var(*small_batch).log_variance, torch.zeros(5))

    no_prior = QAMoE(replace(small_config, use_prior=False))
    assert all(not block.prior.requires_grad for block in no_prior.experts.values())


def test_classification_head(small_config, small_batch):
    from dataclasses import replace

    model = QAMoE(replace(small_config, num_classes=6)).eval()
    out = model(*small_batch)
    assert out.prediction.shape == (5, 6)


def test_any_subset_of_modalities_builds():
    from qamoe.config import ModalitySpec

    config = QAMoEConfig(modalities=(ModalitySpec("audio", 3),), d_model=8, encoder_heads=2, num_experts=2, top_k=1)
    out = QAMoE(config).eval()({"audio": torch.randn(2, 4, 3)}, {"audio": torch.tensor([4, 2])})
    assert set(out.reliability) == {"audio"}


def test_golden_output_with_fixed_seed(small_config, small_batch):
    torch.manual_seed(1111)
    model = QAMoE(small_config).eval()
    out = model(*small_batch)
    # golden values: recompute deliberately (and explain why) if the architecture changes
    expected = torch.tensor(GOLDEN)
    torch.testing.assert_close(out.prediction, expected, atol=1e-4, rtol=0)


GOLDEN = [-0.17773, -0.18164, -0.17914, -0.18071, -0.17944]
