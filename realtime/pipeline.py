"""One update of the live pipeline: window every modality, run QA-MoE, publish an `Update`.

`Pipeline` is built with every part it calls: the inference engine, the feature stage (the fan-out,
the processors and the store), the window settings, the sources' board (their states and faults),
the update trigger and the telemetry monitor. Nothing is patched in afterwards: `Pipeline.build`
makes the store with the trigger and the monitor as its listeners and the stage with the monitor as
its observer. Drivers (`drivers.py`) own time and threads: they feed the stage and call `tick(now)`;
the pipeline has no clock of its own.

The update (the prediction) and its telemetry are separate records: the tick reads the store once
per kind of evidence (windows, transcript, presence, expression) and hands the monitor the times of
its stages; the monitor builds the `Telemetry` and traces latencies (`telemetry.py`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from qamoe.data.window import MAX_FRAMES, WINDOW_S, ModalityWindow, make_window
from qamoe.extractors.expression import EXPRESSIONS
from qamoe.inference import InferenceEngine, sentiment_label

from .sources import SourceBoard
from .stage import FeatureStage, Processor
from .store import PRESENCE_OF, FeatureStore
from .telemetry import Monitor, TickTimes
from .update import ModalityStatus, Update

# what a modality's absence means when its source is fine
ABSENT_REASON = {"vision": "no face", "audio": "silence", "text": "no words"}
EXPRESSION_S = 1.0  # the expression shown is the mean over the face frames of the last second
# what triggers an event-driven update: a face frame (usable or not: a lost face should show too), a
# text frame, a word first shown (partial or final). Audio frames come continuously (100 per second)
# and would keep the model at its maximum rate: the floor ticker brings them in.
TRIGGERS = frozenset({"vision", "text", "words"})


@dataclass(frozen=True)
class WindowConfig:
    """seconds: how far back a window reaches; max_frames: longest sequence handed to the model
    (longer windows are mean-pooled down to it); fresh_s: a modality whose newest usable frame is
    older than this is missing (per modality; text defaults to the whole window, since words come
    sparsely); transcript_words: words kept in `Update.transcript`."""

    seconds: float = WINDOW_S
    max_frames: int = MAX_FRAMES
    fresh_s: dict[str, float] = field(default_factory=lambda: {"audio": 1.0, "vision": 1.0})
    transcript_words: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.seconds <= 10:  # the feature store keeps 10 s of frames
            raise ValueError(f"window length must lie in (0, 10] seconds, got {self.seconds}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")


class UpdateTrigger:
    """A store listener: set when something arrived that should trigger an update (`TRIGGERS`)."""

    def __init__(self) -> None:
        self.wake = threading.Event()

    def stored(self, kind: str, t: float, usable: bool) -> None:
        if kind in TRIGGERS and (usable or kind == "vision"):  # a face lost triggers; a re-timed word does not
            self.wake.set()

    def take(self) -> bool:
        """Whether a trigger arrived since the last call (and forget it)."""
        fired = self.wake.is_set()
        self.wake.clear()
        return fired


class Pipeline:
    def __init__(self, engine: InferenceEngine, stage: FeatureStage, window: WindowConfig | None = None, *,
                 board: SourceBoard | None = None, trigger: UpdateTrigger, monitor: Monitor) -> None:
        """board: the session's sources (None: none, e.g. a test feeding the stage itself); a modality
        whose stream's source is down reads as missing for that reason. trigger, monitor: the store's
        listeners and the stage's observer, which must be wired into them already (`build` does)."""
        if trigger.stored not in stage.store.listeners or monitor not in stage.observers:
            raise ValueError("the store must tell the trigger and the stage the monitor: build with Pipeline.build")
        self.engine = engine
        self.stage = stage
        self.store = stage.store
        self.window = window or WindowConfig()
        self.board = board if board is not None else SourceBoard()
        self.trigger = trigger
        self.monitor = monitor
        self.subscribers: list[Callable[[Update], None]] = []
        self.seq = 0
        self.latest: Update | None = None

    @classmethod
    def build(cls, engine: InferenceEngine, processors: list[Processor] = (), window: WindowConfig | None = None, *,
              board: SourceBoard | None = None, monitor: Monitor | None = None, **store_options) -> Pipeline:
        """The pipeline over a fresh store of the engine's modalities, every part wired as it is made."""
        trigger, monitor = UpdateTrigger(), monitor if monitor is not None else Monitor()
        # the monitor first: it notes when an item was stored before the trigger can wake an update
        store = FeatureStore(engine.modalities, listeners=(monitor.stored, trigger.stored), **store_options)
        stage = FeatureStage(store, list(processors), observers=(monitor,))
        return cls(engine, stage, window, board=board, trigger=trigger, monitor=monitor)

    @property
    def wake(self) -> threading.Event:
        """Set when something arrived that should trigger an update (the drivers wait on it)."""
        return self.trigger.wake

    def take_trigger(self) -> bool:
        """Whether something that triggers an update arrived since the last call (and forget it)."""
        return self.trigger.take()

    def subscribe(self, callback: Callable[[Update], None]) -> None:
        self.subscribers.append(callback)

    def windows(self, now: float) -> dict[str, ModalityWindow]:
        t0 = now - self.window.seconds
        fresh = self.window.fresh_s
        return {
            m: make_window(
                self.store.frames(m, t0, now), self.engine.dims[m], self.window.max_frames,
                now - fresh[m] if m in fresh else None,
            )
            for m in self.engine.modalities
        }

    def tick(self, now: float) -> Update:
        """Windows the store at pipeline time `now` (s), runs the model, publishes and returns the Update."""
        started = time.monotonic()
        windows = self.windows(now)
        windowed = time.monotonic()
        result = self.engine.infer({m: w.values for m, w in windows.items() if not w.missing})
        inferred = time.monotonic()

        faults = self.board.faults()
        partial = self.store.transcript.partial(until=now)
        final = self.store.transcript.words(until=now)
        modalities = {}
        for m in self.engine.modalities:
            w = windows[m]
            reason = ""
            if w.missing:
                fault = faults.get(self.stage.stream_of(m))
                reason = fault or (ABSENT_REASON.get(m, "no data") if w.seen or m == "text" else "no data")
                if m == "text" and not fault:  # the transcript pane shows words: say why they are not text evidence
                    reason = self._no_text_reason(partial, final)
            modalities[m] = ModalityStatus(result.reliability[m], w.missing, reason, w.usable, result.top_experts[m])

        words = final + partial
        ages = {m: now - w.newest_end for m, w in windows.items() if w.newest_end is not None}
        if words:
            ages["word"] = now - words[-1].end
        times = TickTimes(started, windowed, inferred, ages)
        # face / speech found, by the same freshness as the window: evidence older than that is unknown
        presence = {what: self.store.presence(what, now, max_age=self.window.fresh_s.get(m, self.window.seconds))
                    for m, what in PRESENCE_OF.items()}
        update = Update(
            t=now,
            seq=self.seq,
            sentiment=result.sentiment,
            std=result.std,
            label=sentiment_label(result.sentiment),
            modalities=modalities,
            transcript=" ".join(w.text for w in words[-self.window.transcript_words:]),
            partial=" ".join(w.text for w in partial[-self.window.transcript_words:]),
            face=presence["face"],
            speech=presence["speech"],
            expression=self._expression(now),
            reliability_scale=self.engine.reliability_scale.label,
            telemetry=self.monitor.telemetry(now, times, dropped=self.stage.dropped(), sources={
                **self.board.states(now),
                **{f"extractor {name}": f"error: {message}" for name, message in self.stage.errors.copy().items()}}),
        )
        self.seq += 1
        self.latest = update
        for callback in self.subscribers:
            callback(update)
        self.monitor.published(now, times)
        return update

    def _no_text_reason(self, partial: list, final: list) -> str:
        """One rule for the text row and the transcript pane: only final words are evidence. Partial
        words (still changing) are shown in the transcript but do not make the text present."""
        if partial:
            return "words still partial"
        if final:
            return f"no words in the last {self.window.seconds:g} s"
        return ABSENT_REASON["text"]

    def _expression(self, now: float) -> dict[str, float]:
        probs = self.store.expression(now - EXPRESSION_S, now)
        if probs is None:
            return {}
        return {name: float(p) for name, p in zip(EXPRESSIONS, probs)}

