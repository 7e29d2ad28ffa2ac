"""qamoe-calibrate: measure your own microphone / camera once, for `qamoe-live --profile`.

    qamoe-calibrate --mic default --camera 0 --seconds 10 --out ~/.config/qamoe/profile.json
    qamoe-calibrate --video recording.mp4 --out profile.json     # from a recording of your setup

Speak a few normal sentences while it records, facing the camera. It runs the live pipeline's own
extractors and stores, per modality, the mean and spread of the features (audio only while the
voice-activity detector hears speech; vision only where a face is found), the noise floor of the
room (level when nobody speaks) and how often there was speech and a face. `qamoe-live --profile`
then shifts live features onto the statistics the checkpoint was trained with (see
qamoe/calibration/profile.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from qamoe.cli.common import clear_errors, quiet_third_party


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-calibrate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mic", help="microphone (sounddevice name or index; 'default')")
    p.add_argument("--camera", help="camera index or device path")
    p.add_argument("--video", help="a recorded file of your setup instead of live devices")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to record (default 10; --video: the first S seconds)")
    p.add_argument("--out", default="qamoe-profile.json", help="profile file to write (default qamoe-profile.json)")
    p.add_argument("--verbose", action="store_true", help="let the native libraries (mediapipe, TFLite) log to the terminal")
    return p.parse_args(argv)


def record_devices(mic, camera, seconds: float, console: Console):
    """Records `seconds` from the devices, through the live sources (their retries and stall
    handling); returns (audio chunks or None, video frames or None)."""
    from qamoe.realtime.recording import record  # noqa: PLC0415

    sources = []
    if mic is not None:
        from qamoe.realtime.microphone import MicrophoneSource  # noqa: PLC0415

        sources.append(MicrophoneSource(mic))
    if camera is not None:
        from qamoe.realtime.camera import CameraSource  # noqa: PLC0415

        sources.append(CameraSource(camera))
    with console.status(f"recording {seconds:.0f} s: speak a few normal sentences, facing the camera"):
        items = record(sources, seconds)
    return (items.get("audio", []) if mic is not None else None), (items.get("video", []) if camera is not None else None)


def show(console: Console, profile) -> None:
    table = Table(title=f"measured over {profile.seconds:.1f} s")
    table.add_column("what")
    table.add_column("value", justify="right")
    if profile.noise_floor_dbfs is not None:
        table.add_row("noise floor (no speech)", f"{profile.noise_floor_dbfs:.1f} dBFS")
    if profile.noise_log_energy is not None:
        table.add_row("noise log-energy feature", f"{profile.noise_log_energy:.2f}")
    if profile.speech_share is not None:
        table.add_row("speech share (VAD)", f"{profile.speech_share:.0%}")
    for name, m in profile.modalities.items():
        table.add_row(f"{name}: usable frames", f"{m.frames} of {m.frames_seen} ({m.usable_share:.0%})")
        if m.frames:
            mean_std = sum(m.std) / len(m.std)
            table.add_row(f"{name}: mean feature spread", f"{mean_std:.3f}")
    console.print(table)
    from qamoe.calibration.profile import MIN_FRAMES  # noqa: PLC0415

    for name, m in profile.modalities.items():
        if m.frames < MIN_FRAMES:
            what = "frames of speech" if name == "audio" else "frames with a face"
            console.print(f"[yellow]{name}: only {m.frames} {what} (at least {MIN_FRAMES} needed); live {name} "
                          "features will not be adjusted - record longer, speaking and facing the camera[/]")


def main(argv=None) -> None:
    args = parse_args(argv)
    console = Console()  # the profile table and where it was written
    errors = Console(stderr=True)  # errors never mix with the results on standard output
    if not args.verbose:
        quiet_third_party()  # before mediapipe / TFLite load: their log lines go to the native log file
    from qamoe.extractors.base import ExtractorUnavailable  # noqa: PLC0415
    from qamoe.extractors.decode import MediaError  # noqa: PLC0415
    from qamoe.realtime.recording import RecordingError  # noqa: PLC0415
    from qamoe.realtime.sources import SourceError  # noqa: PLC0415

    with clear_errors(errors, user_errors=(MediaError, SourceError, ExtractorUnavailable, RecordingError)):
        if args.video is None and args.mic is None and args.camera is None:
            raise ValueError("give --video PATH, or --mic NAME and/or --camera N")
        if args.video is not None and (args.mic is not None or args.camera is not None):
            raise ValueError("--video replaces the devices: give either --video or --mic/--camera")
        if not 0 < args.seconds <= 3600:
            raise ValueError(f"--seconds must lie in (0, 3600], got {args.seconds}")
        if Path(args.out).is_dir():  # said before recording, not after
            raise ValueError(f"--out {args.out} is a folder; give a file name such as {Path(args.out) / 'profile.json'}")
        from qamoe.calibration.profile import measure  # noqa: PLC0415
        from qamoe.extractors.decode import MediaReader  # noqa: PLC0415

        if args.video is not None:
            if not Path(args.video).is_file():
                raise FileNotFoundError(f"{args.video}: no such file")
            reader = MediaReader(args.video)
            info = reader.info
            audio = reader.audio(0.0, args.seconds) if info.has_audio else None
            video = reader.video(0.0, args.seconds) if info.has_video else None
            with console.status(f"measuring {args.video}"):
                profile = measure(audio, video, source={"video": str(Path(args.video).resolve())})
        else:
            audio, video = record_devices(args.mic, args.camera, args.seconds, console)
            with console.status("measuring"):
                profile = measure(audio, video, source={"mic": args.mic, "camera": args.camera})
        out = profile.save(args.out)
        show(console, profile)
        console.print(f"profile written to [bold]{out.resolve()}[/]; use it with qamoe-live --profile {out}")


if __name__ == "__main__":
    main()
