"""Builds and runs one live session from `LiveOptions`: the sources, the pipeline, the driver and the
outputs (terminal UI and/or JSONL). `qamoe-live` (cli/live.py) only parses flags into options.

- `--demo`: `DemoScene` on the replay driver (virtual clock), simulator checkpoint.
- `--video PATH`: `MediaRecording` on the replay driver, real extractors, media checkpoint.
- `--camera N` / `--mic DEV`: capture sources on the live driver (monotonic clock), real extractors.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import torch
from rich.console import Console

from qamoe.checkpoint import Checkpoint
from qamoe.inference import InferenceEngine

from . import checkpoints
from .clock import MonotonicClock, VirtualClock
from .drivers import LiveDriver, ReplayDriver
from .notices import LinePrinter, Notices, SourceWatch
from .pipeline import Pipeline, WindowConfig
from .runlog import JsonlLog
from .simulated import DemoScene
from .sources import CaptureSource, Recording, SourceBoard
from .summary import RunStats
from .tui import Dashboard, run_live


GIVE_UP_AFTER_S = 20.0
NO_SOURCE_EXIT = 4  # live devices: gave up without any working source
LOG_FAILED_EXIT = 5  # the JSONL run log could not be written to the end


@dataclass
class LiveOptions:
    demo: bool = False
    video: str | None = None
    camera: str | None = None
    mic: str | None = None
    checkpoint: str | None = None
    profile: str | None = None  # a device profile from qamoe-calibrate
    tui: bool = True
    jsonl: str | None = None
    report: str | None = None  # OUT.html / OUT.png: the run's timeline, written at the end
    command: str = ""  # the command line that started the run (shown on the report)
    duration: float | None = None  # seconds: media time for replay, wall time live
    fast: bool = False  # replay without pacing
    rate_hz: float = 5.0  # fixed update rate; with events, the floor
    events: bool = True  # video and live devices: update as soon as a face frame or word arrives (not the demo)
    max_rate_hz: float = 30.0  # cap on event-driven updates per second
    device: str = "cpu"  # where the model runs: cpu | cuda | auto
    window_s: float = 4.0
    seed: int = 0
    fps: float = 15.0  # vision analysis rate for real video
    # live devices: exit (code 4) after this many seconds in a row without any working source; None or
    # 0 never gives up. 20 s: time to plug a camera in or answer a permission prompt, short enough
    # that a wrong device name does not leave a person watching predictions made from nothing.
    give_up_after: float | None = GIVE_UP_AFTER_S

    def validate(self) -> None:
        live = self.camera is not None or self.mic is not None
        chosen = sum([self.demo, self.video is not None, live])
        if chosen == 0:
            raise ValueError("choose a source: --demo, --video PATH, or --camera N and/or --mic DEVICE (see --list-devices)")
        if chosen > 1:
            raise ValueError("--demo, --video and --camera/--mic cannot be combined; pick one kind of source")
        if self.fast and live:
            raise ValueError("--fast only applies to --video and --demo (a camera cannot run faster than real time)")
        if self.duration is not None and not 0 < self.duration < float("inf"):  # also refuses nan
            raise ValueError(f"--duration must be a finite number of seconds above 0, got {self.duration}")
        if not 0 < self.rate_hz <= 50:
            raise ValueError(f"--rate must lie in (0, 50] updates per second, got {self.rate_hz}")
        if not 0 < self.max_rate_hz <= 100:
            raise ValueError(f"--max-rate must lie in (0, 100] updates per second, got {self.max_rate_hz}")
        if self.give_up_after is not None and not 0 <= self.give_up_after < float("inf"):
            raise ValueError(f"--give-up-after must be 0 (never) or a number of seconds, got {self.give_up_after}")
        if self.jsonl is not None and self.jsonl != "-":
            from .runlog import check_writable  # noqa: PLC0415

            check_writable(self.jsonl)
        if self.report is not None:
            from .replay_report import check_report_path  # noqa: PLC0415

            check_report_path(self.report)

    @property
    def live(self) -> bool:
        return self.camera is not None or self.mic is not None


def check_media_checkpoint(checkpoint: Checkpoint, fps: float) -> None:
    from qamoe.extractors.spec import FeatureSpec  # noqa: PLC0415

    FeatureSpec.for_checkpoint(checkpoint, fps=fps).check(checkpoint)


def check_demo_checkpoint(checkpoint: Checkpoint) -> None:
    from qamoe.data.synthetic import RECIPES  # noqa: PLC0415
    from qamoe.extractors.spec import check_sizes  # noqa: PLC0415

    check_sizes(checkpoint, {m: r.dim for m, r in RECIPES.items()}, "the simulator",
                "--demo needs a checkpoint trained on the simulator (qamoe-train with no options)")


class Session:
    """One run: pipeline + driver + outputs. `run()` blocks until the end; returns an exit code."""

    def __init__(self, options: LiveOptions, console: Console, err_console: Console) -> None:
        options.validate()
        self.options = options
        self.console, self.err = console, err_console
        self.stop_event = threading.Event()
        self.stats = RunStats(window_s=options.window_s)
        self.warnings: list[str] = []
        # what a run fills in as it goes (read by _finish)
        self.summary = None  # the replay's ReplaySummary
        self.log: JsonlLog | None = None
        self.report = None  # a RunReport when --report is given
        self.watch: SourceWatch | None = None  # live devices only
        recording = None
        if options.video is not None:  # an unreadable file is the first thing to report
            from .mediafile import MediaRecording  # noqa: PLC0415

            recording = MediaRecording(options.video)
        checkpoint = self._checkpoint()
        feature_map = None
        if options.profile is not None:
            from qamoe.calibration.profile import DeviceProfile  # noqa: PLC0415

            feature_map = DeviceProfile.load(options.profile).normalizer(checkpoint.stats)
        self.engine = InferenceEngine(checkpoint, feature_map=feature_map, device=options.device)
        self.recordings: list[Recording] = []
        self.capture: list[CaptureSource] = []
        processors = self._sources(recording)
        window = WindowConfig(seconds=options.window_s)
        self.pipeline = Pipeline.build(self.engine, processors, window, board=SourceBoard(self.recordings or self.capture))
        self.store = self.pipeline.store
        self.pipeline.subscribe(self.stats.add)
        if self.recordings:
            self.clock = VirtualClock()
            self.driver = ReplayDriver(
                self.pipeline, self.clock, rate_hz=options.rate_hz,
                pace=None if options.fast else 1.0, duration=options.duration,
                events=options.events and not options.demo, max_rate_hz=max(options.max_rate_hz, options.rate_hz),
            )
        else:
            self.clock = MonotonicClock()
            self.driver = LiveDriver(self.pipeline, self.clock, rate_hz=options.rate_hz,
                                     events=options.events, max_rate_hz=max(options.max_rate_hz, options.rate_hz))
        self.notices = Notices(err=err_console, tui=options.tui, now=self.clock.now)

    def _checkpoint(self) -> Checkpoint:
        if self.options.demo:
            checkpoint = checkpoints.demo_checkpoint(self.options.checkpoint, console=self.err)
            check_demo_checkpoint(checkpoint)
        else:
            checkpoint = checkpoints.media_checkpoint(self.options.checkpoint)
            check_media_checkpoint(checkpoint, self.options.fps)
        return checkpoint

    def _sources(self, recording: Recording | None) -> list:
        """Fills `recordings` / `capture` and `source_label`; returns the processors they need."""
        options = self.options
        if options.demo:
            self.recordings.append(DemoScene(options.seed, data_seed=checkpoints.data_seed_of(self.engine.checkpoint)))
            self.source_label = "demo"
            return []
        if recording is not None:
            self.recordings.append(recording)
            self.source_label = f"video {options.video}"
            return self._processors(video=recording.use_video, audio=recording.use_audio)
        if options.camera is not None:
            from .camera import CameraSource  # noqa: PLC0415

            self.capture.append(CameraSource(options.camera))
        if options.mic is not None:
            from .microphone import MicrophoneSource  # noqa: PLC0415

            self.capture.append(MicrophoneSource(options.mic))
        self.source_label = " + ".join(s.name for s in self.capture)
        return self._processors(video=options.camera is not None, audio=options.mic is not None)

    def _processors(self, *, video: bool, audio: bool) -> list:
        from qamoe.extractors.spec import FeatureSpec  # noqa: PLC0415

        from .extraction import SpeechProcessor, media_processors  # noqa: PLC0415

        self.err.print("loading the extractors (face mesh, voice activity, speech recognition, MiniLM) ...")
        modalities = set(self.engine.modalities)
        spec = FeatureSpec.for_checkpoint(self.engine.checkpoint, fps=self.options.fps)
        return [
            p for p in media_processors(spec, video=video and "vision" in modalities, audio=audio)
            # the recogniser also feeds the voice estimate: without text it stays for a checkpoint that reads the voice
            if not isinstance(p, SpeechProcessor) or "text" in modalities or spec.voice
        ]

    # -- running -----------------------------------------------------------------------------------
    def run(self) -> int:
        log = JsonlLog(self.options.jsonl, sys.stdout if self.options.jsonl == "-" else None) if self.options.jsonl else None
        self.log = self.notices.log = log
        if log is not None:
            self.pipeline.subscribe(log)
        if self.options.report is not None:
            from .replay_report import RunReport  # noqa: PLC0415

            self.report = RunReport(f"qamoe-live: {self.source_label}", self.options.command)
            self.pipeline.subscribe(self.report)
        if self.capture:
            self.watch = SourceWatch(self.capture, notify=self.notices, stop_event=self.stop_event,
                                     give_up_after=self.options.give_up_after or None)
            self.watch.start()
        interrupted = False
        try:
            if self.options.tui:
                self._run_tui()
            else:
                self._run_headless()
        except KeyboardInterrupt:  # Ctrl-C is how a live session ends: stop, summarise, exit 130
            interrupted = True
        finally:
            if log is not None:
                log.close()
        code = self._finish()
        if interrupted:
            self.err.print("[yellow]interrupted[/]")
            return 130
        return code

    def _run_tui(self) -> None:
        dashboard = Dashboard(source=self.source_label)
        self.notices.attach(dashboard)
        self.pipeline.subscribe(dashboard.push)
        worker = self._start_driver(on_end=lambda: setattr(dashboard, "message", "replay finished: press q to quit"))
        try:
            run_live(dashboard, self.stop_event, self.console, stderr_log=self._stderr_log())
        finally:
            self._stop_driver(worker)

    def _stderr_log(self) -> str | None:
        """Native libraries' log lines go to a file in the temp folder while the UI is up (demo: none)."""
        if self.options.demo:
            return None
        import tempfile  # noqa: PLC0415

        return str(Path(tempfile.gettempdir()) / "qamoe-live-native.log")

    def _run_headless(self) -> None:
        if self.options.jsonl is None:
            self.pipeline.subscribe(LinePrinter(self.console))
        worker = self._start_driver(on_end=self.stop_event.set)
        last_states: dict[str, str] = {}
        try:
            while not self.stop_event.wait(0.2):
                if self.capture:  # report device state changes as they happen
                    for source in self.capture:
                        state = str(source.state())
                        if last_states.get(source.name) != state:
                            self.err.print(f"[yellow]{source.name}[/]: {state}")
                            last_states[source.name] = state
        finally:
            self._stop_driver(worker)

    def _start_driver(self, on_end: Callable[[], None]) -> threading.Thread | None:
        if isinstance(self.driver, LiveDriver):
            self.driver.start()
            if self.options.duration is not None:
                timer = threading.Timer(self.options.duration, self.stop_event.set)
                timer.daemon = True
                timer.start()
            return None

        def replay() -> None:
            try:
                self.summary = self.driver.run()
            except BaseException as err:  # noqa: BLE001 - reported by _finish, never a traceback
                self.warnings.append(f"replay failed: {type(err).__name__}: {err}")
            finally:
                on_end()

        worker = threading.Thread(target=replay, name="replay", daemon=True)
        worker.start()
        return worker

    def _stop_driver(self, worker: threading.Thread | None) -> None:
        self.stop_event.set()
        self.driver.stop()
        if worker is not None:
            worker.join(5.0)

    def _finish(self) -> int:
        summary = self.summary
        if summary is not None:
            self.warnings += summary.warnings
        if self.stats.updates:
            self.err.print(self.stats.table(f"qamoe-live: {self.source_label}"))
        for line in self.stats.lines():
            self.err.print(line, highlight=False)
        if summary is not None:
            self.err.print(f"replayed {summary.media_s:.1f} s of media in {summary.wall_s:.1f} s", highlight=False)
        for warning in self.warnings:
            self.err.print(f"[bold yellow]warning:[/] {warning}")
        if self.report is not None:
            try:
                path = self.report.write(self.options.report, self.store.transcript.words())
                self.err.print(f"report written to [bold]{path}[/]")
            except OSError as err:
                self.err.print(f"[bold red]error:[/] could not write the report {self.options.report}: {err.strerror or err}")
                return LOG_FAILED_EXIT
        log = self.log
        if log is not None and log.error is not None:
            self.err.print(f"[bold red]error:[/] run log not complete: {log.error}", highlight=False, soft_wrap=True)
            return LOG_FAILED_EXIT
        if self.watch is not None and self.watch.gave_up:
            self.err.print(f"[bold red]error:[/] {self.watch.gave_up}", highlight=False, soft_wrap=True)
            return NO_SOURCE_EXIT
        return 3 if any(w.startswith("replay failed") for w in self.warnings) else 0


def list_devices() -> list[str]:
    from .camera import list_cameras  # noqa: PLC0415
    from .microphone import list_microphones  # noqa: PLC0415

    cameras = list_cameras() or ["(no cameras found)"]
    mics = list_microphones() or ["(no microphones found)"]
    return ["cameras (--camera N):", *[f"  {c}" for c in cameras], "microphones (--mic N or --mic default):", *[f"  {m}" for m in mics]]


def use_threads() -> int:
    """The model runs at batch size 1 beside extractor threads: one torch thread is fastest here.
    Returns the previous thread count, for callers that run in a longer-lived process."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    return previous


