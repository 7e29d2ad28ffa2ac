"""One config dataclass describes a QA-MoE model; every module is built from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

CONTINUOUS = "continuous"  # audio, vision: degraded by additive Gaussian noise
TOKENS = "tokens"  # text: degraded by token dropout


@dataclass(frozen=True)
class ModalitySpec:
    """A modality the model reads: its name, feature size and how it degrades."""

    name: str
    dim: int
    kind: str = CONTINUOUS  # CONTINUOUS or TOKENS

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"modality {self.name!r}: feature size must be >= 1, got {self.dim}")
        if self.kind not in (CONTINUOUS, TOKENS):
            raise ValueError(f"modality {self.name!r}: kind must be {CONTINUOUS!r} or {TOKENS!r}, got {self.kind!r}")


def default_modalities() -> tuple[ModalitySpec, ...]:
    return (
        ModalitySpec("text", 64, TOKENS),
        ModalitySpec("audio", 32, CONTINUOUS),
        ModalitySpec("vision", 24, CONTINUOUS),
    )


@dataclass(frozen=True)
class QAMoEConfig:
    modalities: tuple[ModalitySpec, ...] = field(default_factory=default_modalities)
    d_model: int = 128
    encoder_layers: int = 1
    encoder_heads: int = 4
    num_experts: int = 8
    top_k: int = 3
    expert_hidden: int = 256
    dropout: float = 0.1
    num_classes: int = 0  # 0: sentiment regression; > 0: classification with that many classes
    # ablation switches (paper Table 7): each removes one part of the same model
    quality_gating: bool = True  # False: r_m is computed and reported but Eq. 7 uses 1
    heteroscedastic: bool = True  # False ("w/o variance"): no sigma^2 anywhere (r_m = 1), no log-variance head, MSE
    use_prior: bool = True  # False: y_prior fixed at zero
    load_balance_weight: float = 0.01  # Switch-style auxiliary loss that keeps all experts in use
    # Self-supervised reliability: each modality also predicts the target from its own mu_m, and the
    # mean variance of Eq. 6 serves as that prediction's variance in a heteroscedastic NLL. sigma^2_m
    # so learns the modality's own expected squared error, and r_m = 1 / (1 + mean sigma^2_m) falls
    # as its input degrades. 0 leaves r_m to the end-to-end loss alone.
    unimodal_weight: float = 0.5

    def __post_init__(self) -> None:
        if not self.modalities:
            raise ValueError("a model needs at least one modality")
        names = [m.name for m in self.modalities]
        if len(set(names)) != len(names):
            raise ValueError(f"modality names repeat: {names}")
        if not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"top_k must lie in [1, num_experts={self.num_experts}], got {self.top_k}")
        if self.d_model % self.encoder_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by encoder_heads {self.encoder_heads}")

    @property
    def modality_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modalities)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "QAMoEConfig":
        """Build from `to_dict()` output; unknown or malformed fields raise ValueError naming them."""
        if not isinstance(raw, dict):
            raise ValueError(f"model config must be a JSON object, got {type(raw).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown model config field(s): {unknown}")
        values = dict(raw)
        if "modalities" in values:
            mods = values["modalities"]
            if not isinstance(mods, list) or not all(isinstance(m, dict) for m in mods):
                raise ValueError("model config field 'modalities' must be a list of objects")
            try:
                values["modalities"] = tuple(ModalitySpec(**m) for m in mods)
            except TypeError as err:
                raise ValueError(f"model config field 'modalities': {err}") from None
        for f in fields(cls):
            if f.name in values and f.name != "modalities":
                expected = type(getattr(cls(), f.name))
                value = values[f.name]
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if type(value) is not expected:
                    raise ValueError(
                        f"model config field {f.name!r} must be {expected.__name__}, got {type(value).__name__}"
                    )
                values[f.name] = value
        return cls(**values)
