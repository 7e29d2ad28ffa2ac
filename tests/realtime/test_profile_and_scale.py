"""The live engine applies a device profile before normalising, and shows calibrated standard deviations."""

import math

import numpy as np

from support.cli import exit_code
from qamoe.variance_scale import VarianceScale
from qamoe.checkpoint import load_checkpoint
from qamoe.cli.live import main
from qamoe.shipped import shipped_checkpoint
from qamoe.inference import InferenceEngine


def windows(checkpoint, seed=0):
    rng = np.random.default_rng(seed)
    return {m.name: rng.normal(size=(8, m.dim)).astype(np.float32)
            for m in checkpoint.config.modalities}


def test_std_carries_the_checkpoints_variance_scale():
    checkpoint = load_checkpoint(shipped_checkpoint("simulator"))
    scale = VarianceScale.from_extra(checkpoint.extra).scale
    assert scale != 1.0
    calibrated = InferenceEngine(checkpoint).infer(windows(checkpoint))
    checkpoint.extra = {}
    raw = InferenceEngine(checkpoint).infer(windows(checkpoint))
    assert math.isclose(calibrated.std, raw.std * math.sqrt(scale), rel_tol=1e-6)


def test_feature_map_runs_before_normalisation():
    checkpoint = load_checkpoint(shipped_checkpoint("simulator"))
    seen = []

    def shift_audio(name, values):
        seen.append(name)
        return values + 5.0 if name == "audio" else values

    mapped = InferenceEngine(checkpoint, feature_map=shift_audio).infer(windows(checkpoint))
    plain = InferenceEngine(checkpoint).infer(windows(checkpoint))
    assert sorted(seen) == ["audio", "text", "vision"]
    assert mapped.reliability["audio"] != plain.reliability["audio"]
    assert mapped.reliability["text"] == plain.reliability["text"]


def test_unreadable_profile_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "profile.json"
    bad.write_text("{not json")
    assert exit_code(main, ["--demo", "--no-tui", "--duration", "1", "--fast", "--profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "profile" in err and "Traceback" not in err
