"""Converts the MIT mini-Xception Keras HDF5 to the safetensors weights of `qamoe.extractors.expression`.

    .venv/bin/pip install h5py          # build-time only; never a run-time dependency
    .venv/bin/python scripts/convert_mini_xception.py [--hdf5 PATH] [--out extractors/assets/mini_xception.safetensors]
    .venv/bin/python scripts/convert_mini_xception.py --check-only      # verify the shipped weights again
    .venv/bin/python scripts/convert_mini_xception.py --measure-crop    # where FER2013 puts the eyes (align_face's constants)

What it does:
1. reads the file's `model_config` (the Keras layer graph, JSON; nothing is executed) and every weight dataset;
2. maps them onto the hand-written torch module (`expression.mini_xception()`): Conv2D kernels
   (kh, kw, in, out) -> (out, in, kh, kw); SeparableConv2D depthwise (kh, kw, in, 1) -> (in, 1, kh, kw)
   and pointwise (1, 1, in, out) -> (out, in, 1, 1); BatchNormalization gamma/beta/moving mean/variance
   (epsilon 1e-3, checked in the config); the mapping follows the graph's edges, not layer numbers;
3. checks it numerically against an independent NumPy interpreter of the Keras graph (channels-last,
   TF 'same'/'valid' padding rules, written from the layer configs): max |difference| of the softmax
   on real FER2013 faces and on random inputs;
4. reports 7-class accuracy on FER2013 faces (48 -> 64 px, as the `fer` package feeds them), in the
   network's class order (FER2013's files number the classes alphabetically).

The reference numbers of the shipped file are in extractors/assets/CONVERSION.json.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HDF5 = ("face-expression", "fer2013_mini_XCEPTION.102-0.66.hdf5")  # under $QAMOE_SHARED_DATA unless --hdf5 names it
OUT = ROOT / "extractors" / "assets" / "mini_xception.safetensors"


# ------------------------------------------------------------------ the Keras file


def read_keras(path: Path) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
    """-> (layers of the graph in file order, {layer name: {weight name: array}})."""
    import h5py  # noqa: PLC0415 - build-time only

    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        weights: dict[str, dict[str, np.ndarray]] = {}
        group = f["model_weights"]
        for layer in group:
            found: dict[str, np.ndarray] = {}

            def visit(name, obj, found=found):
                if isinstance(obj, h5py.Dataset):
                    found[name.split("/")[-1].split(":")[0]] = np.asarray(obj[()], np.float32)

            group[layer].visititems(visit)
            if found:
                weights[layer] = found
    if config["class_name"] != "Model":
        raise SystemExit(f"expected a functional Keras Model, got {config['class_name']}")
    layers = []
    for layer in config["config"]["layers"]:
        inbound = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        layers.append({"name": layer["name"], "type": layer["class_name"], "config": layer["config"], "inputs": inbound})
    return layers, weights


# ------------------------------------------------------------------ an independent NumPy run of the graph


def _same_pad(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: output ceil(n / s); the odd extra cell goes after (bottom / right)."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _patches(x: np.ndarray, k: int, s: int, padding: str, fill: float = 0.0) -> np.ndarray:
    """(H, W, C) -> (H', W', k, k, C) windows, TF padding rules."""
    h, w, _ = x.shape
    if padding == "same":
        (t, b), (l, r) = _same_pad(h, k, s), _same_pad(w, k, s)
        x = np.pad(x, ((t, b), (l, r), (0, 0)), constant_values=fill)
    oh, ow = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(0, 1))  # (H-k+1, W-k+1, C, k, k)
    return view[: (oh - 1) * s + 1 : s, : (ow - 1) * s + 1 : s].transpose(0, 1, 3, 4, 2)


def keras_forward(layers: list[dict], weights: dict, image: np.ndarray) -> np.ndarray:
    """One (64, 64, 1) float input -> the graph's output, in float64, channels-last, from the configs."""
    values: dict[str, np.ndarray] = {}
    for layer in layers:
        kind, cfg, name = layer["type"], layer["config"], layer["name"]
        args = [values[i] for i in layer["inputs"]]
        w = weights.get(name, {})
        if kind == "InputLayer":
            out = image.astype(np.float64)
        elif kind == "Conv2D":
            (k, _), (s, _) = cfg["kernel_size"], cfg["strides"]
            out = np.einsum("hwijc,ijcd->hwd", _patches(args[0], k, s, cfg["padding"]), w["kernel"].astype(np.float64))
            if cfg["use_bias"]:
                out = out + w["bias"]
        elif kind == "SeparableConv2D":
            (k, _), (s, _) = cfg["kernel_size"], cfg["strides"]
            assert cfg["depth_multiplier"] == 1
            depth = np.einsum("hwijc,ijc->hwc", _patches(args[0], k, s, cfg["padding"]), w["depthwise_kernel"][..., 0].astype(np.float64))
            out = depth @ w["pointwise_kernel"][0, 0].astype(np.float64)
            if cfg["use_bias"]:
                out = out + w["bias"]
        elif kind == "BatchNormalization":
            out = (args[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"].astype(np.float64) + cfg["epsilon"]) * w["gamma"] + w["beta"]
        elif kind == "Activation":
            out = {"relu": lambda v: np.maximum(v, 0), "softmax": lambda v: np.exp(v - v.max()) / np.exp(v - v.max()).sum(),
                   "linear": lambda v: v}[cfg["activation"]](args[0])
        elif kind == "MaxPooling2D":
            (k, _), (s, _) = cfg["pool_size"], cfg["strides"]
            out = _patches(args[0], k, s, cfg["padding"], fill=-np.inf).max(axis=(2, 3))
        elif kind == "Add":
            out = sum(args)
        elif kind == "GlobalAveragePooling2D":
            out = args[0].mean(axis=(0, 1))
        else:
            raise SystemExit(f"layer type {kind} ({name}) is not handled")
        values[name] = out
    return values[layers[-1]["name"]]


# ------------------------------------------------------------------ mapping onto the torch module


def torch_state(layers: list[dict], weights: dict) -> dict[str, np.ndarray]:
    """Walks the graph and assigns Keras layers to the torch module's names by their place in it."""
    by_name = {l["name"]: l for l in layers}
    consumers: dict[str, list[str]] = {}
    for l in layers:
        for i in l["inputs"]:
            consumers.setdefault(i, []).append(l["name"])
    for l in layers:
        if l["type"] == "BatchNormalization" and abs(l["config"]["epsilon"] - 1e-3) > 1e-12:
            raise SystemExit(f"{l['name']}: epsilon {l['config']['epsilon']}, the torch module assumes 1e-3")
        if l["type"] in ("Conv2D", "SeparableConv2D") and l["config"].get("data_format", "channels_last") != "channels_last":
            raise SystemExit(f"{l['name']}: not channels_last")

    state: dict[str, np.ndarray] = {}

    def conv(prefix: str, name: str) -> None:
        k = weights[name]["kernel"]  # (kh, kw, in, out)
        state[f"{prefix}.weight"] = k.transpose(3, 2, 0, 1)
        if "bias" in weights[name]:
            state[f"{prefix}.bias"] = weights[name]["bias"]

    def sep(prefix: str, name: str) -> None:
        state[f"{prefix}.depthwise.weight"] = weights[name]["depthwise_kernel"].transpose(2, 3, 0, 1)  # (in, 1, kh, kw)
        state[f"{prefix}.pointwise.weight"] = weights[name]["pointwise_kernel"].transpose(3, 2, 0, 1)  # (out, in, 1, 1)

    def bn(prefix: str, name: str) -> None:
        w = weights[name]
        state[f"{prefix}.weight"], state[f"{prefix}.bias"] = w["gamma"], w["beta"]
        state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"] = w["moving_mean"], w["moving_variance"]
        state[f"{prefix}.num_batches_tracked"] = np.array(0, np.int64)

    def single(name: str, kind: str) -> str:
        nxt = [c for c in consumers.get(name, []) if by_name[c]["type"] == kind]
        if len(nxt) != 1:
            raise SystemExit(f"expected one {kind} after {name}, found {nxt}")
        return nxt[0]

    # stem: input -> Conv2D -> BN -> relu -> Conv2D -> BN -> relu
    node = layers[0]["name"]
    for i in (1, 2):
        c = single(node, "Conv2D")
        b = single(c, "BatchNormalization")
        conv(f"conv{i}", c)
        bn(f"bn{i}", b)
        node = single(b, "Activation")
    # four modules: the node feeds a 1x1 shortcut Conv2D and a SeparableConv2D chain, joined by Add
    block = 0
    while True:
        seps = [c for c in consumers[node] if by_name[c]["type"] == "SeparableConv2D"]
        if not seps:
            break
        p = f"blocks.{block}"
        short = single(node, "Conv2D")
        conv(f"{p}.shortcut", short)
        bn(f"{p}.shortcut_bn", single(short, "BatchNormalization"))
        s1 = seps[0]
        sep(f"{p}.sep1", s1)
        b1 = single(s1, "BatchNormalization")
        bn(f"{p}.bn1", b1)
        s2 = single(single(b1, "Activation"), "SeparableConv2D")
        sep(f"{p}.sep2", s2)
        b2 = single(s2, "BatchNormalization")
        bn(f"{p}.bn2", b2)
        node = single(single(b2, "MaxPooling2D"), "Add")
        block += 1
    head = single(node, "Conv2D")
    conv("head", head)
    single(single(head, "GlobalAveragePooling2D"), "Activation")
    used = {n for n in weights}
    if block != 4:
        raise SystemExit(f"expected 4 Xception modules, found {block}")
    print(f"mapped {len(state)} tensors from {len(used)} Keras layers (4 modules)")
    return {k: np.ascontiguousarray(v) for k, v in state.items()}


# ------------------------------------------------------------------ checks


def fer_faces(n: int | None = None, seed: int = 0):
    from qamoe.data.fer import read_fer  # noqa: PLC0415 - $QAMOE_SHARED_DATA/fer2013/fer2013-48px.npz

    images, labels, _ = read_fer()
    if n is not None and n < len(images):
        idx = np.random.default_rng(seed).choice(len(images), n, replace=False)
        images, labels = images[idx], labels[idx]
    return images, labels


def to64(images: np.ndarray) -> np.ndarray:
    import cv2  # noqa: PLC0415

    return np.stack([cv2.resize(im, (64, 64)) for im in images])  # bilinear, as the `fer` package does


def check(layers, weights, model, report: dict) -> None:
    import torch  # noqa: PLC0415

    from qamoe.extractors.expression import FER_TO_NET, preprocess  # noqa: PLC0415

    images, _ = fer_faces(24, seed=1)
    rng = np.random.default_rng(0)
    inputs = np.concatenate([preprocess(to64(images)), rng.uniform(-1, 1, (8, 1, 64, 64)).astype(np.float32)])
    with torch.no_grad():
        logits = model(torch.from_numpy(inputs)).double()
    mine = torch.softmax(logits, 1).numpy()
    ref = np.stack([keras_forward(layers, weights, x[0][..., None]) for x in inputs])
    diff = float(np.abs(mine - ref).max())
    report["max_abs_softmax_diff_vs_numpy_keras"] = diff
    report["argmax_agreement_vs_numpy_keras"] = float((mine.argmax(1) == ref.argmax(1)).mean())
    print(f"torch vs NumPy-Keras on {len(inputs)} inputs (24 FER faces, 8 random): max |softmax diff| {diff:.2e}, "
          f"argmax agreement {report['argmax_agreement_vs_numpy_keras']:.3f}")
    if diff > 1e-4:
        raise SystemExit("conversion does not match the Keras graph")

    images, labels = fer_faces()
    with torch.no_grad():
        x = torch.from_numpy(preprocess(to64(images)))
        pred = torch.cat([model(x[i : i + 512]).argmax(1) for i in range(0, len(x), 512)]).numpy()
    truth = FER_TO_NET[labels]
    acc = float((pred == truth).mean())
    per_class = {name: float((pred[truth == i] == i).mean()) for i, name in enumerate(("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))}
    report["fer2013_faces"] = int(len(images))
    report["fer2013_accuracy_7class"] = acc
    report["fer2013_recall_per_class"] = per_class
    report["fer2013_majority_class_rate"] = float(np.bincount(truth).max() / len(truth))
    print(f"FER2013 ({len(images)} faces, 48 -> 64 px bilinear): 7-class accuracy {acc:.4f} "
          f"(majority class {report['fer2013_majority_class_rate']:.3f}); recall {json.dumps({k: round(v, 3) for k, v in per_class.items()})}")


def measure_crop(n: int = 1000) -> None:
    """Where the face mesh finds the outer eye corners in FER2013's 48 px crops (padded 2x, upscaled)."""
    from qamoe.extractors.still_face import fer_canvas
    from qamoe.extractors.vision import FaceFeatures, R_EYE_OUT, L_EYE_OUT  # noqa: PLC0415

    images, _ = fer_faces(n, seed=2)
    faces = FaceFeatures(detector=False, static_images=True)
    found = []
    for im in images:
        canvas, (x0, y0, side) = fer_canvas(im)
        points = faces.landmarks(canvas)
        if points is None:
            continue
        h, w = canvas.shape[:2]
        r = (points[R_EYE_OUT, 0] * w, points[R_EYE_OUT, 1] * h)
        left = (points[L_EYE_OUT, 0] * w, points[L_EYE_OUT, 1] * h)
        mx, my = (r[0] + left[0]) / 2, (r[1] + left[1]) / 2
        found.append(((mx - x0) / side, (my - y0) / side, math.hypot(left[0] - r[0], left[1] - r[1]) / side))
    arr = np.array(found)
    med = np.median(arr, axis=0)
    print(f"{len(arr)}/{n} faces found; median eye midpoint x {med[0]:.3f}, y {med[1]:.3f} of the side, "
          f"outer-corner span {med[2]:.3f}; IQR span {np.percentile(arr[:, 2], 25):.3f}-{np.percentile(arr[:, 2], 75):.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hdf5", type=Path, help="the Keras file (default: $QAMOE_SHARED_DATA/" + "/".join(HDF5) + ")")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--check-only", action="store_true", help="verify the weights at --out against the HDF5; write nothing")
    p.add_argument("--measure-crop", action="store_true", help="measure FER2013's eye placement with the face mesh")
    args = p.parse_args()
    if args.measure_crop:
        measure_crop()
        return
    import torch  # noqa: PLC0415
    from safetensors.torch import save_file  # noqa: PLC0415

    from qamoe.extractors.expression import load_mini_xception, mini_xception  # noqa: PLC0415

    torch.manual_seed(0)
    torch.set_num_threads(1)  # small convolutions: more threads only spin against each other here
    from qamoe.data.paths import default_data  # noqa: PLC0415

    args.hdf5 = args.hdf5 or default_data(*HDF5, option="--hdf5")
    layers, weights = read_keras(args.hdf5)
    report: dict = {"source": args.hdf5.name, "source_bytes": args.hdf5.stat().st_size}
    if args.check_only:
        model = load_mini_xception(args.out)
    else:
        state = {k: torch.from_numpy(v) for k, v in torch_state(layers, weights).items()}
        model = mini_xception()
        model.load_state_dict(state, strict=True)
        model.eval()
    check(layers, weights, model, report)
    if not args.check_only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out),
                  metadata={"source": args.hdf5.name, "licence": "MIT, Octavio Arriaga 2017 (see LICENSE-mini-xception)",
                            "classes": "angry,disgust,fear,happy,sad,surprise,neutral", "input": "64x64 grey, (x/255-0.5)*2"})
        reloaded = load_mini_xception(args.out).state_dict()
        assert all(torch.equal(v, reloaded[k]) for k, v in model.state_dict().items()), "the saved weights differ"
        (args.out.parent / "CONVERSION.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes) and CONVERSION.json")


if __name__ == "__main__":
    main()
