"""qamoe-predict: sentiment, calibrated uncertainty and per-modality reliability of one recording or text.

    qamoe-predict clip.mp4                 # a recorded video: words (ASR), voice and face
    qamoe-predict speech.wav               # an audio file: words (ASR) and voice
    qamoe-predict notes.txt                # a text file (its whole content is the transcript)
    qamoe-predict --text "What a lovely day"
    qamoe-predict clip.mp4 --json          # one JSON object on stdout

Without --checkpoint the shipped default (qamoe/assets/live, see its MODEL_CARD.md) is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

TEXT_SUFFIXES = {".txt", ".text", ".md"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="a video, an audio file, or a .txt file")
    p.add_argument("--text", help="predict on this text instead of a file")
    p.add_argument("--transcript", help="with a media FILE: use this transcript instead of the ASR's words")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the shipped one)")
    p.add_argument("--profile", help="device profile from qamoe-calibrate, applied to audio / vision features")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def show(console: Console, source: str, result) -> None:
    lo, hi = result.interval(0.95)
    console.print(f"[bold]{source}[/]")
    if result.transcript is not None:
        console.print(f"transcript: [italic]{result.transcript or '(no words)'}[/]")
    console.print(f"sentiment [bold]{result.sentiment:+.2f}[/] ({result.label}) ± {result.std:.2f}  "
                  f"95% interval [{lo:+.2f}, {hi:+.2f}]  (scale -3 .. +3)")
    table = Table(title="modalities")
    table.add_column("modality")
    table.add_column("present")
    table.add_column("reliability r_m", justify="right")
    table.add_column("note")
    for name, r in result.reliability.items():
        table.add_row(name, "yes" if result.present[name] else "no", f"{r:.3f}", result.missing_reason.get(name, ""))
    console.print(table)


def main(argv=None) -> None:
    args = parse_args(argv)
    console = Console(stderr=args.json)
    if (args.file is None) == (args.text is None):
        console.print("[bold red]error:[/] give a FILE or --text (one of them)", soft_wrap=True)
        sys.exit(2)
    try:
        from qamoe.calibration.profile import DeviceProfile, ProfileError  # noqa: PLC0415
        from qamoe.checkpoint import CheckpointError  # noqa: PLC0415
        from qamoe.extractors.base import ExtractorUnavailable  # noqa: PLC0415
        from qamoe.extractors.decode import MediaError  # noqa: PLC0415
        from qamoe.predictor import Predictor  # noqa: PLC0415

        try:
            profile = DeviceProfile.load(args.profile) if args.profile else None
            predictor = Predictor.load(args.checkpoint, profile=profile)
            if args.text is not None:
                source, result = "text", predictor.predict(text=args.text)
            else:
                path = Path(args.file)
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no such file")
                source = str(path)
                if path.suffix.lower() in TEXT_SUFFIXES:
                    result = predictor.predict(text=path.read_text(encoding="utf-8", errors="replace"))
                else:
                    result = predictor.predict(video=path, text=args.transcript)
        except (MediaError, CheckpointError, ProfileError, ExtractorUnavailable, FileNotFoundError, ValueError) as err:
            message = " ".join(str(err).split())
            console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            sys.exit(2)
        if args.json:
            print(json.dumps({"source": source, **result.to_dict()}))
        else:
            show(console, source, result)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
