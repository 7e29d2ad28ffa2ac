"""Small untrained checkpoints for tests that save, load or damage one."""

from __future__ import annotations

import numpy as np
import torch

from qamoe.checkpoint import Checkpoint
from qamoe.config import QAMoEConfig
from qamoe.feature_stats import FeatureStats
from qamoe.model import QAMoE


def make_checkpoint(config: QAMoEConfig, seed: int = 0, extra: dict | None = None) -> Checkpoint:
    """A QA-MoE of `config` with weights drawn under torch seed `seed`, unit feature statistics
    (mean 0, std 1, sigma_ref 1 per feature) and provenance {"seed": seed}."""
    torch.manual_seed(seed)
    stats = {m.name: FeatureStats(np.zeros(m.dim, np.float32), np.ones(m.dim, np.float32), np.ones(m.dim, np.float32))
             for m in config.modalities}
    return Checkpoint(QAMoE(config).eval(), stats, {"seed": seed}, dict(extra or {}))
