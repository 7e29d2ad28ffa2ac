"""Hostile inputs: each gets a clear error, and nothing written before is lost."""

import errno
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import qamoe.checkpoint as checkpoint_module
import qamoe.files as files_module
from qamoe.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from qamoe.dataset import DataError, ModalityData
from qamoe.data.safe_pickle import safe_load, safe_loads
from qamoe.model import QAMoE
from support.checkpoints import make_checkpoint


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_disk_full_while_writing_weights_keeps_the_previous_checkpoint(tmp_path, small_config, monkeypatch):
    save_checkpoint(tmp_path, make_checkpoint(small_config, seed=0))
    before = snapshot(tmp_path)

    def fill_disk(tensors, path, metadata=None):
        with open(path, "wb") as handle:
            handle.write(b"\0" * 100)  # part of the file made it to disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "save_file", fill_disk)
    with pytest.raises(CheckpointError, match="No space left on device.*unchanged"):
        save_checkpoint(tmp_path, make_checkpoint(small_config, seed=1))
    assert snapshot(tmp_path) == before  # same files, same bytes, no temporaries left
    assert load_checkpoint(tmp_path).provenance == {"seed": 0}


def test_disk_full_while_writing_config_keeps_the_previous_checkpoint(tmp_path, small_config, monkeypatch):
    save_checkpoint(tmp_path, make_checkpoint(small_config, seed=0))
    before = snapshot(tmp_path)

    def failing_fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", failing_fsync)  # every file's flush to disk fails
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(tmp_path, make_checkpoint(small_config, seed=1))
    monkeypatch.undo()
    assert snapshot(tmp_path) == before


def test_tampered_safetensors_header_is_refused(tmp_path, small_config):
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    path = tmp_path / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:20] = b"#" * 12  # corrupt the JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(tmp_path)


def test_weights_holding_nan_are_refused(tmp_path, small_config):
    ck = make_checkpoint(small_config)
    with torch.no_grad():
        ck.model.value_head.weight[0, 0] = float("nan")
    save_checkpoint(tmp_path, ck)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path)


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_a_data_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "aligned_50.pkl"
    path.write_bytes(pickle.dumps({"train": {"audio": RunsCode(marker)}}))
    with pytest.raises(DataError, match="refused to load global builtins.exec"):
        safe_load(path)
    assert not marker.exists()


def test_truncated_pickle_and_missing_file(tmp_path):
    data = pickle.dumps({"train": {"audio": np.zeros((3, 4))}})
    with pytest.raises(DataError, match="truncated"):
        safe_loads(data[: len(data) // 2])
    with pytest.raises(DataError, match="does not exist"):
        safe_load(tmp_path / "nope.pkl")


# ---- property-based: loaders and degradation -------------------------------------------------

arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
    shape=hnp.array_shapes(max_dims=3, max_side=5),
)
containers = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8), arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


def same(a, b):
    if isinstance(a, np.ndarray):
        nan_is_equal = a.dtype.kind in "fc"  # a NaN that survived the round trip is the same value
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=nan_is_equal)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@settings(max_examples=60, deadline=None)
@given(containers, st.integers(0, 5))
def test_safe_pickle_round_trips_arrays_and_containers(obj, protocol):
    assert same(safe_loads(pickle.dumps(obj, protocol=protocol)), obj)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_safe_pickle_never_crashes_on_garbage(blob):
    try:
        safe_loads(blob)
    except DataError:
        pass


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, max_side=4),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_modality_data_accepts_only_finite_features(features):
    lengths = np.full(features.shape[0], features.shape[1])
    if np.isfinite(features).all():
        assert ModalityData(features, lengths).features.dtype == np.float32
    else:
        with pytest.raises(DataError, match="NaN or infinity"):
            ModalityData(features, lengths)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="ab1.-,e \"x$_naif", max_size=8), min_size=0, max_size=6), max_size=6))
def test_labels_table_reader_fails_only_with_a_labels_error(tmp_path_factory, rows):
    """Any CSV content: either valid records, or a LabelsError that says what is wrong."""
    from qamoe.extractors.labels import LabelsError, read_labels

    path = tmp_path_factory.mktemp("labels") / "labels.csv"
    path.write_text("\n".join(",".join(row) for row in rows))
    try:
        records = read_labels(path)
    except LabelsError as err:
        assert str(err)
    else:  # what is accepted is usable: finite labels, ordered times, ids without separators
        for r in records:
            assert np.isfinite(r.label)
            assert r.start is None or r.end is None or r.start <= r.end
            assert r.video_id


def test_disk_full_while_saving_training_state_keeps_the_last_complete_one(tmp_path, small_config, monkeypatch):
    import qamoe.train_state as train_state_module
    from qamoe.train_state import TrainState, load_train_state, save_train_state

    model = QAMoE(small_config)
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 10)
    save_train_state(tmp_path, TrainState(epoch=1, best_score=0.5, best_epoch=1), model, optimizer, scheduler)

    def fill_disk(tensors, path, metadata=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train_state_module, "save_file", fill_disk)
    with pytest.raises(CheckpointError, match="No space left.*last complete state is intact"):
        save_train_state(tmp_path, TrainState(epoch=2), model, optimizer, scheduler)
    monkeypatch.undo()
    restored = load_train_state(tmp_path, QAMoE(small_config), optimizer, scheduler)
    assert restored.epoch == 1 and restored.best_score == 0.5


# ---------------------------------------------------------------- configs outside sane bounds (issue 14)

def edit_config(directory, change):
    import json

    path = directory / "config.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


MEMORY_BOMBS = {
    "d_model 4e6": (lambda m: m["model"].update(d_model=4_000_000), "'d_model' must be an integer in"),
    "num_experts 1e8": (lambda m: m["model"].update(num_experts=100_000_000), "'num_experts' must be an integer in"),
    "expert_hidden 1e9": (lambda m: m["model"].update(expert_hidden=1_000_000_000), "'expert_hidden' must be an integer in"),
    "encoder_layers 1e5": (lambda m: m["model"].update(encoder_layers=100_000), "'encoder_layers' must be an integer in"),
    "encoder_heads 0": (lambda m: m["model"].update(encoder_heads=0), "'encoder_heads' must be an integer in"),
    "feature dim 1e9": (lambda m: m["model"]["modalities"][1].update(dim=1_000_000_000), "above the sane limit"),
    "inside every bound, too big together": (
        lambda m: m["model"].update(d_model=8192, num_experts=1024, top_k=2, expert_hidden=65536), "parameters"),
    "bigger than the weights file": (
        lambda m: m["model"].update(d_model=1024, num_experts=16, top_k=2, expert_hidden=4096), "does not belong to these weights"),
    "feature std 0": (lambda m: m["feature_stats"]["audio"]["std"].__setitem__(0, 0.0), "standard deviation of zero"),
    "variance_scale 1e308": (lambda m: m["extra"].update(uncertainty={"variance_scale": 1e308}), "variance_scale"),
    "variance_scale Infinity": (lambda m: m["extra"].update(uncertainty={"variance_scale": float("inf")}), "variance_scale"),
    "variance_scale -1": (lambda m: m["extra"].update(uncertainty={"variance_scale": -1.0}), "variance_scale"),
}


@pytest.mark.parametrize("case", list(MEMORY_BOMBS))
def test_checkpoint_configs_outside_sane_bounds_are_refused_before_any_allocation(tmp_path, small_config, monkeypatch, case):
    change, message = MEMORY_BOMBS[case]
    save_checkpoint(tmp_path, make_checkpoint(small_config))
    edit_config(tmp_path, change)

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built from a config that should have been refused")

    monkeypatch.setattr(checkpoint_module, "build_model", no_model)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path)


def test_configs_outside_bounds_are_refused_by_the_dataclass_itself():
    from qamoe.config import QAMoEConfig

    for bad in ({"encoder_heads": 0}, {"d_model": 0}, {"num_experts": 10**8}, {"dropout": 1.5}, {"dropout": float("nan")},
                {"encoder_layers": -1}, {"load_balance_weight": float("inf")}):
        with pytest.raises(ValueError, match="model config field|out of range"):
            QAMoEConfig(**bad)
    assert QAMoEConfig(encoder_layers=0, num_experts=1, top_k=1).encoder_layers == 0  # the edges are allowed


def test_predict_json_never_prints_infinity(tmp_path, small_config):
    """A checkpoint that loads gives finite numbers; a damaged variance scale is refused, so `--json`
    cannot print `Infinity` (not JSON)."""
    from qamoe.variance_scale import VarianceScale

    ck = make_checkpoint(small_config)
    ck.extra["uncertainty"] = {"variance_scale": 1e308}
    save_checkpoint(tmp_path, ck)
    with pytest.raises(CheckpointError, match="variance_scale"):
        load_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="variance_scale"):
        VarianceScale.from_extra({"uncertainty": {"variance_scale": 1e308}})


def test_a_full_disk_reported_by_safetensors_itself_is_a_checkpoint_error(tmp_path, small_config, monkeypatch):
    """safetensors raises its own SafetensorError ("I/O error: No space left on device"), not OSError."""
    from safetensors import SafetensorError

    import qamoe.train_state as train_state_module
    from qamoe.train_state import TrainState, save_train_state

    save_checkpoint(tmp_path, make_checkpoint(small_config, seed=0))
    before = snapshot(tmp_path)

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint_module, "save_file", full)
    with pytest.raises(CheckpointError, match="No space left on device.*unchanged"):
        save_checkpoint(tmp_path, make_checkpoint(small_config, seed=1))
    assert snapshot(tmp_path) == before
    monkeypatch.setattr(train_state_module, "save_file", full)
    model = QAMoE(small_config)
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    with pytest.raises(CheckpointError, match="No space left on device.*--resume"):
        save_train_state(tmp_path / "run", TrainState(epoch=1), model, optimizer, scheduler)
