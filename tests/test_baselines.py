"""Baselines share QA-MoE's config, inputs, output, loss, checkpoints and training."""

from dataclasses import replace

import pytest
import torch
import torch.nn as nn

from qamoe.baselines import BASELINES
from qamoe.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from qamoe.feature_stats import FeatureStats
from qamoe.loss import total_loss
from qamoe.model import QAMoEOutput
from qamoe.registry import MODELS, build_model, model_names, register_model

ARCHS = (*BASELINES, "qamoe")


def test_baselines_are_registered():
    assert set(BASELINES) <= set(model_names())


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_loss_and_gradients(arch, small_config, small_batch):
    torch.manual_seed(0)
    model = build_model(arch, small_config)
    features, lengths = small_batch
    out = model(features, lengths)
    assert isinstance(out, QAMoEOutput)
    assert out.prediction.shape == (5,) and out.log_variance.shape == (5,)
    assert set(out.reliability) == set(out.gates) == set(small_config.modality_names)
    assert all(r.shape == (5,) for r in out.reliability.values())
    loss, _ = total_loss(out, torch.randn(5), small_config)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("max_pooling", [False, True], ids=["mean", "mean+max"])
@pytest.mark.parametrize("arch", BASELINES)
def test_baselines_report_constant_reliability_and_ignore_padding(arch, max_pooling, small_config, small_batch):
    model = build_model(arch, replace(small_config, baseline_max_pooling=max_pooling)).eval()
    features, lengths = small_batch
    out = model(features, lengths)
    assert all(torch.equal(r, torch.ones(5)) for r in out.reliability.values())
    padded = {k: v.clone() for k, v in features.items()}
    for v in padded.values():
        v[1, 3:] = 100.0  # sample 1 has length 3: frames past it must not matter
    torch.testing.assert_close(model(padded, lengths).prediction, out.prediction)


@pytest.mark.parametrize("arch", BASELINES)
def test_absent_modality_and_classification(arch, small_config, small_batch):
    features, lengths = small_batch
    model = build_model(arch, small_config).eval()
    out = model({"text": features["text"]}, {"text": lengths["text"]})
    assert out.prediction.shape == (5,)
    classifier = build_model(arch, replace(small_config, num_classes=4))
    out = classifier(features, lengths)
    assert out.prediction.shape == (5, 4)
    loss, _ = total_loss(out, torch.tensor([0, 1, 2, 3, 0]), classifier.config)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("max_pooling", [False, True], ids=["mean", "mean+max"])
@pytest.mark.parametrize("arch", BASELINES)
def test_checkpoint_round_trip_keeps_the_architecture(arch, max_pooling, small_config, small_batch, tmp_path):
    model = build_model(arch, replace(small_config, baseline_max_pooling=max_pooling)).eval()
    stats = {m.name: FeatureStats(torch.zeros(m.dim).numpy(), torch.ones(m.dim).numpy(), torch.ones(m.dim).numpy())
             for m in small_config.modalities}
    save_checkpoint(tmp_path / "ck", Checkpoint(model, stats))
    loaded = load_checkpoint(tmp_path / "ck")
    assert type(loaded.model) is type(model)
    features, lengths = small_batch
    torch.testing.assert_close(loaded.model(features, lengths).prediction, model(features, lengths).prediction)


def test_a_new_method_joins_by_registering_one_class(small_config):
    from qamoe.data.synthetic import make_synthetic
    from qamoe.train import TrainConfig, model_config_for, train_model

    @register_model("test-mean-pool")
    class MeanPool(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.heads = nn.ModuleDict({m.name: nn.Linear(m.dim, 1) for m in config.modalities})

        def forward(self, features, lengths):
            b = next(iter(features.values())).shape[0]
            y = sum(self.heads[m](x.mean(1)).squeeze(-1) for m, x in features.items())
            ones = {m: torch.ones(b) for m in self.config.modality_names}
            empty = {m: torch.zeros(b, 0) for m in self.config.modality_names}
            return QAMoEOutput(y, torch.zeros(b), ones, empty, empty, {}, {})

    try:
        dataset = make_synthetic(0, sizes={"train": 32, "valid": 16, "test": 16})
        config = model_config_for(dataset, d_model=16, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=16)
        checkpoint, _ = train_model(dataset, config, replace(TrainConfig(), epochs=1, device="cpu"),
                                    architecture="test-mean-pool")
        assert checkpoint.provenance["architecture"] == "test-mean-pool"
    finally:
        MODELS.pop("test-mean-pool", None)


@pytest.mark.parametrize("arch", BASELINES)
def test_mean_pooled_baselines_keep_their_weights_and_maxpool_adds_one_projection(arch, small_config):
    """Checkpoints of the mean-pooled baselines (their design, trained before the option) still load:
    the option adds weights only when on, one projection per pooled stream."""
    mean = set(build_model(arch, small_config).state_dict())
    both = set(build_model(arch, replace(small_config, baseline_max_pooling=True)).state_dict())
    assert not any(".pool." in k or k.startswith("pool.") for k in mean)
    added = both - mean
    assert added and all(k.startswith("pool.") and ".project." in k for k in added)
    assert mean <= both


def test_clip_pool_takes_the_peak_of_the_valid_frames_only():
    from qamoe.baselines import ClipPool

    h = torch.zeros(1, 4, 2)
    h[0, 1] = torch.tensor([3.0, -1.0])  # a one-frame burst
    h[0, 3] = 100.0  # padding
    valid = torch.tensor([[True, True, True, False]])
    pool = ClipPool(2, max_pooling=True)
    with torch.no_grad():  # project [mean, max] onto max
        pool.project.weight.copy_(torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
        pool.project.bias.zero_()
    torch.testing.assert_close(pool(h, valid), torch.tensor([[3.0, 0.0]]))
    torch.testing.assert_close(ClipPool(2, max_pooling=False)(h, valid), torch.tensor([[1.0, -1.0 / 3]]))
