"""Voice features: the recogniser's encoder states, their pooling, the voice-emotion head and the rule
that gives every acoustic frame its utterance's estimate."""

from __future__ import annotations

import numpy as np
import pytest

from support.media import chunks, speech_track
from support.require import need_module


@pytest.fixture(scope="module")
def two_sentences():
    return speech_track(["the weather is really nice today", "i did not like this movie at all"], gap_s=1.0)


@pytest.fixture
def keeping(recognizer):
    """The session's recogniser with keep_voice on for one test (it is off by default)."""
    recognizer.keep_voice = True
    yield recognizer
    recognizer.keep_voice, recognizer.decode, recognizer.partial_interval_s = False, True, 1.0
    recognizer.pop_voice()


def test_every_decode_leaves_its_encoder_states_the_same_as_an_encode_alone(keeping, two_sentences):
    audio, spans = two_sentences
    keeping.partial_interval_s = None
    words = keeping.run(chunks(audio))
    voice = keeping.pop_voice()
    assert words and len(voice) == len(spans)  # one final encoding per utterance
    assert keeping.pop_voice() == []  # handed over once
    for v, (start, end, _) in zip(voice, spans):
        assert v.final and v.states.shape[1] == 384
        assert v.start <= start + 0.1 and v.end >= end - 0.1
        assert len(v.states) == pytest.approx((v.end - v.start) * 50, abs=1)
    # the encoder pass alone, on the same samples, gives the same states (what the dataset builds use)
    first = voice[0]
    samples = audio[int(round(first.start * 16000)) : int(round(first.end * 16000))]
    keeping.encode(samples, first.start)
    (alone,) = keeping.pop_voice()
    np.testing.assert_allclose(alone.states, first.states, atol=1e-4)


def test_a_recogniser_that_is_not_asked_keeps_no_states(recognizer, two_sentences):
    audio, _ = two_sentences
    assert not recognizer.keep_voice and recognizer.run(chunks(audio))
    assert recognizer.pop_voice() == []  # a long run that nobody pops holds nothing


def test_encode_only_mode_gives_states_without_words(keeping, two_sentences):
    audio, spans = two_sentences
    keeping.decode, keeping.partial_interval_s = False, None
    words = keeping.run(chunks(audio))
    voice = keeping.pop_voice()
    assert words == [] and len(voice) == len(spans) and all(v.final for v in voice)


def test_pool_states_is_mean_then_std():
    from qamoe.extractors.voice import pool_states

    states = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    np.testing.assert_allclose(pool_states(states), [2.0, 4.0, 1.0, 2.0])
    assert pool_states(None, dim=3).tolist() == [0.0] * 6


def test_voice_for_frames_gives_each_frame_its_latest_utterance():
    from qamoe.data.voice_head import fit
    from qamoe.extractors.asr import VoiceStates
    from qamoe.extractors.voice import UNIFORM, VoiceEmotion, voice_for_frames

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 8))
    y = np.repeat(np.arange(8), 10)
    x[np.arange(80), y] += 4.0  # class k: feature k high
    emotion = VoiceEmotion(fit(x, y, l2=1e-3))
    first = VoiceStates(1.0, 2.0, 4 * np.eye(4, dtype=np.float32)[[0, 0]], final=True)   # mean feature 0 high
    second = VoiceStates(3.0, 4.0, 4 * np.eye(4, dtype=np.float32)[[2, 2]], final=True)  # mean feature 2 high
    partial = VoiceStates(3.0, 3.5, 4 * np.eye(4, dtype=np.float32)[[3, 3]], final=False)  # superseded by the final
    times = np.array([[0.5, 0.6], [1.5, 1.6], [2.5, 2.6], [3.2, 3.3], [9.0, 9.1]])
    out = voice_for_frames(times, [second, partial, first], emotion)
    assert out.shape == (5, 8)
    np.testing.assert_allclose(out[0], UNIFORM)  # before any utterance: the prior
    assert out[1].argmax() == out[2].argmax() == 0  # the first utterance, and the gap after it
    assert out[3].argmax() == out[4].argmax() == 2


def test_voice_emotion_refuses_states_of_another_encoder():
    from qamoe.data.voice_head import fit
    from qamoe.extractors.voice import UNIFORM, VoiceEmotion

    y = np.repeat(np.arange(8), 3)
    emotion = VoiceEmotion(fit(np.random.default_rng(1).normal(size=(24, 6)), y))
    np.testing.assert_allclose(emotion.log_probs(np.zeros((0, 3))), UNIFORM)
    with pytest.raises(ValueError, match="3-value encoder states"):
        emotion.log_probs(np.zeros((5, 4), np.float32))


def test_shipped_voice_head_reads_tiny_en_states_and_refuses_another_recogniser():
    need_module("safetensors")
    from qamoe.extractors.base import ExtractorUnavailable
    from qamoe.extractors.voice import VoiceEmotion

    emotion = VoiceEmotion()
    assert emotion.state_dim == 384 and emotion.head.card["encoder"].startswith("whisper tiny.en")
    assert set(emotion.head.card["actors"]) <= set(range(1, 15))  # fitted on the train actors only

    class Base:
        model_name = "base"

    with pytest.raises(ExtractorUnavailable, match="tiny.en"):
        emotion.check_encoder(Base())


def test_clip_extractor_appends_each_utterance_voice_to_its_frames(tmp_path, two_sentences):
    need_module("faster_whisper")
    need_module("silero_vad")
    from qamoe.extractors.clip import ClipExtractor
    from qamoe.extractors.decode import write_float_wav
    from qamoe.extractors.voice import UNIFORM

    audio, spans = two_sentences
    path = tmp_path / "two.wav"
    write_float_wav(path, audio, 16000)
    extractor = ClipExtractor(voice=True)
    assert extractor.dims["audio"] == 52 and extractor.describe()["modalities"]["audio"]["feature_names"][-1] == "voice_surprised"
    for transcript in (None, "a given transcript"):  # a given transcript still runs the encoder for the voice
        clip = extractor.extract(path, transcript=transcript)
        audio_frames, times = clip.features["audio"], clip.times["audio"]
        assert audio_frames.shape[1] == 52
        voice = audio_frames[:, 44:]
        np.testing.assert_allclose(np.exp(voice).sum(1), 1.0, atol=1e-4)  # log-probabilities
        in_second = (times[:, 0] >= spans[1][0]) & (times[:, 1] <= spans[1][1])
        assert in_second.any() and not np.allclose(voice[in_second], UNIFORM)
        first = (times[:, 0] >= spans[0][0]) & (times[:, 1] <= spans[0][1])
        assert not np.allclose(voice[first][0], voice[in_second][0])  # each utterance its own estimate
        heard = " ".join(w.text for w in clip.words)
        assert heard == (transcript or heard) and ("movie" in heard) == (transcript is None)


def test_audio_feature_sets_follow_the_checkpoint_size_or_its_provenance():
    from qamoe.extractors.voice import uses_voice

    assert uses_voice(44) is False and uses_voice(52) is True
    assert uses_voice(52, "acoustic+voice") is True and uses_voice(44, "acoustic") is False
    with pytest.raises(ValueError, match="not 48"):
        uses_voice(48)
    with pytest.raises(ValueError, match="has 52 values"):
        uses_voice(44, "acoustic+voice")
    with pytest.raises(ValueError, match="unknown audio feature set"):
        uses_voice(52, "whisper")
