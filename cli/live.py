"""qamoe-live: streaming multimodal sentiment with QA-MoE, live from a camera and microphone, from a
recorded video, or from a simulated scene (no devices needed).

  qamoe-live --demo                       # the embedded default: a scripted scene, no devices
  qamoe-live --video talk.mp4 [--fast]    # replay a file (same output at any pace)
  qamoe-live --camera 0 --mic default     # live devices (see --list-devices)
  qamoe-live --video talk.mp4 --no-tui --jsonl run.jsonl   # headless: one JSON object per update
  qamoe-live --video talk.mp4 --fast --report run.html      # + a timeline of the run (or .png)
"""

from __future__ import annotations

import argparse
import shlex
import sys

from rich.console import Console

from qamoe.cli.common import clear_errors, quiet_third_party


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-live", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("sources (pick one kind)")
    src.add_argument("--demo", action="store_true", help="play the simulated scene: modalities drop out and grow noisy over time")
    src.add_argument("--video", metavar="PATH", help="replay a recorded video file (its audio and video tracks)")
    src.add_argument("--camera", metavar="N", help="camera index or device path (OpenCV)")
    src.add_argument("--mic", metavar="DEVICE", help="microphone: 'default', an index or a name (sounddevice)")
    src.add_argument("--list-devices", action="store_true", help="list cameras and microphones, then exit")
    p.add_argument("--checkpoint", metavar="DIR", help="QA-MoE checkpoint directory (default: the shipped one for the source)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                   help="where the model runs (default cpu; cuda without a usable GPU is an error)")
    p.add_argument("--profile", metavar="JSON", help="device profile from qamoe-calibrate: maps this setup's features onto the training data's")
    out = p.add_argument_group("output")
    out.add_argument("--no-tui", action="store_true", help="no terminal UI (headless)")
    out.add_argument("--jsonl", metavar="OUT", help="write one JSON object per update to OUT ('-' for standard output)")
    out.add_argument("--report", metavar="OUT", help="at the end, draw the run's timeline (sentiment and its band, each "
                     "modality's reliability and presence, the words, the face's expression) into OUT.html or OUT.png")
    run = p.add_argument_group("timing")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds (media time for --video/--demo)")
    run.add_argument("--fast", action="store_true", help="replay --video/--demo as fast as possible instead of in real time")
    run.add_argument("--rate", type=float, default=5.0, metavar="HZ",
                     help="updates per second at least (default 5); with --fixed-rate, exactly")
    run.add_argument("--max-rate", type=float, default=30.0, metavar="HZ",
                     help="camera, microphone and --video: a new face frame or word updates as soon as the model is "
                          "free, at most this many times per second (default 30)")
    run.add_argument("--fixed-rate", action="store_true", help="update only at --rate, not when something arrives")
    run.add_argument("--window", type=float, default=4.0, metavar="SECONDS", help="seconds of features per update (default 4)")
    run.add_argument("--seed", type=int, default=0, help="random seed of the --demo scene (default 0)")
    run.add_argument("--give-up-after", type=float, default=None, metavar="SECONDS",
                     help="live devices: exit (code 4) after this many seconds in a row without any working source "
                          "(default 20; 0 never gives up)")
    p.add_argument("--verbose", action="store_true", help="show third-party progress bars and native-library log lines")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.verbose:
        quiet_third_party()
    console = Console()
    err = Console(stderr=True)
    from qamoe.extractors.base import ExtractorUnavailable  # noqa: PLC0415
    from qamoe.extractors.decode import MediaError  # noqa: PLC0415
    from qamoe.realtime.sources import SourceError  # noqa: PLC0415

    # any OSError here is a device or a path the user gave (camera, --jsonl): a usage error, code 2
    with clear_errors(err, user_errors=(MediaError, SourceError, ExtractorUnavailable, OSError)):
        from qamoe.realtime.app import LiveOptions, Session, list_devices, use_threads  # noqa: PLC0415

        if args.list_devices:
            for line in list_devices():
                console.print(line, highlight=False)
            return
        options = LiveOptions(
            demo=args.demo, video=args.video, camera=args.camera, mic=args.mic, checkpoint=args.checkpoint, profile=args.profile,
            command=shlex.join(["qamoe-live", *(sys.argv[1:] if argv is None else argv)]),
            tui=not args.no_tui, jsonl=args.jsonl, report=args.report, duration=args.duration, fast=args.fast, rate_hz=args.rate,
            window_s=args.window, seed=args.seed, events=not args.fixed_rate, max_rate_hz=args.max_rate, device=args.device,
        )
        if args.give_up_after is not None:
            options.give_up_after = args.give_up_after
        options.validate()
        if options.tui and not console.is_terminal:
            err.print("[yellow]standard output is not a terminal: running headless (--no-tui)[/]")
            options.tui = False
        threads = use_threads()
        try:
            code = Session(options, console, err).run()
        finally:
            import torch  # noqa: PLC0415 - loaded once the flags are read

            torch.set_num_threads(threads)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
