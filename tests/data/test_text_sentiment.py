"""The VADER text-sentiment loader: deterministic splits, label scale, the face windows, and `load`
on a cache written here (no extractor runs; the build is tested in tests/extractors/datasets)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qamoe.data import text_sentiment as ts
from qamoe.data.window import WINDOW_S
from qamoe.dataset import DataError
from support.data import shared_data


@pytest.fixture(scope="module")
def vader():
    """The VADER ground-truth folder (tweets, movie and Amazon review snippets)."""
    return shared_data("text-sentiment", "vader-gt")


def test_split_is_deterministic_and_proportioned():
    keys = [f"tweets:{i}" for i in range(20000)]
    first = [ts.split_of(k) for k in keys]
    assert first == [ts.split_of(k) for k in keys]
    share = {s: first.count(s) / len(keys) for s in ("train", "valid", "test")}
    assert abs(share["train"] - 0.8) < 0.02 and abs(share["valid"] - 0.1) < 0.01 and abs(share["test"] - 0.1) < 0.01


def test_label_scale_and_clip():
    assert ts.Text("tweets", "1", 4.0, "x").label == pytest.approx(3.0)
    assert ts.Text("tweets", "1", -2.0, "x").label == pytest.approx(-1.5)
    assert ts.Text("tweets", "1", 5.0, "x").label == 3.0


def test_read_and_select(vader):
    texts = ts.read_texts(vader)
    assert len(texts) > 18000
    assert {t.source for t in texts} == set(ts.SOURCES)
    assert all(-4.0 <= t.rating <= 4.0 for t in texts)
    clean, spoken = ts.select(texts, 50, 5)
    assert len(clean) == 50 and len(spoken) == 5
    assert all(2 <= len(t.text.split()) <= ts.SPOKEN_MAX_WORDS for t in spoken)
    again = ts.select(list(reversed(texts)), 50, 5)
    assert [t.key for t in again[0]] == [t.key for t in clean]  # order of the files does not matter


def test_without_a_data_path_the_error_names_the_option_and_the_variable(monkeypatch):
    monkeypatch.delenv("QAMOE_SHARED_DATA", raising=False)
    with pytest.raises(DataError, match="--data.*QAMOE_SHARED_DATA"):
        ts.read_texts()


def test_pack_and_unpack_are_inverse():
    seqs = [np.arange(6, dtype=np.float32).reshape(3, 2), np.zeros((0, 2), np.float32), np.ones((1, 2), np.float32)]
    flat, lengths = ts.pack(seqs, 2)
    assert flat.dtype == np.float16 and lengths.tolist() == [3, 0, 1]
    back = ts.unpack(flat, lengths)
    assert len(back) == 3 and all(np.array_equal(a, b) for a, b in zip(back, seqs))


def test_face_windows_are_real_face_frames_for_half_of_the_samples():
    rng = np.random.default_rng(0)
    pool = {"vision": rng.normal(size=(300, 20)).astype(np.float32), "lengths": np.array([200, 100])}
    keys = [f"clean:tweets:{i}" for i in range(400)]
    windows = ts.face_windows(pool, keys)
    again = ts.face_windows(pool, keys)  # deterministic: drawn from each key's hash
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(windows, again))
    given = [w for w in windows if w is not None]
    assert 0.4 < len(given) / len(keys) < 0.6
    assert all(8 <= len(w) <= int(WINDOW_S * ts.VISION_FPS) for w in given)
    flat = pool["vision"]
    assert all(any(np.array_equal(w[0], row) for row in flat) for w in given[:20])  # real frames, not noise


def test_load_reads_the_shards_and_fills_missing_modalities_with_the_train_mean(tmp_path):
    rng = np.random.default_rng(0)
    keys = [f"tweets:{i}" for i in range(40)]
    assert {ts.split_of(k) for k in keys} == {"train", "valid", "test"}
    words = [rng.normal(size=(int(n), 384)).astype(np.float32) for n in rng.integers(1, 6, len(keys))]
    text, text_lengths = ts.pack(words, 384)
    clean = {"keys": np.array(keys), "labels": np.linspace(-3, 3, len(keys)).astype(np.float32), "text": text,
             "text_lengths": text_lengths, "sentence": rng.normal(size=(len(keys), 384)).astype(np.float16)}
    spoken_keys = keys[:2]
    audio = [rng.normal(size=(5, 44)).astype(np.float32), np.zeros((0, 44), np.float32)]  # the second: no speech
    a_flat, a_lengths = ts.pack(audio, 44)
    s_text, s_lengths = ts.pack([words[0], np.zeros((0, 384), np.float32)], 384)  # the second: no words heard
    spoken = {"keys": np.array(spoken_keys), "labels": clean["labels"][:2], "text": s_text, "text_lengths": s_lengths,
              "audio": a_flat.astype(np.float32), "audio_lengths": a_lengths, "transcripts": np.array(["hi", ""]),
              "sentence": clean["sentence"][:2]}
    for kind, arrays in (("clean", clean), ("spoken", spoken)):
        (tmp_path / kind).mkdir()
        np.savez(tmp_path / kind / "shard_0000.npz", **arrays)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 2}))

    built = ts.load(tmp_path)
    ds = built.dataset
    assert ds.modality_dims == {"text": 384, "audio": 44, "vision": 20}
    assert sum(len(s) for s in ds.splits.values()) == len(keys) + 2
    assert built.manifest["vision_pool"] is None
    for split, data in ds.splits.items():
        assert all(ts.split_of(i.split(":", 1)[1]) == split for i in data.ids)  # a text and its spoken copy share a split
        assert np.all(data.modalities["vision"].features == 0) and np.all(data.modalities["vision"].lengths == 1)
    train_audio = [a for k, a in zip(spoken_keys, audio) if ts.split_of(k) == "train" and len(a)]
    expected_fill = np.concatenate(train_audio).mean(0) if train_audio else np.zeros(44)
    for split, data in ds.splits.items():
        audio_mod = data.modalities["audio"]
        for i, sample_id in enumerate(data.ids):
            if sample_id.startswith("clean:") or sample_id == f"asr:{spoken_keys[1]}":  # no audio: one filler frame
                assert audio_mod.lengths[i] == 1
                np.testing.assert_allclose(audio_mod.features[i, 0], expected_fill, atol=1e-3)
            else:
                assert audio_mod.lengths[i] == 5
        assert (built.kinds[split] == "asr").sum() == sum(i.startswith("asr:") for i in data.ids)
        assert built.sentence[split].shape == (len(data), 384)


def test_load_names_the_build_when_nothing_was_built(tmp_path):
    with pytest.raises(DataError, match="qamoe.extractors.datasets.text_sentiment"):
        ts.load(tmp_path)
