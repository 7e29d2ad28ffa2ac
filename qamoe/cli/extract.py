"""`qamoe-extract`: a folder of videos + a labels table -> feature shards that `qamoe-train
--dataset extracted --data DIR` reads (layout in `qamoe.data.extracted`).

    qamoe-extract --videos DIR --labels CSV --out DIR [--workers N] [--shard i/n]

Every clip (segment start/end from the labels table) goes through `qamoe.extractors.clip.ClipExtractor`,
the same streaming extractors the live pipeline uses. Reruns skip finished clips and retry failed
ones. A file that cannot be decoded is reported and skipped; the rest is kept. With the CMU-MOSI raw
layout (`Raw/Video/Full/<video>.mp4`) `--labels` may be left out: the labels and standard folds in
`../shared/data/cmu-mosi/` are used.
"""

from __future__ import annotations

import argparse
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qamoe-extract", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, type=Path, help="folder searched recursively for <video_id>.<ext> (or <video_id>_<segment>.<ext>)")
    p.add_argument("--labels", type=Path, help="labels CSV (CMU-MOSI layout or with a header); default: ../shared/data/cmu-mosi/OpinionLevelSentiment.csv")
    p.add_argument("--out", required=True, type=Path, help="output folder (created; reruns resume)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--shard", type=_parse_shard, default=(0, 1), metavar="i/n", help="only every n-th clip starting at i (split work across machines)")
    p.add_argument("--folds", type=Path, help="standard_folds.json to split by (default: auto for CMU-MOSI/MOSEI ids, else hash of video id)")
    p.add_argument("--asr", default="pocketsphinx", help="ASR backend: pocketsphinx (default) or whisper")
    p.add_argument("--text-backend", default="minilm", help="text encoder: minilm (default), bert, or a local model folder")
    p.add_argument("--fps", type=float, default=15.0, help="face analysis rate (default 15)")
    p.add_argument("--openface", type=Path, help="folder of OpenFace 2.0 CSVs (<video>.csv): vision from them (27 features) instead of the face mesh")
    p.add_argument("--no-audio-gate", action="store_true", help="keep acoustic frames in silences too (live use drops them: keep the default for live checkpoints)")
    p.add_argument("--limit", type=int, help="only the first N clips (after --shard), for a quick look")
    return p


def _init_worker(config: dict, threads: int, *, keep_error: bool = False) -> None:
    """Load the extractors of this process. In a pool worker (`keep_error`) a failure is kept and
    reported as every clip's failure reason instead of killing the pool with an opaque error."""
    global _EXTRACTOR, _INIT_ERROR
    import torch  # noqa: PLC0415

    torch.set_num_threads(threads)
    from qamoe.extractors.clip import ClipExtractor  # noqa: PLC0415

    try:
        _EXTRACTOR = ClipExtractor(**config)
    except Exception as exc:  # noqa: BLE001
        if not keep_error:
            raise
        _INIT_ERROR = f"extractors could not be loaded: {type(exc).__name__}: {exc}"


def _pool_init(config: dict, threads: int) -> None:
    _init_worker(config, threads, keep_error=True)


def _extract_one(task: dict) -> dict:
    """Extract and write one clip; never raises (the failure reason is returned and written)."""
    from qamoe.extractors.labels import ClipRecord  # noqa: PLC0415
    from qamoe.extractors.store import write_clip, write_failure  # noqa: PLC0415

    record = ClipRecord(**task["record"])
    out, source = Path(task["out"]), Path(task["source"])
    started = time.perf_counter()
    try:
        if _EXTRACTOR is None:
            raise RuntimeError(_INIT_ERROR or "extractors not loaded")
        feats = _EXTRACTOR.extract(source, task["start"], task["end"], transcript=record.text)
        write_clip(out, record, source, feats)
    except Exception as exc:  # noqa: BLE001 - one broken clip must not stop the run
        reason = f"{type(exc).__name__}: {exc}"
        write_failure(out, record, reason)
        return {"clip_id": record.clip_id, "ok": False, "reason": reason}
    return {
        "clip_id": record.clip_id, "ok": True, "missing": sorted(feats.missing), "warnings": feats.warnings,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console  # noqa: PLC0415

    console = Console(stderr=True)
    from qamoe.extractors.labels import LabelsError, assign_splits, index_media, locate, read_labels, shared_data_dir  # noqa: PLC0415

    labels = args.labels or shared_data_dir() / "cmu-mosi" / "OpinionLevelSentiment.csv"
    try:
        records = read_labels(labels)
        split_source = assign_splits(records, args.folds)
        media = index_media(args.videos)
    except LabelsError as exc:
        console.print(f"[red]qamoe-extract: {exc}[/red]")
        return 2
    records.sort(key=lambda r: (r.video_id, r.segment.zfill(8)))
    i, n = args.shard
    records = records[i::n][: args.limit] if args.limit else records[i::n]

    from qamoe.extractors.store import is_done, write_failure, write_json, write_manifest  # noqa: PLC0415

    out: Path = args.out
    if not records:
        console.print(f"[red]qamoe-extract: no clips in shard {i}/{n} of {labels}[/red]")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    tasks, skipped, unfound = [], 0, []
    for record in records:
        if is_done(out, record):
            skipped += 1
            continue
        source, start, end = locate(record, media)
        if source is None:
            unfound.append(record)
            write_failure(out, record, f"no media file for video {record.video_id!r} under {args.videos}")
            continue
        tasks.append({"record": record.to_json(), "out": str(out), "source": str(source), "start": start, "end": end})
    console.print(
        f"qamoe-extract: {len(records)} clips in shard {i}/{n} ({labels}, splits from {split_source}); "
        f"{skipped} already done, {len(unfound)} without a media file, {len(tasks)} to extract"
    )

    results: list[dict] = []
    config = {"asr": args.asr, "text_backend": args.text_backend, "fps": args.fps, "face_detector": True, "audio_gate": not args.no_audio_gate}
    if args.openface:
        if not args.openface.is_dir():
            console.print(f"[red]qamoe-extract: --openface {args.openface} is not a folder[/red]")
            return 2
        config["openface_dir"] = str(args.openface)
    workers = max(1, min(args.workers, len(tasks) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    started = time.perf_counter()
    from qamoe.extractors.clip import describe  # noqa: PLC0415

    try:
        if tasks and workers == 1:  # load the models first: a missing backend fails before anything is written
            _init_worker(config, threads)
        write_manifest(out, describe(config), {"labels": str(labels), "split_source": split_source})
    except Exception as exc:  # noqa: BLE001 - a missing backend, a folder written with other settings
        console.print(f"[red]qamoe-extract: {exc}[/red]")
        return 2
    if tasks:
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
                import multiprocessing  # noqa: PLC0415

                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pool_init, initargs=(config, threads)) as pool:
                    futures = {pool.submit(_extract_one, task): task for task in tasks}
                    for future in as_completed(futures):
                        try:
                            result = future.result()
                        except Exception as exc:  # noqa: BLE001 - a worker died (e.g. a crash in a native decoder)
                            record = futures[future]["record"]
                            result = {"clip_id": f"{record['video_id']}$_${record['segment']}", "ok": False, "reason": f"worker died: {exc}"}
                            from qamoe.extractors.labels import ClipRecord  # noqa: PLC0415

                            write_failure(out, ClipRecord(**record), result["reason"])
                        results.append(result)
                        progress.update(bar, advance=1, last=_short(result))

    summary = _summary(records, skipped, unfound, results, time.perf_counter() - started)
    write_json(out / "summary.json", summary)
    _print_summary(console, summary, out)
    return 0 if summary["done"] + summary["skipped"] > 0 else 1


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
