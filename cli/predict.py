"""qamoe-predict: sentiment, calibrated uncertainty and per-modality reliability of one recording or text.

    qamoe-predict clip.mp4                 # a recorded video: words (ASR), voice and face
    qamoe-predict speech.wav               # an audio file (WAV, FLAC, MP3, OGG ...): words (ASR) and voice
    qamoe-predict face.jpg                 # a still face (any image Pillow reads): the face alone
    qamoe-predict notes.txt                # a text file (its whole content is the transcript)
    qamoe-predict --text "What a lovely day"
    qamoe-predict clip.mp4 --json          # one JSON object on stdout
    qamoe-predict a.wav b.wav talks/ --csv out.csv   # many files (a folder: every file in it) in one run:
                                           # one model, one row per file (--jsonl OUT: one JSON object each)

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
    p.add_argument("file", nargs="*", help="a video, an audio file, an image or a .txt file; several, or a folder, for a table")
    p.add_argument("--text", help="predict on this text instead of a file")
    p.add_argument("--transcript", help="with a media FILE: use this transcript instead of the ASR's words")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the shipped one)")
    p.add_argument("--profile", help="device profile from qamoe-calibrate, applied to audio / vision features")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", metavar="OUT", help="several files: write one row per file to OUT")
    p.add_argument("--jsonl", metavar="OUT", help="several files: write one JSON object per file to OUT")
    p.add_argument("--verbose", action="store_true", help="show third-party progress bars and native-library log lines")
    return p.parse_args(argv)


def show(console: Console, source: str, result) -> None:
    lo, hi = result.interval(0.95)
    console.print(f"[bold]{source}[/]")
    if result.transcript is not None:
        console.print(f"transcript: [italic]{result.transcript or '(no words)'}[/]")
    console.print(f"sentiment [bold]{result.sentiment:+.2f}[/] ({result.label}) ± {result.std:.2f}  "
                  f"95% interval [{lo:+.2f}, {hi:+.2f}]  (scale -3 .. +3)")
    if result.reading:
        console.print(f"[dim]{result.reading}[/]", highlight=False)
    table = Table(title="modalities")
    table.add_column("modality")
    table.add_column("present")
    table.add_column("reliability r_m", justify="right")
    table.add_column("note")
    for name, r in result.reliability.items():
        table.add_row(name, "yes" if result.present[name] else "no", f"{r:.3f}", result.missing_reason.get(name, ""))
    console.print(table)
    if result.voice:
        top = max(result.voice, key=result.voice.get)
        console.print(f"voice: [bold]{top}[/] {result.voice[top]:.2f}  "
                      + "  ".join(f"{k} {v:.2f}" for k, v in sorted(result.voice.items(), key=lambda kv: -kv[1])[1:4]), highlight=False)
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


def expand(names: list[str]) -> list[str]:
    """FILE arguments -> files: a folder stands for the files in it (sorted, not recursive, no hidden)."""
    out = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            out += [str(f) for f in sorted(path.iterdir()) if f.is_file() and not f.name.startswith(".")]
        else:
            out.append(name)
    return out


def predict_file(predictor, path: Path, transcript=None, progress=None):
    """One file by its kind: text, image, or media (video or audio)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in TEXT_SUFFIXES:
        return predictor.predict(text=read_text_file(path))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return predictor.predict(image=path, text=transcript)
    return predictor.predict(video=path, text=transcript, progress=progress)


ROW_FIELDS = ("file", "sentiment", "label", "std", "interval_95_low", "interval_95_high", "r_text", "r_audio", "r_vision",
              "reliability_scale", "present", "transcript", "expression", "warnings", "error")


def result_row(path: str, result=None, error: str = "") -> dict:
    row = dict.fromkeys(ROW_FIELDS, "")
    row.update(file=path, error=error)
    if result is not None:
        lo, hi = result.interval(0.95)
        top = max(result.expression, key=result.expression.get) if result.expression else ""
        row.update(sentiment=round(result.sentiment, 4), label=result.label, std=round(result.std, 4),
                   interval_95_low=round(lo, 4), interval_95_high=round(hi, 4), reliability_scale=result.reliability_scale,
                   present=" ".join(m for m, on in result.present.items() if on), transcript=result.transcript or "",
                   expression=f"{top} {result.expression[top]:.2f}" if top else "", warnings=" | ".join(result.warnings),
                   **{f"r_{m}": round(r, 4) for m, r in result.reliability.items()})
    return row


def predict_many(predictor, files: list[str], err_console: Console, *, csv_out=None, jsonl_out=None, console=None) -> int:
    """One row per file with one model and one set of extractors; a file that fails is a row with its
    error and the run goes on. Returns how many failed."""
    import csv  # noqa: PLC0415

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    rows = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("predicting", total=len(files))
        for name in files:
            bar.update(task, description=f"predicting {Path(name).name}")
            try:
                rows.append(result_row(name, predict_file(predictor, Path(name))))
            except (ValueError, OSError, RuntimeError) as err:  # NoUsableInput, MediaError, unreadable files
                rows.append(result_row(name, error=" ".join(str(err).split())))
            bar.advance(task)
    if csv_out:
        with open(csv_out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    if jsonl_out:
        with open(jsonl_out, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, allow_nan=False) + "\n")
    table = Table(title=f"{len(rows)} files")
    for column in ("file", "sentiment", "label", "std", "r_text", "r_audio", "r_vision", "error"):
        table.add_column(column, justify="right" if column.startswith(("s", "r_")) and column != "file" else "left")
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("file", "sentiment", "label", "std", "r_text", "r_audio", "r_vision", "error")))
    (console or err_console).print(table)
    failed = sum(1 for row in rows if row["error"])
    if failed:
        err_console.print(f"[bold yellow]warning:[/] {failed} of {len(rows)} file(s) failed; their rows say why", highlight=False)
    return failed


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
        if bool(args.file) == (args.text is not None):
            raise ValueError("give a FILE or --text (one of them)")
        files = expand(args.file)
        many = len(files) > 1 or any(Path(f).is_dir() for f in args.file) or bool(args.csv or args.jsonl)
        if not many and not Path(args.file[0] if args.file else ".").is_file() and args.text is None:
            f = args.file[0]
            raise FileNotFoundError(f"{f}: no such file" if not Path(f).exists() else f"{f}: not a file")
        if many and not files:
            raise FileNotFoundError(f"no file in {' '.join(args.file)}")
        if args.profile and not Path(args.profile).is_file():
            raise FileNotFoundError(f"{args.profile}: no such profile file")
        for out in (args.csv, args.jsonl):
            if out:
                from qamoe.realtime.runlog import check_writable  # noqa: PLC0415

                check_writable(out)
    if not args.verbose:
        quiet_third_party()
    from qamoe.calibration.profile import DeviceProfile, ProfileError  # noqa: PLC0415
    from qamoe.extractors.base import ExtractorUnavailable  # noqa: PLC0415
    from qamoe.extractors.decode import MediaError  # noqa: PLC0415
    from qamoe.realtime.predictor import NoUsableInput, Predictor  # noqa: PLC0415

    with clear_errors(err_console, user_errors=(MediaError, ProfileError, ExtractorUnavailable),
                      exit_codes={NoUsableInput: EXIT_NO_USABLE_INPUT}, io="read"):
        profile = DeviceProfile.load(args.profile) if args.profile else None
        predictor = Predictor.load(args.checkpoint, profile=profile)
        if many:
            failed = predict_many(predictor, files, err_console, csv_out=args.csv, jsonl_out=args.jsonl, console=console)
            raise SystemExit(1 if failed else 0)
        if args.text is not None:
            source, result = "text", predictor.predict(text=args.text)
        else:
            path = Path(files[0])
            source = str(path)
            with media_progress(err_console, path) as progress:  # a long file: a bar, not 60 s of silence
                result = predict_file(predictor, path, args.transcript, progress)
        if args.json:
            print(json.dumps({"source": source, **result.to_dict()}, allow_nan=False))
        else:
            show(console, source, result)
        for warning in result.warnings:
            err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
