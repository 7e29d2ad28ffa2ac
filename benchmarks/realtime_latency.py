"""End-to-end latency of the live pipeline on this machine's CPU, per stage, median and p95.

    .venv/bin/python benchmarks/realtime_latency.py --video CLIP.mp4 --seconds 60 --out latency.json

A recorded clip is played in real time as if from a camera and a microphone (`RecordingPlayer`) into
the threaded live driver (`LiveDriver`: one worker per processor, ticker at `--rate` Hz), with the
real extractors. Each item is traced through the stages:

video frame:  capture (stamped at release) -> worker picks it up (queue) -> face features stored
              (extract) -> first update whose window holds it is published (tick wait + window +
              model). e2e = publish - capture.
spoken word:  end of the word in the audio (pipeline clock) -> word first in the transcript, partial
              or final (ASR: includes waiting for more audio) -> first update showing it.
              e2e = publish - word end.

Targets (issue 5): video e2e median < 150 ms; word e2e < 1 s.
Without `--checkpoint` the model is an untrained QA-MoE of the extractors' feature sizes (latency
does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
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
            "max_ms": round(float(a.max()), 1)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=5.0)
    p.add_argument("--out", default="latency.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    pipeline, player, driver = build(args.video, args.checkpoint, args.rate)
    clock = driver.clock
    lock = threading.Lock()
    picked: dict[float, float] = {}  # video capture t -> when its worker started on it
    stored: dict[float, float] = {}  # vision frame start (= capture t) -> when stored
    words: dict[tuple[str, float], float] = {}  # (text, end) -> when first in the transcript
    published: list[tuple[float, float]] = []  # (tick t, publish time)

    vision = next(p for p in pipeline.stage.processors["video"] if p.name == "vision")
    original_process = vision.process

    def traced_process(t, item, store):
        with lock:
            picked[t] = clock.now()
        original_process(t, item, store)

    vision.process = traced_process
    store = pipeline.store
    original_add_frame = store.add_frame

    def traced_add_frame(modality, frame):
        original_add_frame(modality, frame)
        if modality == "vision" and not frame.missing:
            with lock:
                stored.setdefault(frame.start, clock.now())

    store.add_frame = traced_add_frame
    transcript = store.transcript
    original_add, original_partial = transcript.add, transcript.set_partial

    def note_words(ws):
        now = clock.now()
        with lock:
            for w in ws:
                words.setdefault((w.text, round(w.end, 2)), now)

    transcript.add = lambda w: (note_words([w]), original_add(w))[1]
    transcript.set_partial = lambda ws: (note_words(ws), original_partial(ws))[1]
    pipeline.subscribe(lambda u: published.append((u.t, clock.now())))

    driver.start()
    time.sleep(args.seconds)
    driver.stop()

    ticks = np.array(published)

    def first_update(ready_at: float, include_t: float) -> float | None:
        """Publish time of the first update published after `ready_at` whose tick time >= include_t."""
        ok = (ticks[:, 1] >= ready_at) & (ticks[:, 0] >= include_t)
        return float(ticks[ok][0, 1]) if ok.any() else None

    video = {"queue": [], "extract": [], "to_update": [], "e2e": []}
    for t, at in sorted(stored.items()):
        pub = first_update(at, t)
        if pub is None or t not in picked:
            continue
        video["queue"].append((picked[t] - t) * 1000)
        video["extract"].append((at - picked[t]) * 1000)
        video["to_update"].append((pub - at) * 1000)
        video["e2e"].append((pub - t) * 1000)
    speech = {"asr": [], "to_update": [], "e2e": []}
    for (_text, end), at in sorted(words.items(), key=lambda kv: kv[0][1]):
        pub = first_update(at, end)
        if pub is None:
            continue
        speech["asr"].append((at - end) * 1000)
        speech["to_update"].append((pub - at) * 1000)
        speech["e2e"].append((pub - end) * 1000)
    ticks_ms = [v for k, v in (pipeline.latest.latency_ms.items() if pipeline.latest else []) if k in ("window", "inference")]
    result = {
        "video": args.video, "seconds": args.seconds, "rate_hz": args.rate, "torch_threads": 1,
        "video_frame": {k: stats(v) for k, v in video.items()},
        "spoken_word": {k: stats(v) for k, v in speech.items()},
        "last_tick_window_inference_ms": ticks_ms,
        "updates": len(published),
        "dropped": pipeline.latest.dropped if pipeline.latest else {},
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
