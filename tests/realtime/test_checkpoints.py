"""Which checkpoint `qamoe-live` loads by default."""

from __future__ import annotations

import shutil

import pytest

from qamoe.checkpoint import CheckpointError
from qamoe.realtime import checkpoints


def test_demo_prefers_the_shipped_checkpoint_then_the_cache_then_trains_once(sim_checkpoint_dir, tmp_path, monkeypatch):
    shipped, cache = tmp_path / "assets" / "simulator", tmp_path / "cache"
    monkeypatch.setattr(checkpoints, "shipped_checkpoint", lambda name: {"simulator": shipped}[name])
    monkeypatch.setattr(checkpoints, "cache_dir", lambda: cache)
    trained = []

    def fake_train(out, console=None):
        trained.append(out)
        shutil.copytree(sim_checkpoint_dir, out)
        return checkpoints.load_checkpoint(out)

    monkeypatch.setattr(checkpoints, "train_demo_checkpoint", fake_train)
    first = checkpoints.demo_checkpoint()
    assert trained == [cache / "demo"] and first.config.modality_names == ("text", "audio", "vision")
    checkpoints.demo_checkpoint()
    assert len(trained) == 1  # cached: not trained again
    shutil.copytree(sim_checkpoint_dir, shipped)
    (cache / "demo" / "config.json").write_text("{broken")  # the shipped one wins, the cache is not read
    assert checkpoints.demo_checkpoint().config.modality_names == ("text", "audio", "vision")


def test_media_checkpoint_without_a_shipped_one_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "shipped_checkpoint", lambda name: {"live": tmp_path / "none"}[name])
    with pytest.raises(CheckpointError, match="pass --checkpoint DIR"):
        checkpoints.media_checkpoint()


def test_data_seed_comes_from_provenance(sim_checkpoint):
    assert checkpoints.data_seed_of(sim_checkpoint) == 0
