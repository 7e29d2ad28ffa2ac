import qamoe  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads; see qamoe/__init__.py)
import pytest
import torch

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec, QAMoEConfig


@pytest.fixture
def small_config() -> QAMoEConfig:
    """A QA-MoE small enough to run in milliseconds, with all three modality kinds."""
    return QAMoEConfig(
        modalities=(ModalitySpec("text", 6, TOKENS), ModalitySpec("audio", 5, CONTINUOUS), ModalitySpec("vision", 4, CONTINUOUS)),
        d_model=16,
        encoder_heads=2,
        num_experts=4,
        top_k=2,
        expert_hidden=32,
        dropout=0.0,
    )


@pytest.fixture
def small_batch(small_config):
    torch.manual_seed(0)
    b, t = 5, 7
    features = {m.name: torch.randn(b, t, m.dim) for m in small_config.modalities}
    lengths = {m.name: torch.tensor([7, 3, 1, 5, 7]) for m in small_config.modalities}
    return features, lengths
