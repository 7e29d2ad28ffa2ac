"""Reader for OpenFace 2.0 `FeatureExtraction` CSV output, for users who already have OpenFace features.

`read_openface_csv(path)` returns one `FeatureFrame` per CSV row (`start` = the row's `timestamp`,
`end` = the next row's timestamp, or start + the median step for the last row); rows with
`success == 0` are `missing=True` with zero values. Column names may carry leading spaces (OpenFace
writes ", AU01_r"). `dim == 27`, names in `FEATURE_NAMES`:

| i | names | meaning |
| --- | --- | --- |
| 0-16 | AU01_r AU02_r AU04_r AU05_r AU06_r AU07_r AU09_r AU10_r AU12_r AU14_r AU15_r AU17_r AU20_r AU23_r AU25_r AU26_r AU45_r | action-unit intensities, 0-5 |
| 17-19 | pose_Rx pose_Ry pose_Rz | head rotation, radians |
| 20-25 | gaze_0_x gaze_0_y gaze_0_z gaze_1_x gaze_1_y gaze_1_z | gaze unit vectors of both eyes |
| 26 | confidence | OpenFace tracking confidence, [0, 1] |

`start`/`end` keep only rows with start <= timestamp < end (a clip of a longer recording).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .base import FeatureFrame

AU_NAMES = tuple(f"AU{n:02d}_r" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45))
FEATURE_NAMES = AU_NAMES + ("pose_Rx", "pose_Ry", "pose_Rz") + tuple(
    f"gaze_{e}_{a}" for e in (0, 1) for a in "xyz"
) + ("confidence",)
DIM = len(FEATURE_NAMES)


class OpenFaceError(ValueError):
    """An OpenFace CSV that cannot be used; the message says what is wrong."""


def read_openface_csv(path: str | Path, start: float | None = None, end: float | None = None) -> list[FeatureFrame]:
    path = Path(path)
    if not path.is_file():
        raise OpenFaceError(f"{path}: no such file")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise OpenFaceError(f"{path} is empty") from None
        rows = [row for row in reader if row]
    needed = ("timestamp", "success") + FEATURE_NAMES
    absent = [name for name in needed if name not in header]
    if absent:
        raise OpenFaceError(f"{path}: not an OpenFace 2.0 CSV, columns {absent} are absent")
    columns = [header.index(name) for name in FEATURE_NAMES]
    t_col, ok_col = header.index("timestamp"), header.index("success")
    try:
        times = np.array([float(row[t_col]) for row in rows])
        values = np.array([[float(row[c]) for c in columns] for row in rows], np.float32)
        success = np.array([float(row[ok_col]) > 0 for row in rows])
    except (ValueError, IndexError) as exc:
        raise OpenFaceError(f"{path}: malformed row ({exc})") from exc
    if len(times) == 0:
        return []
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1 / 30
    ends = np.append(times[1:], times[-1] + step)
    frames = []
    for t, e, v, ok in zip(times, ends, values, success):
        if (start is not None and t < start) or (end is not None and t >= end):
            continue
        if ok and np.isfinite(v).all():
            frames.append(FeatureFrame(float(t), float(e), v))
        else:
            frames.append(FeatureFrame(float(t), float(e), np.zeros(DIM, np.float32), missing=True))
    return frames
