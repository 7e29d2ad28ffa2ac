"""Soak run: the threaded live pipeline on a looping recorded clip for N minutes, memory sampled.

    .venv/bin/python benchmarks/soak.py --video CLIP.mp4 --minutes 12 --out soak.json

The clip is played in real time as if it came from a camera and a microphone (`RecordingPlayer`,
looped), through the real extractors (mediapipe face mesh, log-mel + silero VAD, Whisper tiny.en +
MiniLM) and a QA-MoE at 5 updates/s. Every `--every` seconds it records the process's resident
memory (VmRSS), the items held in every ring buffer and in the feature store, the transcript length,
the dropped counts and the updates so far. Without `--checkpoint` the model is an untrained QA-MoE of
the extractors' feature sizes with unit statistics: memory and timing do not depend on its weights.

Pass criterion (recorded in REALTIME.md): after a warm-up, resident memory stays flat (no growth
beyond noise) and every buffer stays at or below its capacity.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import torch


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def untrained_media_checkpoint():
    from qamoe.checkpoint import Checkpoint
    from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec, QAMoEConfig
    from qamoe.feature_stats import FeatureStats
    from qamoe.realtime.extraction import media_dims
    from qamoe.registry import build_model

    dims = media_dims()
    config = QAMoEConfig(modalities=tuple(ModalitySpec(m, d, TOKENS if m == "text" else CONTINUOUS) for m, d in dims.items()))
    model = build_model("qamoe", config).eval()
    ones = {m: FeatureStats(np.zeros(d, np.float32), np.ones(d, np.float32), np.ones(d, np.float32)) for m, d in dims.items()}
    return Checkpoint(model, ones, {"purpose": "soak benchmark (untrained)"})


def build(video: str, checkpoint_dir: str | None, rate_hz: float, *, events: bool = True, max_rate_hz: float = 30.0,
          partial_s: float | None = None, device: str = "cpu", background: dict[str, int] | None = None):
    """The threaded pipeline on the clip played as a live device. events / max_rate_hz: the update
    policy (LiveDriver); partial_s: the ASR's partial cadence (None: its default); background: worker
    thread priorities (None: the live driver's default, {} for none)."""
    from qamoe.checkpoint import load_checkpoint
    from qamoe.realtime.clock import MonotonicClock
    from qamoe.realtime.extraction import SpeechProcessor, media_processors
    from qamoe.inference import InferenceEngine
    from qamoe.realtime.mediafile import MediaRecording
    from qamoe.realtime.pipeline import Pipeline
    from qamoe.realtime.player import RecordingPlayer
    from qamoe.realtime.drivers import LiveDriver
    from qamoe.realtime.sources import SourceBoard

    checkpoint = load_checkpoint(checkpoint_dir) if checkpoint_dir else untrained_media_checkpoint()
    engine = InferenceEngine(checkpoint, device=device)
    processors = media_processors()
    if partial_s is not None:
        for processor in processors:
            if isinstance(processor, SpeechProcessor):
                processor.recognizer.partial_interval_s = partial_s
    player = RecordingPlayer(lambda: MediaRecording(video), loop=True, name="clip")
    pipeline = Pipeline.build(engine, processors, board=SourceBoard([player]))
    clock = MonotonicClock()
    return pipeline, player, LiveDriver(pipeline, clock, rate_hz=rate_hz, events=events, max_rate_hz=max_rate_hz,
                                                     background=background)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--minutes", type=float, default=12.0)
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--rate", type=float, default=5.0, help="update rate (the floor, with event-driven updates)")
    p.add_argument("--max-rate", type=float, default=30.0)
    p.add_argument("--fixed-rate", action="store_true", help="tick at --rate only (the issue-5 pipeline)")
    p.add_argument("--out", default="soak.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    pipeline, player, driver = build(args.video, args.checkpoint, args.rate, events=not args.fixed_rate, max_rate_hz=args.max_rate)
    updates = {"n": 0}
    pipeline.subscribe(lambda u: updates.__setitem__("n", updates["n"] + 1))
    samples = []
    started = time.monotonic()
    driver.start()
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(args.every)
            store = pipeline.store
            buffers = {**{b.name: len(b) for b in pipeline.stage.inboxes.values()}, **{b.name: len(b) for b in store.buffers.values()}}
            capacity = {**{b.name: b.capacity for b in pipeline.stage.inboxes.values()}, **{b.name: b.capacity for b in store.buffers.values()}}
            latest = pipeline.latest
            samples.append({
                "t_s": round(time.monotonic() - started, 1),
                "rss_mib": round(rss_mib(), 1),
                "buffered": buffers,
                "over_capacity": [k for k, v in buffers.items() if v > capacity[k]],
                "transcript_words": len(store.transcript.words()),
                "dropped": latest.telemetry.dropped if latest else {},
                "updates": updates["n"],
                "loops": player.loops,
                "threads": threading.active_count(),
                "errors": dict(pipeline.stage.errors),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "cpu_s": round(time.process_time(), 1),
            })
            s = samples[-1]
            print(f"{s['t_s']:7.1f} s  rss {s['rss_mib']:7.1f} MiB  updates {s['updates']:5d}  loops {s['loops']:3d}  "
                  f"buffered {sum(buffers.values()):5d}  dropped {sum(s['dropped'].values()):5d}  threads {s['threads']}", flush=True)
    finally:
        driver.stop()
    rss = np.array([s["rss_mib"] for s in samples])
    t = np.array([s["t_s"] for s in samples]) / 60
    warm = t >= 2.0
    slope = float(np.polyfit(t[warm], rss[warm], 1)[0]) if warm.sum() >= 3 else float("nan")
    result = {
        "video": args.video, "minutes": args.minutes, "rate_hz": args.rate,
        "rss_mib_first": float(rss[0]), "rss_mib_after_warmup": float(rss[warm][0]) if warm.any() else None,
        "rss_mib_max": float(rss.max()), "rss_mib_last": float(rss[-1]),
        "rss_slope_mib_per_min_after_2min": slope,
        "max_buffered_items": max(sum(s["buffered"].values()) for s in samples),
        "any_over_capacity": any(s["over_capacity"] for s in samples),
        "updates": samples[-1]["updates"], "loops": samples[-1]["loops"],
        "events": not args.fixed_rate, "max_rate_hz": args.max_rate,
        "load_average_range": [min(s["load_average"][0] for s in samples), max(s["load_average"][0] for s in samples)],
        "latency": pipeline.monitor.latency.summary(),
        "samples": samples,
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))


if __name__ == "__main__":
    main()
