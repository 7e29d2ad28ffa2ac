"""Training throughput with 1 and 2 processes (torchrun, gloo) on this machine.

    .venv/bin/python benchmarks/train_throughput.py [--epochs 3] [--out benchmarks/results/train-throughput.json]

Each configuration runs `qamoe-train` on the simulator (1,284 training clips, default model) for a
few epochs and reads the wall time of the training loop from the checkpoint's provenance; samples/s
= epochs x training clips / train_seconds (validation passes included, as in a real run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

TRAIN_CLIPS = 1284


def run(nproc: int, threads: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ckpt"
        args = ["--epochs", str(epochs), "--out", str(out), "--device", "cpu"]
        if nproc == 1:
            cmd = [sys.executable, "-m", "qamoe.cli.train", *args]
        else:
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                   "-m", "qamoe.cli.train", *args]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        provenance = json.loads((out / "config.json").read_text())["provenance"]
    seconds = provenance["train_seconds"]
    return {"processes": nproc, "threads_per_process": threads, "epochs": epochs, "train_seconds": seconds,
            "samples_per_s": epochs * TRAIN_CLIPS / seconds}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default="benchmarks/results/train-throughput.json")
    args = p.parse_args()
    rows = [run(1, 1, args.epochs), run(1, 2, args.epochs), run(2, 1, args.epochs)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "runs": rows}, indent=2) + "\n")
    table = Table(title="qamoe-train throughput on the simulator (CPU)")
    for col in ("processes", "threads each", "epochs", "train s", "samples/s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["processes"]), str(r["threads_per_process"]), str(r["epochs"]),
                      f"{r['train_seconds']:.1f}", f"{r['samples_per_s']:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
