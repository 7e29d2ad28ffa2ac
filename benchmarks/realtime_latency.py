"""End-to-end latency of the live pipeline on this machine's CPU, per stage: median, p95, p99.

    .venv/bin/python benchmarks/realtime_latency.py --video CLIP.mp4 --seconds 60 --out latency.json
    .venv/bin/python benchmarks/realtime_latency.py --video CLIP.mp4 --fixed-rate --partial 0.5   # the issue-5 pipeline

A recorded clip is played in real time as if from a camera and a microphone (`RecordingPlayer`) into
the threaded live driver (`LiveDriver`: one worker per processor; event-driven updates at most
`--max-rate` per second with a `--rate` floor, or a fixed-rate ticker with `--fixed-rate`), with the
real extractors. Every item is traced through the stages by the pipeline's own `LatencyTracker`
(`qamoe/realtime/latency.py`, the numbers `qamoe-live` shows in its footer and writes to --jsonl):

video frame:  capture (released by the player) -> queue (its worker picks it up) -> extract (face
              features stored) -> wait (for the model / the next update) -> window + model + publish
              (`to_update` = stored -> published); e2e = capture -> published.
spoken word:  end of the word in the audio -> asr (word first in the transcript, partial or final)
              -> to_update; e2e = word end -> published.
tick:         window, model, publish of every update.

It also reports the process's CPU use (CPU seconds per wall second, all threads) and the load average
before and after, since the machine is shared. Targets (issue 13): video frame e2e median < 50 ms,
p95 < 150 ms; word first appearance p95 < 1 s. Without `--checkpoint` the model is an untrained
QA-MoE of the extractors' feature sizes (latency does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import build  # noqa: E402  (same pipeline as the soak run)


def stats(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"n": 0}
    a = np.asarray(values_ms)
    return {"n": int(len(a)), "median_ms": round(float(np.median(a)), 1), "p95_ms": round(float(np.percentile(a, 95)), 1),
            "p99_ms": round(float(np.percentile(a, 99)), 1), "max_ms": round(float(a.max()), 1)}


def parse_background(text: str) -> dict[str, int]:
    return {name.strip(): int(inc) for name, inc in (part.split("=") for part in text.split(",") if part.strip())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=5.0, help="update rate: the floor (event-driven) or the fixed rate")
    p.add_argument("--max-rate", type=float, default=30.0, help="cap on event-driven updates per second")
    p.add_argument("--fixed-rate", action="store_true", help="no event-driven updates (the issue-5 pipeline)")
    p.add_argument("--partial", type=float, help="ASR partial cadence in seconds (default: the recogniser's, 0.1)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    p.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (s) for this run (Python's default 0.005)")
    p.add_argument("--background", default="asr+text=5",
                   help="worker threads run at a lower priority: name=nice increment, comma-separated ('' for none; "
                        "the default is qamoe-live's)")
    p.add_argument("--raw", action="store_true", help="also write every traced value (ms) per stage, to pool runs")
    p.add_argument("--out", default="latency.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    pipeline, player, driver = build(args.video, args.checkpoint, args.rate, events=not args.fixed_rate,
                                     max_rate_hz=args.max_rate, partial_s=args.partial, device=args.device,
                                     background=parse_background(args.background))
    updates = []
    pipeline.subscribe(lambda u: updates.append(u.t))
    load_before = os.getloadavg()
    cpu0, wall0 = time.process_time(), time.monotonic()
    driver.start()
    time.sleep(args.seconds)
    driver.stop()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    tracker = pipeline.monitor.latency
    stages = sorted(tracker.stages)
    result = {
        "video": args.video, "seconds": args.seconds, "rate_hz": args.rate, "max_rate_hz": args.max_rate,
        "events": not args.fixed_rate, "asr_partial_s": args.partial, "switch_interval_s": sys.getswitchinterval(),
        "background": parse_background(args.background), "torch_threads": 1, "device": str(pipeline.engine.device),
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_s_per_wall_s": round(cpu / wall, 3),
        "stages": {k: stats(tracker.values(k)) for k in stages},
        "updates": len(updates), "updates_per_s": round(len(updates) / wall, 2),
        "tick_errors": driver.tick_errors,
        "dropped": pipeline.latest.telemetry.dropped if pipeline.latest else {},
        "extractor_errors": dict(pipeline.stage.errors),
    }
    if args.raw:
        result["values_ms"] = {k: [round(v, 2) for v in tracker.values(k)] for k in stages}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "values_ms"}, indent=1))
    return result


if __name__ == "__main__":
    main()
