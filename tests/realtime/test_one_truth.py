"""One truth on screen: the text row and the transcript pane follow one rule (only final words are
text evidence), and a missing modality is shown with the reliability the model used for it."""

from __future__ import annotations

import numpy as np

from qamoe.extractors.base import FeatureFrame, Word


def say(pipeline, word: Word) -> None:
    """A final word as the speech processor writes it: into the transcript and as a text frame."""
    pipeline.store.add_word(word)
    values = np.full(pipeline.engine.dims["text"], 0.1, np.float32)
    pipeline.store.add_frame("text", FeatureFrame(word.start, word.end, values))


def test_the_text_row_says_why_words_on_screen_are_not_text(make_pipeline):
    pipeline = make_pipeline()
    store = pipeline.store
    assert pipeline.tick(0.5).modalities["text"].reason == "no words"

    store.transcript.set_partial([Word(0.6, 0.9, "hello", 0.8, final=False)])
    update = pipeline.tick(1.0)
    assert update.transcript.endswith("hello") and update.modalities["text"].missing
    assert update.modalities["text"].reason == "words still partial"

    store.transcript.set_partial([])
    say(pipeline, Word(0.6, 0.9, "hello", 0.9))
    assert not pipeline.tick(1.2).modalities["text"].missing  # a final word is text evidence

    later = pipeline.tick(9.0)  # the word is still on screen, but older than the window
    assert "hello" in later.transcript and later.modalities["text"].missing
    assert later.modalities["text"].reason == f"no words in the last {pipeline.window.seconds:g} s"


def test_headless_lines_show_a_missing_modality_with_its_reliability(make_pipeline, capsys):
    from rich.console import Console

    from qamoe.realtime.notices import LinePrinter

    update = make_pipeline().tick(0.5)  # nothing arrived: every modality missing
    update_one = make_pipeline()
    say(update_one, Word(0.1, 0.3, "great", 0.9))
    one = update_one.tick(0.5)
    console = Console(force_terminal=False, width=200)
    printer = LinePrinter(console)
    printer(update)
    printer(one)  # the same second of the run: about one line per second, so no second line
    LinePrinter(console)(one)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert "no input" in out[0]
    r_audio = one.modalities["audio"].reliability
    assert f"audio {r_audio:.2f} missing" in out[1] and "text" in out[1] and "text --" not in out[1]


def test_the_run_summary_cuts_the_transcript_between_words_and_says_what_last_means(make_pipeline):
    from qamoe.realtime.summary import RunStats, tail_words

    text = "it felt like a waste of time"
    assert tail_words(text, 100) == text
    assert tail_words(text, 16) == "... a waste of time"  # never "elt like a waste"
    pipeline = make_pipeline()
    say(pipeline, Word(0.1, 0.3, "great", 0.9))
    stats = RunStats(window_s=pipeline.window.seconds)
    stats.add(pipeline.tick(0.5))
    assert f"the window of the last {pipeline.window.seconds:g} s" in stats.lines()[0]


def test_the_latency_footer_shows_whole_measurements_and_the_summary_title_one_line():
    from rich.console import Console

    from qamoe.realtime.summary import RunStats
    from qamoe.realtime.tui import fitted

    parts = [f"stage{i} {10 * i}/{20 * i}/{30 * i}" for i in range(1, 30)]
    line = fitted("latency ms p50/p95/p99 ", parts, 160)
    assert len(line.plain) <= 160 and "…" not in line.plain and "..." not in line.plain
    assert all(p in parts for p in line.plain.removeprefix("latency ms p50/p95/p99 ").split(" · "))
    console = Console(width=60, record=True, force_terminal=False)
    title = "qamoe-live: video /some/long/folder/name/talk.mp4"
    stats = RunStats()
    console.print(stats.table(title))
    assert title in console.export_text()  # not wrapped over two lines
