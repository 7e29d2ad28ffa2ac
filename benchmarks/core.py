"""Core speed on this machine: training throughput and inference latency per batch size.

    .venv/bin/python benchmarks/core.py [--threads N] [--device cpu|cuda] [--out benchmarks/results/core-cpu.json]

Training throughput: samples per second of full spectrum-training steps (degradation, forward,
backward, clipping, Adam) on the simulator. Inference: median and 95th-percentile latency of one
forward pass in eval mode, and samples per second, for several batch sizes. Results are written as
JSON and printed as a table; BENCHMARKS.md records them with the machine they came from.
"""

from __future__ import annotations

import qamoe  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads)
import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from qamoe.feature_stats import fit_stats
from qamoe.data.synthetic import make_synthetic
from qamoe.tensors import TensorSplit
from qamoe.degradation import degrade
from qamoe.evaluate import sigma_ref_tensors
from qamoe.loss import total_loss
from qamoe.model import QAMoE
from qamoe.train import model_config_for


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def training_throughput(model, split, sigma_ref, device, batch_size=16, steps=60, warmup=5) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batches = list(split.batches(batch_size, shuffle=True, generator=generator))
    model.train()
    done, started = 0, None
    for step in range(steps + warmup):
        if step == warmup:
            sync(device)
            started, done = time.perf_counter(), 0
        batch = batches[step % len(batches)]
        degraded = degrade(batch.features, batch.lengths, modalities=model.config.modalities, sigma_ref=sigma_ref,
                           noise=0.5, missing_rate=0.3, generator=generator)
        features = {k: v.to(device) for k, v in degraded.features.items()}
        lengths = {k: v.to(device) for k, v in degraded.lengths.items()}
        loss, _ = total_loss(model(features, lengths), batch.labels.to(device), model.config)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        done += len(batch.labels)
    sync(device)
    return done / (time.perf_counter() - started)


@torch.no_grad()
def inference_latency(model, split, device, batch_size, repeats=50, warmup=5) -> dict:
    model.eval()
    batch = split.batch(torch.arange(batch_size) % len(split))
    features = {k: v.to(device) for k, v in batch.features.items()}
    lengths = {k: v.to(device) for k, v in batch.lengths.items()}
    times = []
    for i in range(repeats + warmup):
        sync(device)
        t0 = time.perf_counter()
        model(features, lengths)
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {"batch": batch_size, "median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "samples_per_s": float(batch_size / np.median(ms) * 1000)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    p.add_argument("--batches", default="1,16,64,256")
    p.add_argument("--out", default="benchmarks/results/core-cpu.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    data = make_synthetic(0)
    stats = fit_stats(data.splits["train"].modalities)
    split = TensorSplit(data.splits["train"], stats)
    model = QAMoE(model_config_for(data)).to(device)
    sigma_ref = sigma_ref_tensors(stats)

    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "threads": args.threads, "device": str(device), "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_samples_per_s_batch16": training_throughput(model, split, sigma_ref, device),
        "inference": [inference_latency(model, split, device, int(b)) for b in args.batches.split(",")],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=f"QA-MoE core on {device} ({args.threads} threads): "
                        f"training {result['train_samples_per_s_batch16']:.0f} samples/s at batch 16")
    for col in ("batch", "median ms", "p95 ms", "samples/s"):
        table.add_column(col, justify="right")
    for row in result["inference"]:
        table.add_row(str(row["batch"]), f"{row['median_ms']:.2f}", f"{row['p95_ms']:.2f}", f"{row['samples_per_s']:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
