"""How soon the recogniser (Whisper tiny.en, `qamoe.extractors.asr`) shows a spoken word, partial and
final, against its CPU cost, for several re-decode cadences and endpointing silences (issues 13, 18).

    .venv/bin/python benchmarks/asr_latency.py --video CLIP.mp4 --loops 3 --out asr.json

The clip's audio is fed to `qamoe.extractors.asr.SpeechRecognizer` in chunks (`--chunk`, 0.1 s as
`qamoe-live --video` delivers them; 0.02 s is what a microphone callback delivers) with no wall
clock involved, so the latency below is the algorithm's own, independent of machine load:

  first appearance = end of the chunk whose feeding first returned the word (partial or final)
                     - end of the word in the audio,

matched per final word (same text, end within 0.3 s of a partial's: Whisper's word times move a
little between decodes), and final = end of the chunk that returned the word as final - end of the
word. CPU is process time per
second of audio (recogniser + its silero VAD), which does depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def audio_chunks(video: str, chunk_s: float):
    from qamoe.extractors.decode import MediaReader

    return list(MediaReader(video).audio(chunk_s=chunk_s))


def measure(chunks, loops: int, partial_s: float, silence_s: float) -> dict:
    from dataclasses import replace

    from qamoe.extractors.asr import SpeechRecognizer
    from qamoe.extractors.vad import VoiceActivity

    recognizer = SpeechRecognizer(vad=VoiceActivity(min_silence_s=silence_s), partial_interval_s=partial_s)
    recognizer.reset()
    span = chunks[-1].t + chunks[-1].duration - chunks[0].t
    seen: list[tuple[str, float, float]] = []  # (text, word end, first shown at)
    finals, final_delays = [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for loop in range(loops):
        for chunk in chunks:
            c = replace(chunk, t=chunk.t + loop * span)
            shown_at = c.t + c.duration
            for w in recognizer.feed(c):
                seen.append((w.text, w.end, shown_at))
                if w.final:
                    finals.append(w)
                    final_delays.append((shown_at - w.end) * 1000)
    end_t = loops * span
    for w in recognizer.flush():
        seen.append((w.text, w.end, end_t))
        finals.append(w)
        final_delays.append((end_t - w.end) * 1000)
    cpu = time.process_time() - cpu0
    latencies = []
    for w in finals:
        first = min((at for text, end, at in seen if text == w.text and abs(end - w.end) <= 0.3), default=None)
        if first is not None:
            latencies.append((first - w.end) * 1000)
    a = np.asarray(latencies)
    return {
        "partial_interval_s": partial_s, "min_silence_s": silence_s, "words": len(finals),
        "first_appearance_ms": {"median": round(float(np.median(a)), 1), "p95": round(float(np.percentile(a, 95)), 1),
                                "p99": round(float(np.percentile(a, 99)), 1), "max": round(float(a.max()), 1)},
        "final_ms": {"median": round(float(np.median(final_delays)), 1), "p95": round(float(np.percentile(final_delays, 95)), 1),
                     "max": round(float(np.max(final_delays)), 1)},
        "cpu_s_per_audio_s": round(cpu / (loops * span), 4),
        "wall_s": round(time.perf_counter() - wall0, 2),
        "text": " ".join(w.text for w in finals[: len(finals) // loops]),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True)
    p.add_argument("--loops", type=int, default=3)
    p.add_argument("--chunk", type=float, default=0.1)
    p.add_argument("--partials", default="1.0,0.5", help="re-decode cadences (s) to try")
    p.add_argument("--silences", default="0.3", help="endpointing silences (s) to try")
    p.add_argument("--out", default="asr-latency.json")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    chunks = audio_chunks(args.video, args.chunk)
    rows = []
    for silence in (float(x) for x in args.silences.split(",")):
        for partial in (float(x) for x in args.partials.split(",")):
            row = measure(chunks, args.loops, partial, silence)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"video": args.video, "chunk_s": args.chunk, "loops": args.loops, "load_average": os.getloadavg(), "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
