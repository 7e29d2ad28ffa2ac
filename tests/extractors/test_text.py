"""Word-level MiniLM embeddings: size, timestamps, streaming == offline, context, errors."""

import numpy as np
import pytest

from qamoe.extractors.base import ExtractorUnavailable, Word, stack_frames


def words(text: str, t0: float = 0.0) -> list[Word]:
    return [Word(t0 + 0.3 * i, t0 + 0.3 * i + 0.25, w, 0.9) for i, w in enumerate(text.split())]


def test_one_frame_per_word_with_its_times(embedder):
    ws = words("I really loved this unbelievably good film")
    frames = embedder.run([ws])
    assert embedder.dim == 384 and len(frames) == len(ws)
    assert [(f.start, f.end) for f in frames] == [(w.start, w.end) for w in ws]
    values, _ = stack_frames(frames, 384)
    assert np.isfinite(values).all() and (np.linalg.norm(values, axis=1) > 1).all()


def test_streaming_word_by_word_equals_offline(embedder):
    ws = words("the acting was wooden but the music saved it for me in the end")
    offline = stack_frames(embedder.run([ws]), 384)[0]
    live = stack_frames(embedder.run(ws), 384)[0]  # one word per feed, as ASR delivers them
    assert np.allclose(offline, live, atol=1e-4)


def test_partial_words_are_ignored(embedder):
    embedder.reset()
    assert embedder.feed(Word(0, 0.2, "maybe", 0.0, final=False)) == []


def test_vectors_are_contextual_and_meaningful(embedder):
    def vec(text):
        return stack_frames(embedder.run([words(text)]), 384)[0][-1]

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    happy, glad, table = vec("i am so happy"), vec("i am so glad"), vec("i am so table")
    assert cos(happy, glad) > cos(happy, table)
    assert not np.allclose(vec("river bank"), vec("money bank"))  # the same word in two contexts


def test_long_streams_keep_a_bounded_causal_context(embedder):
    long = words(" ".join(["word"] * 60 + ["great"]))
    frames = embedder.run([long])
    assert len(frames) == 61
    # only the last 24 words are context, so the same 25-word tail gives the same vector
    tail = stack_frames(embedder.run([long[-25:]]), 384)[0][-1]
    assert np.allclose(frames[-1].values, tail, atol=1e-4)


def test_unknown_and_absent_backends_say_what_is_missing(embedder):
    from qamoe.extractors.text import TextEmbedder, transcript_words

    with pytest.raises(ExtractorUnavailable, match="unknown text backend"):
        TextEmbedder("no-such-model")
    try:
        TextEmbedder("bert")
    except ExtractorUnavailable as exc:
        assert "bert" in str(exc) and "offline" in str(exc)
    spread = transcript_words("a b c d", 1.0, 3.0)
    assert [w.start for w in spread] == [1.0, 1.5, 2.0, 2.5] and spread[-1].end == 3.0
