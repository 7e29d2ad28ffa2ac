"""qamoe-predict: sentiment, calibrated uncertainty and per-modality reliability of one recording or text.

    qamoe-predict clip.mp4                 # a recorded video: words (ASR), voice and face
    qamoe-predict speech.wav               # an audio file (WAV, FLAC, MP3, OGG ...): words (ASR) and voice
    qamoe-predict face.jpg                 # a still face (any image Pillow reads): the face alone
    qamoe-predict notes.txt                # a text file (its whole content is the transcript)
    qamoe-predict --text "What a lovely day"
    qamoe-predict clip.mp4 --json          # one JSON object on stdout

Without --checkpoint the shipped default (qamoe/assets/live, see its MODEL_CARD.md) is used.
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from qamoe.cli.common import clear_errors, quiet_third_party

TEXT_SUFFIXES = {".txt", ".text", ".md"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
EXIT_NO_USABLE_INPUT = 3  # the input held nothing the model can read (no words, no voice, no face)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="a video, an audio file, or a .txt file")
    p.add_argument("--text", help="predict on this text instead of a file")
    p.add_argument("--transcript", help="with a media FILE: use this transcript instead of the ASR's words")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the shipped one)")
    p.add_argument("--profile", help="device profile from qamoe-calibrate, applied to audio / vision features")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true", help="show third-party progress bars and native-library log lines")
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
    if result.expression:
        top = max(result.expression, key=result.expression.get)
        console.print(f"face expression: [bold]{top}[/] {result.expression[top]:.2f}  "
                      + "  ".join(f"{k} {v:.2f}" for k, v in result.expression.items() if k != top), highlight=False)


@contextmanager
def media_progress(console: Console, path: Path):
    """A progress bar on standard error while a media file is read (on a terminal only): the
    callback `Predictor.predict(progress=...)` takes (stage, t, end) in seconds of media."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[at]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"reading {path.name}", total=None, at="")

        def update(stage: str, t: float, end: float | None) -> None:
            what = "listening to" if stage == "audio" else "looking at"
            at = f"{t:.0f} / {end:.0f} s" if end else f"{t:.0f} s"
            bar.update(task, description=f"{what} {path.name}", total=end, completed=min(t, end or t), at=at)

        yield update


def read_text_file(path: Path) -> str:
    """A text file's content; a binary or non-UTF-8 file is refused instead of read as garbage words."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 text file (undecodable byte at offset {err.start})") from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if "\0" in text or controls > 0.01 * max(1, len(text)):
        raise ValueError(f"{path} holds binary data, not text")
    return text


def main(argv=None) -> None:
    args = parse_args(argv)
    console = Console(stderr=args.json)
    err_console = Console(stderr=True)  # errors and warnings: always standard error
    with clear_errors(err_console, io="read"):  # the arguments first: a typo answers before any model loads
        if (args.file is None) == (args.text is None):
            raise ValueError("give a FILE or --text (one of them)")
        if args.file is not None and not Path(args.file).is_file():
            raise FileNotFoundError(f"{args.file}: no such file" if not Path(args.file).exists() else f"{args.file}: not a file")
        if args.profile and not Path(args.profile).is_file():
            raise FileNotFoundError(f"{args.profile}: no such profile file")
    if not args.verbose:
        quiet_third_party()
    from qamoe.calibration.profile import DeviceProfile, ProfileError  # noqa: PLC0415
    from qamoe.extractors.base import ExtractorUnavailable  # noqa: PLC0415
    from qamoe.extractors.decode import MediaError  # noqa: PLC0415
    from qamoe.predictor import NoUsableInput, Predictor  # noqa: PLC0415

    with clear_errors(err_console, user_errors=(MediaError, ProfileError, ExtractorUnavailable),
                      exit_codes={NoUsableInput: EXIT_NO_USABLE_INPUT}, io="read"):
        if (args.file is None) == (args.text is None):
            raise ValueError("give a FILE or --text (one of them)")
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
                result = predictor.predict(text=read_text_file(path))
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                result = predictor.predict(image=path, text=args.transcript)
            else:
                with media_progress(err_console, path) as progress:  # a long file: a bar, not 60 s of silence
                    result = predictor.predict(video=path, text=args.transcript, progress=progress)
        if args.json:
            print(json.dumps({"source": source, **result.to_dict()}, allow_nan=False))
        else:
            show(console, source, result)
        for warning in result.warnings:
            err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
