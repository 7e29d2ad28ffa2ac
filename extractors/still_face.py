"""Still faces: a photo or a tight face crop (FER2013's 48x48) -> one `FeatureFrame` of the face mesh.

`fer_face_features(face48)` pads a tight crop with its edge colour and upscales it (`fer_canvas`) so
the mesh finds the face; `still_image_features(path_or_array)` reads any picture (a small square one is
taken for a tight crop) through `FaceFeatures(expression=True, static_images=True)`; `still_face_window`
is how `Predictor.predict(image=...)` feeds a still face to the model (STILL_FACE_FRAMES copies).
"""

from __future__ import annotations

import numpy as np

from qamoe.data.window import STILL_FACE_FRAMES, still_window

from .base import FeatureFrame, VideoFrame
from .vision import FaceFeatures


def fer_canvas(face: np.ndarray, pad: float = 2.0, size: int = 192) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A tightly cropped grey (or RGB) square face (FER2013's 48x48) -> an RGB canvas the face mesh
    finds faces in: padded to `pad` times its side with its edge colour (each border pixel repeated
    outwards), then upscaled (bicubic) to `size` x `size`. Returns (canvas, (x0, y0, side)): where the
    original crop lies in the canvas, in pixels."""
    import cv2  # noqa: PLC0415

    face = np.asarray(face)
    if face.ndim == 3 and face.shape[2] == 3:
        face = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2GRAY)
    if face.ndim != 2 or face.dtype != np.uint8 or face.shape[0] != face.shape[1] or face.shape[0] < 8:
        raise ValueError(f"expected a square grey uint8 face (N, N), got {face.dtype} {face.shape}")
    if pad < 1:
        raise ValueError(f"pad must be >= 1, got {pad}")
    n = face.shape[0]
    margin = int(round(n * (pad - 1) / 2))
    padded = np.pad(face, margin, mode="edge")
    scale = size / padded.shape[0]
    canvas = cv2.resize(padded, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB), (margin * scale, margin * scale, n * scale)


_STILL: FaceFeatures | None = None


def still_face_extractor() -> FaceFeatures:
    """One shared `FaceFeatures(expression=True, static_images=True)` for still pictures (built once;
    not for use from several threads at a time)."""
    global _STILL
    if _STILL is None:
        _STILL = FaceFeatures(expression=True, static_images=True)
    return _STILL


def fer_face_features(face: np.ndarray, faces: FaceFeatures | None = None, *, pad: float = 2.0, size: int = 192,
                      t: float = 0.0, transform=None) -> FeatureFrame:
    """One FER2013 face (48x48 grey uint8) -> its vision feature frame (geometry + expression, 27
    values, `missing=True` when the mesh finds no face), through `fer_canvas` and the same
    `FaceFeatures.analyse` live video uses. `faces`: an extractor built with `static_images=True`
    (default: `still_face_extractor()`); its `dim` decides whether expression is included.

    The geometry describes the canvas: face_scale, face_x, face_y are those of a face filling half the
    picture (pad 2); the detector confidence is BlazeFace's on the upscaled face. Measured on FER2013
    (benchmarks/EXTRACTORS.md): the mesh finds 96 % of the faces; ~14 ms CPU (30 ms wall on a loaded core) per face.
    `transform`: an optional function RGB canvas -> RGB uint8 image applied before the analysis, for
    degrading the picture the way a camera would (blur, darkness, occlusion, downscaling) so the
    features show what that does to the face mesh and the network."""
    faces = faces if faces is not None else still_face_extractor()
    canvas, _ = fer_canvas(face, pad, size)
    if transform is not None:
        canvas = np.ascontiguousarray(transform(canvas))
    return faces.analyse(VideoFrame(t, canvas))


def fer_face_batch(images: np.ndarray, faces: FaceFeatures | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, 48) FER2013 faces -> ((N, dim) float32 feature rows, zeros where no face was found;
    (N,) bool found), one `fer_face_features` call per face (`options` go to it)."""
    faces = faces if faces is not None else still_face_extractor()
    frames = [fer_face_features(face, faces, **options) for face in images]
    values = np.stack([f.values for f in frames]) if frames else np.zeros((0, faces.dim), np.float32)
    return values.astype(np.float32), np.array([not f.missing for f in frames], bool)


TIGHT_CROP_MAX = 128  # a square-ish picture up to this side is taken for a tight face crop (FER2013: 48)


MAX_IMAGE_PIXELS = 50_000_000  # a bigger picture is refused before it is decoded


def _read_image(path) -> np.ndarray:
    """An image file -> uint8 RGB, or (H, W) uint16 for 16-bit grey; ValueError for anything else."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - Pillow comes with matplotlib

    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{path}: {im.width} x {im.height} pixels is more than this reads "
                                 f"({MAX_IMAGE_PIXELS / 1e6:.0f} megapixels); scale it down first")
            if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey ("I" holds it as int32)
                return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
            if im.mode == "F":
                values = np.asarray(im, np.float64)
                scale = 255.0 if np.nanmax(values) <= 1.0 else 1.0
                return np.clip(np.nan_to_num(values) * scale, 0, 255).astype(np.uint8)
            return np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: refused as a decompression bomb ({err})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from None


def as_rgb(image) -> np.ndarray:
    """A picture -> RGB uint8 (H, W, 3): a path of an image file (anything Pillow reads; 16-bit grey
    is scaled, not clipped; more than MAX_IMAGE_PIXELS is refused), or an (H, W) grey / (H, W, 3)
    RGB / (H, W, 4) RGBA uint8 or uint16 array."""
    from pathlib import Path  # noqa: PLC0415

    if isinstance(image, (str, Path)):
        image = _read_image(image)
    image = np.asarray(image)
    if image.dtype == np.uint16:  # 16-bit: the top byte, not clipped to white
        image = (image.astype(np.uint32) // 257).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (or uint16) image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 8:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image of at least 8 x 8 pixels, got {image.shape}")
    return np.ascontiguousarray(image)


def still_image_features(image, faces: FaceFeatures | None = None, t: float = 0.0) -> FeatureFrame:
    """One still picture (path or array, see `as_rgb`) -> its vision feature frame.

    A small, square-ish picture (sides within 20 % of each other, at most TIGHT_CROP_MAX px: a tight
    face crop like FER2013's) goes through `fer_canvas` exactly as `fer_face_features` does; any
    other picture is analysed as it is, and when the mesh finds no face in a square-ish one it is
    tried once more as a tight crop. `faces`: built with `static_images=True` (default: shared)."""
    faces = faces if faces is not None else still_face_extractor()
    rgb = as_rgb(image)
    h, w = rgb.shape[:2]
    squareish = max(h, w) <= 1.2 * min(h, w)

    def tight() -> FeatureFrame:
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        return faces.analyse(VideoFrame(t, fer_canvas(rgb[y0 : y0 + side, x0 : x0 + side])[0]))

    if squareish and max(h, w) <= TIGHT_CROP_MAX:
        return tight()
    frame = faces.analyse(VideoFrame(t, rgb))
    if frame.missing and squareish:
        frame = tight()
    return frame


def still_face_window(frame: FeatureFrame, dim: int | None = None, frames: int = STILL_FACE_FRAMES) -> np.ndarray:
    """A still face as the model reads it: `frames` copies of its first `dim` values, (frames, dim)
    float32; (0, dim) when the frame is missing (no face)."""
    dim = len(frame.values) if dim is None else int(dim)
    if frame.missing:
        return np.zeros((0, dim), np.float32)
    return still_window(frame.values[:dim], frames)
