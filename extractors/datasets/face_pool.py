"""Face features of a folder of videos: real faces for a data set that has none.

The text-sentiment build attaches windows of these faces to half of its samples at random
(`qamoe.data.text_sentiment.face_windows`), unrelated to the texts, so the vision expert sees real
face features, learns their statistics and learns that they carry no sentiment there - instead of
meeting face features for the first time live.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qamoe.data.text_sentiment import DIMS, VISION_FPS, pack
from qamoe.extractors.decode import MediaReader
from qamoe.extractors.vision import FaceFeatures
from qamoe.files import atomic_write_npz

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")
MIN_FRAMES = 8  # a video with fewer usable face frames is left out


def build_face_pool(path: str | Path, media: str | Path) -> Path | None:
    """The live `FaceFeatures` (VISION_FPS) of every video in `media` -> `path` (.npz: vision + lengths
    packed, videos); an existing file is kept. None when no video gives MIN_FRAMES face frames."""
    path = Path(path)
    if path.exists():
        return path
    videos = sorted(p for p in Path(media).glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        return None
    faces = FaceFeatures(fps=VISION_FPS)
    seqs, names = [], []
    for video in videos:
        frames = [f for f in faces.run(MediaReader(video).video()) if not f.missing]
        if len(frames) >= MIN_FRAMES:
            seqs.append(np.stack([f.values for f in frames]).astype(np.float32))
            names.append(video.name)
    if not seqs:
        return None
    flat, lengths = pack(seqs, DIMS["vision"])
    atomic_write_npz(path, {"vision": flat.astype(np.float32), "lengths": lengths, "videos": np.array(names)})
    return path
