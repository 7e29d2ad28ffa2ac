import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from qamoe.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from support.checkpoints import make_checkpoint


def test_round_trip_gives_identical_predictions(tmp_path, small_config, small_batch):
    ck = make_checkpoint(small_config, seed=1, extra={"variance_scale": 1.5})
    save_checkpoint(tmp_path, ck)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_checkpoint(tmp_path)
    assert loaded.config == small_config
    assert loaded.provenance == {"seed": 1} and loaded.extra == {"variance_scale": 1.5}
    torch.testing.assert_close(loaded.model(*small_batch).prediction, ck.model(*small_batch).prediction)
    np.testing.assert_array_equal(loaded.stats["audio"].sigma_ref, ck.stats["audio"].sigma_ref)


def test_other_config_is_refused_by_name(tmp_path, small_config):
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    with pytest.raises(CheckpointError, match="num_experts"):
        load_checkpoint(tmp_path, expect=replace(small_config, num_experts=8))


def test_weights_from_another_config_are_refused(tmp_path, small_config):
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    other = tmp_path / "other"
    save_checkpoint(other, make_checkpoint(replace(small_config, d_model=32)))
    (tmp_path / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path)


def test_a_config_edited_to_contradict_its_weights_is_refused(tmp_path, small_config):
    """Issue 20, class 8: other encoder heads keep every tensor's shape and loaded silently."""
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    meta = json.loads((tmp_path / "config.json").read_text())
    heads = meta["model"]["encoder_heads"]
    meta["model"]["encoder_heads"] = 1 if heads != 1 else 2
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="differs in: encoder_heads"):
        load_checkpoint(tmp_path)
    meta["model"]["encoder_heads"] = heads  # put back: loads again
    (tmp_path / "config.json").write_text(json.dumps(meta))
    assert load_checkpoint(tmp_path).config == small_config


def test_truncated_weights_are_refused(tmp_path, small_config):
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(tmp_path)


def test_a_pickle_in_place_of_weights_is_refused_without_running_it(tmp_path, small_config):
    import pickle

    save_checkpoint(tmp_path, make_checkpoint(small_config))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(format="other"), "not a QA-MoE checkpoint"),
        (lambda m: m.update(version=99), "version 99"),
        (lambda m: m["model"].update(d_model="big"), "d_model"),
        (lambda m: m["model"].update(colour=1), "colour"),
        (lambda m: m.pop("feature_stats"), "feature_stats"),
        (lambda m: m["feature_stats"]["audio"].update(mean=[0.0]), "shape"),
    ],
)
def test_bad_config_json_is_refused_with_a_message(tmp_path, small_config, edit, message):
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    meta = json.loads((tmp_path / "config.json").read_text())
    edit(meta)
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path)


def test_missing_directory_and_invalid_json(tmp_path, small_config):
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)


def test_saving_again_leaves_no_temporary_files(tmp_path, small_config):
    ck = make_checkpoint(small_config)
    save_checkpoint(tmp_path, ck)
    save_checkpoint(tmp_path, ck)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_half_precision_checkpoint_loads_as_float32_and_is_smaller(tmp_path, small_config, small_batch):
    ck = make_checkpoint(small_config)
    save_checkpoint(tmp_path / "full", ck)
    save_checkpoint(tmp_path / "half", ck, half=True)
    full_size = (tmp_path / "full" / "model.safetensors").stat().st_size
    half_size = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half_size < 0.6 * full_size
    loaded = load_checkpoint(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    torch.testing.assert_close(loaded.model(*small_batch).prediction, ck.model(*small_batch).prediction, atol=5e-3, rtol=0)
