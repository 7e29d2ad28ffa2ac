"""Voice activity and speech recognition on real synthetic speech (espeak-ng)."""

import re

import numpy as np
import pytest

from support.media import chunks, speech_track
from support.require import need_module

SENTENCES = [
    "the weather is really nice today",
    "i did not like this movie at all",
    "the story was boring but the actors were great",
]


@pytest.fixture(scope="module")
def speech():
    return speech_track(SENTENCES, gap_s=1.0)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_vad_finds_each_sentence_and_keeps_torch_threads(speech):
    torch = need_module("torch")
    need_module("silero_vad")
    threads = torch.get_num_threads()
    from qamoe.extractors.vad import VoiceActivity

    vad = VoiceActivity()
    assert torch.get_num_threads() == threads  # silero's import-time set_num_threads(1) is undone
    audio, spans = speech
    frames = vad.run(chunks(audio, size=1000))
    assert torch.get_num_threads() == threads
    assert vad.dim == 1 and len(frames) == pytest.approx(len(audio) / 512, abs=1)
    events = vad.pop_events()
    starts = [t for kind, t in events if kind == "start"]
    ends = [t for kind, t in events if kind == "end"]
    assert len(starts) == len(ends) == len(spans)
    for (s, e, _), t0, t1 in zip(spans, starts, ends):
        assert abs(t0 - s) < 0.25 and abs(t1 - e) < 0.35
    probs = np.array([f.values[0] for f in frames])
    times = np.array([f.start for f in frames])
    assert probs[times < spans[0][0] - 0.2].max() < 0.3  # leading silence


def test_vad_silence_and_noise_are_not_speech():
    need_module("silero_vad")
    from qamoe.extractors.vad import VoiceActivity

    vad = VoiceActivity()
    quiet = np.random.default_rng(0).normal(0, 0.003, 16000 * 3).astype(np.float32)
    vad.run(chunks(quiet))
    assert vad.pop_events() == []


def test_asr_recovers_most_spoken_words_with_times(recognizer, speech):
    audio, spans = speech
    words = recognizer.run(chunks(audio), partials=True)
    final = [w for w in words if w.final]
    partial = [w for w in words if not w.final]
    assert partial, "partial hypotheses are emitted while an utterance is open"
    assert all(0.0 <= w.confidence <= 1.0 for w in final)
    assert all(w.start < w.end for w in final)
    hits = total = 0
    for s, e, sentence in spans:
        heard = [w.text for w in final if s - 0.35 <= w.start and w.end <= e + 0.35]
        spoken = words_of(sentence)
        hits += sum(1 for word in set(spoken) if word in heard)
        total += len(set(spoken))
    # pocketsphinx makes real errors on espeak-ng's voice; most words still come back
    assert hits / total >= 0.5, [w.text for w in final]
    # words outside every sentence (in the silences) would be hallucinations
    inside = [any(s - 0.35 <= w.start and w.end <= e + 0.35 for s, e, _ in spans) for w in final]
    assert all(inside)
    assert sum(len(words_of(s)) for _, _, s in spans) * 0.6 <= len(final) <= sum(len(words_of(s)) for _, _, s in spans) * 1.6


def test_asr_is_repeatable_and_silence_gives_no_words(recognizer, speech):
    audio, _ = speech
    first = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(audio))]
    second = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(audio))]
    assert first == second  # reset() forgets the adapted cepstral mean
    assert recognizer.run(chunks(np.zeros(16000 * 2, np.float32))) == []


def test_asr_words_do_not_depend_on_what_was_decoded_before(recognizer, speech):
    audio, spans = speech
    first = audio[: int(spans[0][1] * 16000) + 8000]
    other = audio[int(spans[1][0] * 16000) - 4000 :]
    alone = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(first))]
    recognizer.run(chunks(other))
    after_other = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(first))]
    assert alone and after_other == alone


def test_asr_accepts_other_rates(recognizer, speech):
    need_module("av")
    from scipy.signal import resample_poly

    audio, spans = speech
    audio44 = resample_poly(audio[: int(spans[0][1] * 16000) + 8000], 441, 160).astype(np.float32)
    words = recognizer.run(chunks(audio44, rate=44100, size=4410))
    assert {"weather", "really"} & {w.text for w in words}


def test_whisper_backend_says_what_is_missing():
    from qamoe.extractors.asr import make_recognizer
    from qamoe.extractors.base import ExtractorUnavailable

    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        with pytest.raises(ExtractorUnavailable, match="faster-whisper"):
            make_recognizer("whisper")
    with pytest.raises(ValueError, match="unknown ASR backend"):
        make_recognizer("nope")


def test_two_vads_on_interleaved_streams_do_not_share_state(speech):
    """The live pipeline runs an audio gate and the recogniser's VAD side by side."""
    need_module("silero_vad")
    from qamoe.extractors.vad import VoiceActivity

    audio, _ = speech
    quiet = np.zeros_like(audio)
    alone = [f.values[0] for f in VoiceActivity().run(chunks(audio))]
    a, b = VoiceActivity(), VoiceActivity()
    together = []
    for ca, cb in zip(chunks(audio), chunks(quiet)):
        together += [f.values[0] for f in a.feed(ca)]
        b.feed(cb)
    together += [f.values[0] for f in a.flush()]
    assert np.allclose(alone, together, atol=1e-5)


def test_single_thread_blocks_on_several_threads_restore_the_count():
    torch = need_module("torch")
    import threading

    from qamoe.extractors.base import single_thread

    before = torch.get_num_threads()
    barrier = threading.Barrier(3)

    def work():
        with single_thread():
            barrier.wait()
            torch.ones(3).sum()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert torch.get_num_threads() == before


def test_asr_shows_words_soon_after_they_are_spoken(recognizer, speech):
    """Issue 13: with the 0.1 s partial cadence, fed 20 ms chunks like a microphone, a final word has
    usually appeared (as a partial with the same text and nearly the same end) within a few tenths of a
    second of its end in the audio: the median is measured on the audio's own clock, no wall time."""
    audio, _ = speech
    recognizer.reset()
    shown = []  # (text, end, audio time when first returned)
    finals = []
    for chunk in chunks(audio, size=320):
        for w in recognizer.feed(chunk):
            shown.append((w.text, w.end, chunk.t + chunk.duration))
            if w.final:
                finals.append(w)
    finals += recognizer.flush()
    assert len(finals) >= 10
    delays = [min(at for text, end, at in shown if text == w.text and abs(end - w.end) <= 0.15) - w.end
              for w in finals if any(text == w.text and abs(end - w.end) <= 0.15 for text, end, _ in shown)]
    assert len(delays) >= 0.8 * len(finals)
    assert float(np.median(delays)) < 0.3, delays  # at the old 0.5 s cadence it was about 0.45 s
