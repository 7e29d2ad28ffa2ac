"""Facial expression from a face crop: the mini-Xception network (Arriaga et al. 2017, MIT) in plain PyTorch.

The network was trained in Keras on FER2013 (about 66 % 7-class accuracy reported); its weights ship
converted to safetensors in `assets/mini_xception.safetensors` (MIT notice in
`assets/LICENSE-mini-xception`), made by `scripts/convert_mini_xception.py` from the original HDF5
and checked there against an independent NumPy run of the Keras layer graph. No h5py, no Keras and
no pickle at run time.

Input: a 64x64 grey face, uint8, cropped like FER2013 faces (`align_face` cuts it from a frame given
the outer eye corners, the way `vision.FaceFeatures(expression=True)` does with the face mesh), scaled
to [-1, 1] by (x / 255 - 0.5) * 2. Output: 7 classes in the network's own order `EXPRESSIONS`
(angry, disgust, fear, happy, sad, surprise, neutral; FER2013's files number them alphabetically,
see `FER_TO_NET`).

    from qamoe.extractors.expression import ExpressionNet, EXPRESSIONS
    net = ExpressionNet()
    logp = net.log_probs(faces64)          # (N, 64, 64) uint8 -> (N, 7) natural-log probabilities
    name, p = top_expression(logp[0])      # ('happy', 0.93)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent / "assets"
WEIGHTS = ASSETS / "mini_xception.safetensors"
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64
# FER2013's label numbers (alphabetical: angry, disgust, fear, happy, neutral, sad, surprise) -> network index
FER_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
FER_TO_NET = np.array([EXPRESSIONS.index(c) for c in FER_CLASSES], np.int64)
LOG_FLOOR = math.log(1e-4)  # log-probabilities are clipped here (a softmax of 1e-30 says no more than 1e-4)

# Where FER2013 puts a face in its 48x48 crop, measured with the face mesh on 1,000 padded training
# faces (scripts/convert_mini_xception.py --measure-crop; 954 found): the midpoint of the outer eye corners sits
# at EYE_X, EYE_Y of the crop side, and the outer-corner distance is EYE_SPAN of it (medians).
# `align_face` cuts the same square out of any frame, so the network sees faces framed as it learnt.
EYE_X, EYE_Y, EYE_SPAN = 0.5, 0.385, 0.512


def _torch():
    import torch  # noqa: PLC0415

    return torch


def _build():
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class SeparableConv(nn.Module):
        """Keras SeparableConv2D, 3x3 'same', no bias: depthwise 3x3 (one filter per channel), then pointwise 1x1."""

        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
            self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

        def forward(self, x):
            return self.pointwise(self.depthwise(x))

    def bn(c: int):
        return nn.BatchNorm2d(c, eps=1e-3)  # Keras' default epsilon, not torch's 1e-5

    def max_pool_same(x):
        """Keras MaxPooling2D(3, strides=2, padding='same'): output ceil(n / 2); TF pads the odd extra
        cell at the bottom / right, with -inf so padding never wins."""
        h, w = x.shape[-2:]
        ph = max((math.ceil(h / 2) - 1) * 2 + 3 - h, 0)
        pw = max((math.ceil(w / 2) - 1) * 2 + 3 - w, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=float("-inf"))
        return F.max_pool2d(x, 3, 2)

    class Block(nn.Module):
        """One Xception module: two separable convs + max pool, plus a strided 1x1 conv shortcut."""

        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=2, bias=False)  # Keras 'same' with 1x1 stride 2 pads nothing
            self.shortcut_bn = bn(cout)
            self.sep1, self.bn1 = SeparableConv(cin, cout), bn(cout)
            self.sep2, self.bn2 = SeparableConv(cout, cout), bn(cout)

        def forward(self, x):  # (B, cin, n, n) -> (B, cout, ceil(n / 2), ceil(n / 2))
            residual = self.shortcut_bn(self.shortcut(x))
            x = F.relu(self.bn1(self.sep1(x)))
            x = self.bn2(self.sep2(x))
            return max_pool_same(x) + residual

    class MiniXception(nn.Module):
        """(B, 1, 64, 64) faces scaled to [-1, 1] -> (B, 7) logits (softmax gives the Keras output)."""

        def __init__(self, classes: int = len(EXPRESSIONS)) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(1, 8, 3, bias=False), bn(8)  # 'valid': 64 -> 62
            self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, bias=False), bn(8)  # 62 -> 60
            self.blocks = nn.ModuleList([Block(8, 16), Block(16, 32), Block(32, 64), Block(64, 128)])  # 60 -> 30 -> 15 -> 8 -> 4
            self.head = nn.Conv2d(128, classes, 3, padding=1)  # 'same', with bias: (B, 7, 4, 4)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))  # (B, 8, 62, 62)
            x = F.relu(self.bn2(self.conv2(x)))  # (B, 8, 60, 60)
            for block in self.blocks:
                x = block(x)  # (B, 128, 4, 4) after the last
            return self.head(x).mean(dim=(2, 3))  # global average pool -> (B, 7)

    return MiniXception


_CLASS = None


def mini_xception():
    """A fresh, untrained `MiniXception` module (the class is built on first use: torch loads lazily)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _build()
    return _CLASS()


def load_mini_xception(path: str | Path | None = None):
    """The network with the shipped (or given) safetensors weights, in eval mode."""
    from safetensors.torch import load_file  # noqa: PLC0415

    from .base import ExtractorUnavailable  # noqa: PLC0415

    path = Path(path) if path is not None else WEIGHTS
    if not path.is_file():
        raise ExtractorUnavailable(f"mini-Xception weights not found at {path} (run scripts/convert_mini_xception.py)")
    model = mini_xception()
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval()


def for_inference(model, trace: bool = True):
    """A copy of `model` made fast for one-face CPU inference, same function: every BatchNorm folded
    into the convolution before it (w * g / sqrt(v + eps), b' = beta - mean * g / sqrt(v + eps)),
    channels-last memory, and (trace) traced and frozen with TorchScript (fewer Python calls per
    layer). Measured here: 3.5 -> 1.4 ms per face on one core (benchmarks/EXTRACTORS.md); outputs
    agree with the plain converted network to ~1e-5 (tests/extractors/test_expression.py)."""
    import copy  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    torch = _torch()
    nn = torch.nn
    fused = copy.deepcopy(model).eval()

    def fold(conv, bn) -> None:
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight = nn.Parameter(conv.weight.detach() * scale.reshape(-1, 1, 1, 1), requires_grad=False)
        conv.bias = nn.Parameter(bn.bias.detach() - bn.running_mean * scale + bias * scale, requires_grad=False)

    fold(fused.conv1, fused.bn1)
    fold(fused.conv2, fused.bn2)
    fused.bn1 = fused.bn2 = nn.Identity()
    for block in fused.blocks:
        fold(block.shortcut, block.shortcut_bn)
        fold(block.sep1.pointwise, block.bn1)
        fold(block.sep2.pointwise, block.bn2)
        block.shortcut_bn = block.bn1 = block.bn2 = nn.Identity()
    fused = fused.to(memory_format=torch.channels_last)
    if not trace:
        return fused
    example = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE).contiguous(memory_format=torch.channels_last)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings: the pooling pads are constants for 64x64 input, as intended
        try:
            return torch.jit.freeze(torch.jit.trace(fused, example))
        except Exception:  # noqa: BLE001 - a torch without TorchScript: the eager module computes the same
            return fused


def preprocess(faces: np.ndarray) -> np.ndarray:
    """(N, 64, 64) or (64, 64) grey uint8 -> (N, 1, 64, 64) float32 in [-1, 1], as the network was trained."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.ndim != 3 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected (N, 64, 64) grey faces, got {faces.shape}")
    return ((faces.astype(np.float32) / 255.0 - 0.5) * 2.0)[:, None]


class ExpressionNet:
    """The shipped network, ready for single-threaded CPU inference on 64x64 grey faces."""

    def __init__(self, weights: str | Path | None = None, fast: bool = True) -> None:
        """fast: BatchNorm folded into the convolutions, channels-last (`for_inference`)."""
        self.model = load_mini_xception(weights)
        if fast:
            self.model = for_inference(self.model)

    def logits(self, faces: np.ndarray, batch: int = 256) -> np.ndarray:
        """(N, 64, 64) uint8 -> (N, 7) logits, one thread, no autograd."""
        from .base import single_thread  # noqa: PLC0415

        torch = _torch()
        x = preprocess(faces)
        out = []
        with single_thread(), torch.inference_mode():
            for i in range(0, len(x), batch):
                chunk = torch.from_numpy(x[i : i + batch]).contiguous(memory_format=torch.channels_last)
                out.append(self.model(chunk).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(EXPRESSIONS)), np.float32)

    def log_probs(self, faces: np.ndarray) -> np.ndarray:
        """(N, 64, 64) uint8 -> (N, 7) natural-log softmax, clipped below at LOG_FLOOR (float32)."""
        z = self.logits(faces).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return np.maximum(logp, LOG_FLOOR).astype(np.float32)

    def probs(self, faces: np.ndarray) -> np.ndarray:
        return np.exp(self.log_probs(faces))


def top_expression(log_probs: np.ndarray) -> tuple[str, float]:
    """(7,) log-probabilities (network order) -> (name of the most likely class, its probability)."""
    log_probs = np.asarray(log_probs, np.float64).reshape(-1)
    i = int(np.argmax(log_probs))
    return EXPRESSIONS[i], float(np.exp(log_probs[i]))


def align_face(gray: np.ndarray, right_eye: tuple[float, float], left_eye: tuple[float, float],
               size: int = INPUT_SIZE) -> np.ndarray:
    """Cuts a FER2013-like face crop out of a grey image: rotated so the eye line is horizontal,
    scaled so the outer eye corners span EYE_SPAN of the side, their midpoint at (EYE_X, EYE_Y).

    gray: (H, W) uint8; right_eye / left_eye: the subject's outer eye corners (x, y) in pixels, pixel
    i covering [i, i + 1) (mediapipe's normalised coordinates times the image size), the subject's
    right eye being image left on a frontal face. Returns (size, size) uint8; area outside the frame
    repeats the border pixels (as FER-style padding does)."""
    import cv2  # noqa: PLC0415 - opencv comes with mediapipe

    (rx, ry), (lx, ly) = right_eye, left_eye
    dx, dy = lx - rx, ly - ry
    span = math.hypot(dx, dy)
    if span < 1e-6:
        raise ValueError("the eye corners coincide")
    scale = EYE_SPAN * size / span  # output pixels per input pixel
    # shrinking: warp to k times the size, then average k x k blocks (warpAffine alone would alias)
    k = min(4, math.ceil(1.0 / scale - 1e-6)) if scale < 1 else 1
    out = size * k
    cos, sin = dx / span * scale * k, dy / span * scale * k
    cx, cy = (rx + lx) / 2 - 0.5, (ry + ly) / 2 - 0.5  # OpenCV puts pixel centres on integers
    # maps input (x, y) to output: rotate by -angle about the eye midpoint, scale, move to (EYE_X, EYE_Y)
    m = np.array([[cos, sin, EYE_X * out - 0.5 - (cos * cx + sin * cy)],
                  [-sin, cos, EYE_Y * out - 0.5 - (-sin * cx + cos * cy)]], np.float64)
    crop = cv2.warpAffine(gray, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop if k == 1 else cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
