"""The media checkpoint of the live-pipeline tests: a small QA-MoE trained on the real extractors'
features of a talking clip (support.media.make_talking_clip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def train_media_checkpoint(clip: Path, out: Path, processors) -> Path:
    """A small QA-MoE for the real extractors' feature sizes, trained with the spectrum strategy on
    windows of the clip's own features (each modality's present windows, combined at random; label
    +1.5 for the first sentence's time, -1.5 for the second's). It gives the pipeline a checkpoint
    that reads live features and has learnt what missing and noisy inputs look like."""
    from dataclasses import replace

    from qamoe.checkpoint import save_checkpoint
    from qamoe.dataset import ModalityData, MultimodalDataset, SplitData
    from qamoe.realtime.extraction import media_dims
    from qamoe.realtime.mediafile import MediaRecording
    from qamoe.realtime.pipeline import WindowConfig
    from qamoe.realtime.stage import FeatureStage
    from qamoe.realtime.store import FeatureStore
    from qamoe.dataset import pool_frames
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
        stage.push(stream, t, item)
        stage.drain()
    stage.flush()
    collect(next_tick)
    for processor in processors:  # hand them back ready for a new stream
        for part in ("extractor", "recognizer", "embedder"):
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
