"""`FeatureSpec`: what a checkpoint reads from media, in one object.

For each modality, which feature set and so how many values (text: the embedder's size; audio: 44
acoustic values, or 52 with the voice-emotion estimate; vision: 20 face-geometry values, or 27 with
the expression network's, or 27 OpenFace values), and the extractor settings that produce them
(recogniser, text backend, face rate, speech gate). The same object builds the offline extractor
(`ClipExtractor(spec)`), the live processors (`realtime.extraction.media_processors(spec)`), keys
the extraction folders of `qamoe-extract` (`settings()`), and checks a checkpoint
(`FeatureSpec.for_checkpoint(checkpoint).check(checkpoint)`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class FeatureSpec:
    """asr: the Whisper model of the recogniser; text_backend: minilm, bert or a local model folder;
    fps: face analysis rate; face_detector: the face mesh's detector on every frame; audio_gate:
    acoustic frames only while the VAD hears speech (the live rule); voice: audio + the voice-emotion
    head's 8 log-probabilities (52); expression: vision + the expression network's 7 (27);
    openface_dir: vision from OpenFace 2.0 CSVs in that folder (27) instead of the face mesh."""

    asr: str = "tiny.en"
    text_backend: str = "minilm"
    fps: float = 15.0
    face_detector: bool = True
    audio_gate: bool = True
    voice: bool = False
    expression: bool = False
    openface_dir: str | None = None

    @classmethod
    def for_checkpoint(cls, checkpoint, **settings) -> FeatureSpec:
        """The features a media checkpoint reads: its provenance's `audio_features` / `vision_features`
        when recorded, else by its audio and vision sizes (44 or 52, 20 or 27). `settings`: the
        extractor settings that are the caller's choice (asr, fps, ...)."""
        from .vision import uses_expression  # noqa: PLC0415
        from .voice import uses_voice  # noqa: PLC0415

        dims = {m.name: m.dim for m in checkpoint.config.modalities}
        provenance = checkpoint.provenance if isinstance(checkpoint.provenance, dict) else {}

        def reads(modality: str, key: str, rule) -> bool:
            if modality not in dims:
                return False
            try:
                return rule(dims[modality], provenance.get(key))
            except ValueError:  # a size no extractor gives: `check` says what is wrong
                return False

        return replace(cls(**settings), voice=reads("audio", "audio_features", uses_voice),
                       expression=reads("vision", "vision_features", uses_expression))

    def settings(self) -> dict:
        """The extractor settings, as written into extraction folders and compared on a rerun (keys of
        options that are off are left out, so folders made before an option existed keep their key)."""
        settings = {"asr": self.asr, "text_backend": self.text_backend, "fps": self.fps,
                    "face_detector": self.face_detector, "audio_gate": self.audio_gate}
        if self.expression and not self.openface_dir:
            settings["expression"] = True
        if self.voice:
            settings["voice"] = True
        if self.openface_dir:
            settings["openface_dir"] = str(self.openface_dir)
        return settings

    def describe(self) -> dict:
        """Every modality's size, frame rate and feature names, and the settings (no model loaded)."""
        from .clip import describe  # noqa: PLC0415

        return describe(self.settings())

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(info["dim"]) for m, info in self.describe()["modalities"].items()}

    def check(self, checkpoint) -> None:
        """Refuses (CheckpointError) a checkpoint whose feature sizes differ from what this spec gives."""
        check_sizes(checkpoint, self.dims, "the media extractors",
                    "use one trained on qamoe-extract output, or `qamoe-live --demo` for the simulator")


def check_sizes(checkpoint, produced: dict[str, int], source: str, hint: str) -> None:
    """Refuses (CheckpointError) a checkpoint whose modalities' feature sizes differ from what `source`
    produces (`produced`: modality -> size)."""
    from qamoe.errors import CheckpointError  # noqa: PLC0415

    wrong = {m.name: (m.dim, produced.get(m.name)) for m in checkpoint.config.modalities if produced.get(m.name) != m.dim}
    if wrong:
        detail = ", ".join(f"{m}: {d} features in the checkpoint, {e or 'none'} from {source}" for m, (d, e) in wrong.items())
        raise CheckpointError(f"this checkpoint does not fit {source} ({detail}); {hint}")
