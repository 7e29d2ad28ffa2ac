"""How soon the commands answer (issue 19): wall time of whole processes, median of `--repeat` runs.

    python benchmarks/startup.py --out benchmarks/results/startup.json

Budgets on the project's 2-core machine (page cache warm): `--help` under 0.5 s, a missing file
reported under 1 s, a text prediction under 3 s, a face image under 4 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent


def timed(argv: list[str], repeat: int) -> dict:
    times, code = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        code = subprocess.run(argv, capture_output=True).returncode
        times.append(time.perf_counter() - started)
    return {"command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv)), "exit": code,
            "median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default="benchmarks/results/startup.json")
    args = p.parse_args(argv)
    from PIL import Image

    face = Path("/tmp/qamoe-startup-face.png")
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(face)
    predict = str(BIN / "qamoe-predict")
    rows = [timed([predict, "--help"], args.repeat), timed([str(BIN / "qamoe-live"), "--help"], args.repeat),
            timed([str(BIN / "qamoe-train"), "--help"], args.repeat), timed([predict, "nothere.mp4"], args.repeat),
            timed([predict, "--text", "what a wonderful day", "--json"], args.repeat), timed([predict, str(face), "--json"], args.repeat)]
    result = {"load_average": os.getloadavg(), "repeat": args.repeat, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1))
    for row in rows:
        print(f"{row['median_s']:7.3f} s  exit {row['exit']}  {row['command']}")


if __name__ == "__main__":
    main()
