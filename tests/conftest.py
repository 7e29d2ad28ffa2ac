import qamoe  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads; see qamoe/__init__.py)
import pytest
import torch

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec, QAMoEConfig


@pytest.fixture
def small_config() -> QAMoEConfig:
    """A QA-MoE small enough to run in milliseconds, with all three modality kinds."""
    return QAMoEConfig(
        modalities=(ModalitySpec("text", 6, TOKENS), ModalitySpec("audio", 5, CONTINUOUS), ModalitySpec("vision", 4, CONTINUOUS)),
        d_model=16,
        encoder_heads=2,
        num_experts=4,
        top_k=2,
        expert_hidden=32,
        dropout=0.0,
    )


@pytest.fixture
def small_batch(small_config):
    torch.manual_seed(0)
    b, t = 5, 7
    features = {m.name: torch.randn(b, t, m.dim) for m in small_config.modalities}
    lengths = {m.name: torch.tensor([7, 3, 1, 5, 7]) for m in small_config.modalities}
    return features, lengths


def _write_tone_video(path, seconds: int = 6):
    """A small real video: changing grey frames and a 220 Hz tone, faststart MP4 (moov atom first, so a
    truncated copy still opens)."""
    import numpy as np

    av = pytest.importorskip("av")
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        video = container.add_stream("mpeg4", rate=15)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(15 * seconds):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 3) % 255, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode())
        tone = (0.1 * np.sin(np.arange(16000 * seconds) / 16000 * 2 * np.pi * 220)).astype(np.float32)
        for k in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, k
            container.mux(audio.encode(chunk))
        container.mux(audio.encode())
    return path


@pytest.fixture
def write_tone_video():
    """The writer of `_write_tone_video(path, seconds=6)`, shared by every suite that needs a real small video."""
    return _write_tone_video
