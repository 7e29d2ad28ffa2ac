"""Fixtures for the live-pipeline tests: a small simulator checkpoint (the shipped one when the
build has it, else one trained here in seconds), and a pipeline factory over it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qamoe.checkpoint import load_checkpoint, save_checkpoint
from qamoe.realtime import checkpoints
from qamoe.shipped import exists, shipped_checkpoint
from qamoe.inference import InferenceEngine
from qamoe.realtime.pipeline import Pipeline, WindowConfig
from qamoe.realtime.sources import SourceBoard


def train_small_simulator_checkpoint(out: Path) -> Path:
    """A deliberately small QA-MoE on a small simulator draw: it exercises the pipeline, not accuracy."""
    from qamoe.data.synthetic import make_synthetic
    from qamoe.train import TrainConfig, model_config_for, train_model

    dataset = make_synthetic(0, sizes={"train": 192, "valid": 48, "test": 8})
    config = replace(model_config_for(dataset), d_model=32, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=64)
    checkpoint, _ = train_model(dataset, config, TrainConfig(epochs=1, batch_size=32, lr=3e-3),
                                provenance={"dataset_args": {"dataset": "synthetic", "data_seed": 0}})
    save_checkpoint(out, checkpoint)
    return out


@pytest.fixture(scope="session")
def sim_checkpoint_dir(tmp_path_factory) -> Path:
    shipped = shipped_checkpoint("simulator")
    if exists(shipped):
        return shipped
    return train_small_simulator_checkpoint(tmp_path_factory.mktemp("sim-checkpoint"))


@pytest.fixture(scope="session")
def sim_checkpoint(sim_checkpoint_dir):
    return load_checkpoint(sim_checkpoint_dir)


@pytest.fixture
def dims(sim_checkpoint) -> dict[str, int]:
    """Feature size per modality of the simulator checkpoint."""
    return {m.name: m.dim for m in sim_checkpoint.config.modalities}


@pytest.fixture
def make_pipeline(sim_checkpoint):
    """make_pipeline(processors=(), window=None, sources=()) -> a fresh Pipeline over the simulator
    checkpoint, its board holding `sources` (recordings for a ReplayDriver, devices for a LiveDriver)."""

    def make(processors=(), window: WindowConfig | None = None, sources=()) -> Pipeline:
        engine = InferenceEngine(sim_checkpoint)
        return Pipeline.build(engine, list(processors), window, board=SourceBoard(sources))

    return make
