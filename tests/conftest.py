import qamoe  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads; see qamoe/__init__.py)
from pathlib import Path

import pytest
import torch

pytest.register_assert_rewrite("support")  # before the first import of it: its asserts report like a test's
import support.data  # noqa: E402
import support.media  # noqa: E402
from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec, QAMoEConfig  # noqa: E402

pytest_plugins = ["support.require"]  # QAMOE_REQUIRE_MEDIA=1: every skip but a platform skip fails


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


@pytest.fixture
def write_tone_video():
    """support.media.write_tone_video(path, seconds=6): a small real video, for suites that want it as a fixture."""
    return support.media.write_tone_video


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of the real data sets ($QAMOE_SHARED_DATA); skips without it (fails under QAMOE_REQUIRE_MEDIA=1)."""
    return support.data.shared_data()


# ---------------------------------------------------------------- the fast tier
# `pytest -m "not integration"` runs the fast tier; the default run is the full suite. A module is
# integration when its tests load a real extractor model (Whisper, silero-vad, MiniLM, the face mesh,
# the expression network), start a process (a CLI in a subprocess, torchrun, tmux), train more than a
# few steps, or read the real data sets; every test in it is marked, by folder or by file below.
INTEGRATION_FOLDERS = ("extractors", "distributed", "cli")
INTEGRATION_FILES = {
    "test_no_evidence.py", "test_predictor.py", "test_predictor_media.py", "test_predictor_calibration.py",
    "test_require_media.py", "test_layers.py", "test_hostile_inputs.py", "test_device.py",
    "test_media_replay.py", "test_gpu_script.py", "test_tmux.py", "test_speech_processor.py", "test_faults.py",
    "test_expression_replay.py", "test_voice_replay.py", "test_live_driver.py", "test_give_up.py", "test_recording.py",
    "test_checkpoints.py", "test_profile_and_scale.py",
}


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parent
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(root).parts
        if parts[0] in INTEGRATION_FOLDERS or parts[-1] in INTEGRATION_FILES:
            item.add_marker(pytest.mark.integration)
