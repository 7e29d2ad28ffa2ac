"""Loaders of the standard CMU-MOSI / MOSEI pickles, on small generated files of the exact MMSA and
MulT layouts (including their quirks), and the refusal of pickles that try to run code."""

import os
import pickle

import numpy as np
import pytest

from qamoe.dataset import DataError
from qamoe.data.mmsa import compact
from qamoe.data.registry import load_dataset

SIZES = {"train": 12, "valid": 5, "test": 7}


def mmsa_split(rng, n, *, aligned, dims=(768, 5, 20), classification=False):
    """One split exactly as MMSA's aligned_50.pkl / unaligned_50.pkl hold it (MOSI sizes)."""
    d_t, d_a, d_v = dims
    t_t, t_a, t_v = (50, 50, 50) if aligned else (50, 500, 375)
    text_len = rng.integers(5, t_t + 1, n)
    mask = (np.arange(t_t)[None, :] < text_len[:, None]).astype(np.float32)
    ids = np.where(mask > 0, rng.integers(1000, 30000, (n, t_t)), 0).astype(np.float32)
    ids[:, 0] = 101  # [CLS]
    text_bert = np.stack([ids, mask, np.zeros_like(mask)], axis=1)  # (N, 3, 50)
    text = rng.standard_normal((n, t_t, d_t)).astype(np.float32)  # BERT states are non-zero on padding too
    a_len = text_len if aligned else rng.integers(1, t_a + 1, n)
    v_len = text_len if aligned else rng.integers(1, t_v + 1, n)
    audio = rng.standard_normal((n, t_a, d_a)).astype(np.float32) * (np.arange(t_a)[None, :, None] < a_len[:, None, None])
    audio[0, 0, 0] = -np.inf  # COVAREP's -inf
    vision = rng.standard_normal((n, t_v, d_v)).astype(np.float32) * (np.arange(t_v)[None, :, None] < v_len[:, None, None])
    split = {
        "raw_text": np.array([f"utterance {i}" for i in range(n)], dtype=object),
        "audio": audio,
        "vision": vision,
        "id": np.array([f"03bSnISJMiM$_${i}" for i in range(n)], dtype=object),
        "text": text,
        "text_bert": text_bert,
        "annotations": np.array(["Positive"] * n, dtype=object),
        "classification_labels": rng.integers(0, 6, n).astype(np.float32) if classification else np.zeros(n),
        "regression_labels": np.round(rng.uniform(-3, 3, n), 1).astype(np.float32),
    }
    if classification:
        del split["regression_labels"]
    else:
        del split["classification_labels"]
    if not aligned:
        split["audio_lengths"] = [int(x) for x in a_len]  # a list, as in MMSA's files
        split["vision_lengths"] = np.asarray(v_len)
    return split, {"text": text_len, "audio": a_len, "vision": v_len}


def write(path, obj, protocol=4):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("aligned", [True, False])
def test_mmsa_layout_loads_with_lengths_ids_and_clean_audio(tmp_path, aligned):
    rng = np.random.default_rng(0)
    data, truth = {}, {}
    for split, n in SIZES.items():
        data[split], truth[split] = mmsa_split(rng, n, aligned=aligned)
    path = write(tmp_path / ("aligned_50.pkl" if aligned else "unaligned_50.pkl"), data)
    dataset = load_dataset("mosi", str(path))
    assert dataset.task == "regression"
    assert dataset.modality_dims == {"text": 768, "audio": 5, "vision": 20}
    test = dataset.splits["test"]
    assert len(test) == SIZES["test"]
    assert test.ids[3] == "03bSnISJMiM$_$3"
    np.testing.assert_allclose(test.labels, data["test"]["regression_labels"])
    for name in ("text", "audio", "vision"):
        np.testing.assert_array_equal(test.modalities[name].lengths, truth["test"][name])
    train_audio = dataset.splits["train"].modalities["audio"].features
    assert np.isfinite(train_audio).all() and train_audio[0, 0, 0] == 0.0  # -inf -> 0
    # frames past a sample's length are zero (BERT's padding states are dropped)
    text = test.modalities["text"]
    assert not text.features[~text.mask()].any()
    # a folder holding the file works too
    assert load_dataset("mosi", str(tmp_path)).modality_dims["vision"] == 20


def test_mosei_feature_sizes(tmp_path):
    rng = np.random.default_rng(1)
    data = {s: mmsa_split(rng, n, aligned=True, dims=(768, 74, 35))[0] for s, n in SIZES.items()}
    dataset = load_dataset("mosei", str(write(tmp_path / "aligned_50.pkl", data)))
    assert dataset.modality_dims == {"text": 768, "audio": 74, "vision": 35}


def mult_split(rng, n, dims=(300, 74, 35)):
    """One split of MulT's mosei_senti_data.pkl: front-padded, no lengths, labels (N, 1, 1), ids (N, 3)."""
    lengths = rng.integers(1, 51, n)
    out = {}
    for name, d in zip(("text", "audio", "vision"), dims):
        x = np.zeros((n, 50, d), dtype=np.float32)
        for i, length in enumerate(lengths):
            x[i, 50 - length :] = rng.standard_normal((length, d)) + 0.1  # padding at the FRONT
        out[name] = x
    out["labels"] = np.round(rng.uniform(-3, 3, (n, 1, 1)), 1).astype(np.float32)
    out["id"] = np.array([[f"vid{i}", str(i * 2), str(i * 2 + 1)] for i in range(n)])
    return out, lengths


def test_mult_layout_moves_front_padding_to_the_back(tmp_path):
    rng = np.random.default_rng(2)
    data, lengths = {}, {}
    for split, key in (("train", "train"), ("valid", "valid"), ("test", "test")):
        data[key], lengths[split] = mult_split(rng, SIZES[split])
    dataset = load_dataset("mosei", str(write(tmp_path / "mosei_senti_data.pkl", data)))
    test = dataset.splits["test"]
    assert dataset.modality_dims == {"text": 300, "audio": 74, "vision": 35}
    np.testing.assert_allclose(test.labels, data["test"]["labels"].ravel())
    assert test.ids[2] == "vid2$_$4_5"
    for name in ("text", "audio", "vision"):
        m = test.modalities[name]
        np.testing.assert_array_equal(m.lengths, lengths["test"])
        for i, length in enumerate(lengths["test"]):
            np.testing.assert_array_equal(m.features[i, :length], data["test"][name][i, 50 - length :])
            assert not m.features[i, length:].any()


def test_compact_handles_front_and_back_padding_with_lengths():
    x = np.zeros((2, 4, 1), dtype=np.float32)
    x[0, :2, 0] = [1, 2]  # back padded
    x[1, 2:, 0] = [3, 4]  # front padded
    out, lengths = compact(x, np.array([2, 2]))
    np.testing.assert_array_equal(out[:, :2, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(lengths, [2, 2])
    out, lengths = compact(np.zeros((1, 3, 2), dtype=np.float32))
    assert lengths.tolist() == [1]


def test_classification_set_trains_through_the_same_core(tmp_path):
    from dataclasses import replace

    from qamoe.train import TrainConfig, model_config_for, train_model

    rng = np.random.default_rng(3)
    data = {s: mmsa_split(rng, n, aligned=True, dims=(16, 5, 4), classification=True)[0] for s, n in SIZES.items()}
    dataset = load_dataset("iemocap", str(write(tmp_path / "iemocap.pkl", data)))
    assert dataset.task == "classification" and dataset.num_classes == 6
    assert dataset.class_names[0] == "happy"
    config = model_config_for(dataset, d_model=16, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=16)
    checkpoint, history = train_model(dataset, config, replace(TrainConfig(), epochs=1, device="cpu"))
    assert checkpoint.config.num_classes == 6
    assert set(history["history"][0]["valid_clean"]) == {"Acc", "F1_score"}


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/qamoe-evil-marker",))


def test_a_pickle_that_tries_to_run_code_is_refused(tmp_path):
    marker = "/tmp/qamoe-evil-marker"
    if os.path.exists(marker):
        os.remove(marker)
    rng = np.random.default_rng(4)
    data = {s: mmsa_split(rng, n, aligned=True)[0] for s, n in SIZES.items()}
    data["train"]["raw_text"] = Evil()
    path = write(tmp_path / "aligned_50.pkl", data)
    with pytest.raises(DataError, match="refused"):
        load_dataset("mosi", str(path))
    assert not os.path.exists(marker)


def test_broken_files_fail_with_a_message(tmp_path):
    with pytest.raises(DataError, match="needs --data"):
        load_dataset("mosi")
    with pytest.raises(DataError, match="does not exist|holds none"):
        load_dataset("mosi", str(tmp_path / "nope.pkl"))
    rng = np.random.default_rng(5)
    data = {s: mmsa_split(rng, n, aligned=True)[0] for s, n in SIZES.items()}
    del data["test"]["vision"]
    with pytest.raises(DataError, match="vision"):
        load_dataset("mosi", str(write(tmp_path / "a.pkl", data)))
    (tmp_path / "b.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError):
        load_dataset("mosi", str(tmp_path / "b.pkl"))
    with pytest.raises(DataError, match="dict of splits"):
        load_dataset("mosi", str(write(tmp_path / "c.pkl", [1, 2, 3])))
