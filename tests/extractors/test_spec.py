"""`FeatureSpec` (issue 21): one object says what a checkpoint reads from media; the offline
extractor, the live processors, qamoe-extract's folders and the checkpoint check all take it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qamoe.errors import CheckpointError
from qamoe.extractors.spec import FeatureSpec


def checkpoint(dims: dict[str, int], provenance: dict | None = None):
    modalities = [SimpleNamespace(name=m, dim=d) for m, d in dims.items()]
    return SimpleNamespace(config=SimpleNamespace(modalities=modalities), provenance=provenance or {})


def test_a_checkpoint_reads_the_sets_its_sizes_or_its_provenance_name():
    assert FeatureSpec.for_checkpoint(checkpoint({"text": 384, "audio": 44, "vision": 20})) == FeatureSpec()
    spec = FeatureSpec.for_checkpoint(checkpoint({"text": 384, "audio": 52, "vision": 27}), fps=10.0)
    assert (spec.voice, spec.expression, spec.fps) == (True, True, 10.0)
    assert spec.dims == {"text": 384, "audio": 52, "vision": 27}
    spec.check(checkpoint({"text": 384, "audio": 52, "vision": 27}))
    # a recorded feature set wins over the size, and must agree with it
    recorded = checkpoint({"audio": 52}, {"audio_features": "acoustic+voice"})
    assert FeatureSpec.for_checkpoint(recorded).voice
    assert not FeatureSpec.for_checkpoint(checkpoint({"audio": 52}, {"audio_features": "acoustic"})).voice


def test_a_checkpoint_of_sizes_no_extractor_gives_is_refused_with_both_sizes():
    odd = checkpoint({"text": 384, "audio": 44, "vision": 35})
    with pytest.raises(CheckpointError, match="vision: 35 features in the checkpoint, 20 from the media extractors"):
        FeatureSpec.for_checkpoint(odd).check(odd)


def test_the_settings_that_key_extraction_folders_are_the_ones_written_before_the_spec_existed():
    # folders extracted with the defaults carry exactly this settings object in their manifest
    assert FeatureSpec().settings() == {"asr": "tiny.en", "text_backend": "minilm", "fps": 15.0,
                                        "face_detector": True, "audio_gate": True}
    assert FeatureSpec(voice=True, expression=True).settings() == {**FeatureSpec().settings(), "expression": True, "voice": True}
    openface = FeatureSpec(openface_dir="/x", expression=True).settings()
    assert openface["openface_dir"] == "/x" and "expression" not in openface  # OpenFace has its own 27
    assert FeatureSpec(**FeatureSpec(voice=True).settings()) == FeatureSpec(voice=True)  # round trip (workers)


def test_the_shipped_live_checkpoint_fits_its_own_spec():
    from qamoe.checkpoint import load_checkpoint
    from qamoe.shipped import LIVE, shipped_checkpoint

    live = load_checkpoint(shipped_checkpoint(LIVE))
    spec = FeatureSpec.for_checkpoint(live)
    spec.check(live)
    assert spec.dims["audio"] == {m.name: m.dim for m in live.config.modalities}["audio"]
