"""A folder at once (issue 19): `qamoe-predict DIR --jsonl OUT` on N spoken WAV files against one
`qamoe-predict FILE --json` process per file, same numbers per file.

The WAVs are espeak-ng speech of the first N VADER texts of the valid split with 4 to 16 plain words
(voice and rate drawn per text, seed 0: `extractors.datasets.speech`). One process per file is timed
on the first `--singles` files and scaled to N (each such call pays the same start-up: imports, the
checkpoint, Whisper, MiniLM, silero).

    python benchmarks/predict_folder.py [--files 80] [--singles 6] [--out benchmarks/results/predict-folder.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qamoe.files import atomic_write_text

BIN = Path(sys.executable).parent


def spoken_texts(n: int):
    from qamoe.data.text_sentiment import default_data, rank_of, read_texts, split_of

    plain = re.compile(r"^[A-Za-z ,.!?']+$")
    texts = sorted((t for t in read_texts(default_data()) if split_of(t.key) == "valid" and 4 <= len(t.text.split()) <= 16
                    and plain.match(t.text)), key=lambda t: (rank_of(t.key), t.key))
    return texts[:n]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=80)
    p.add_argument("--singles", type=int, default=6)
    p.add_argument("--out", default="benchmarks/results/predict-folder.json")
    args = p.parse_args(argv)
    from qamoe.extractors.datasets.speech import speak, voice_for, write_wav

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "spoken"
        folder.mkdir()
        for i, t in enumerate(spoken_texts(args.files)):
            voice, rate = voice_for(t.key, 0)
            samples, hz = speak(t.text, voice, rate)
            write_wav(folder / f"{i:03d}.wav", samples, hz)
        files = sorted(folder.glob("*.wav"))
        rows_path = Path(tmp) / "rows.jsonl"
        started = time.perf_counter()
        run = subprocess.run([str(BIN / "qamoe-predict"), str(folder), "--jsonl", str(rows_path)], capture_output=True, text=True)
        folder_s = time.perf_counter() - started
        rows = {Path(r["file"]).name: r for r in map(json.loads, rows_path.read_text().splitlines())}
        singles, same = [], []
        for path in files[: args.singles]:
            started = time.perf_counter()
            one = subprocess.run([str(BIN / "qamoe-predict"), str(path), "--json"], capture_output=True, text=True)
            singles.append(time.perf_counter() - started)
            single = json.loads(one.stdout)
            same.append(abs(single["sentiment"] - rows[path.name]["sentiment"]) < 1e-4)
    per_call = float(np.mean(singles))
    result = {
        "command": "python benchmarks/predict_folder.py " + " ".join(argv or sys.argv[1:]), "files": len(files),
        "folder_run_s": round(folder_s, 1), "folder_exit_code": run.returncode,
        "single_call_s_mean": round(per_call, 2), "single_calls_timed": len(singles),
        "separate_calls_s_estimated": round(per_call * len(files), 1),
        "speed_up": round(per_call * len(files) / folder_s, 2), "same_numbers": all(same),
    }
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
