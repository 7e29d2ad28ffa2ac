"""One config dataclass describes a QA-MoE model; every module is built from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

CONTINUOUS = "continuous"  # audio, vision: degraded by additive Gaussian noise
TOKENS = "tokens"  # text: degraded by token dropout


# Sane bounds, checked before any module is built: a config (e.g. a checkpoint's config.json) outside
# them is refused with a clear error instead of allocating gigabytes or dividing by zero.
MAX_FEATURE_DIM = 1_000_000
BOUNDS = {  # field: (lowest, highest)
    "d_model": (1, 8192), "encoder_layers": (0, 64), "encoder_heads": (1, 256), "num_experts": (1, 1024),
    "top_k": (1, 1024), "expert_hidden": (1, 65536), "num_classes": (0, 100_000),
}
MAX_PARAMETERS = 2_000_000_000  # about 8 GB of float32 weights


def estimated_parameters(config) -> int:
    """An upper estimate of the model's parameter count from its config alone (no allocation)."""
    d, n = config.d_model, len(config.modalities)
    per_modality = (4 * d * d + 4 * d * d) * max(1, config.encoder_layers) + 3 * d * d + d * config.num_experts
    experts = config.num_experts * (3 * d * config.expert_hidden + 2 * config.expert_hidden + d)
    inputs = sum(m.dim * d for m in config.modalities)
    return inputs + n * (per_modality + experts) + n * d * d + d * d + 4 * d * (config.num_classes + 2)


def check_bounds(config) -> None:
    for name, (low, high) in BOUNDS.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"model config field {name!r} must be an integer in [{low}, {high}], got {value!r}")
    for name in ("dropout", "load_balance_weight", "unimodal_weight"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < (1 if name == "dropout" else 1e6):
            raise ValueError(f"model config field {name!r} is out of range: {value!r}")
    total = estimated_parameters(config)
    if total > MAX_PARAMETERS:
        raise ValueError(f"this model config would need about {total:.3g} parameters (limit {MAX_PARAMETERS:.0e}): refused")


@dataclass(frozen=True)
class ModalitySpec:
    """A modality the model reads: its name, feature size and how it degrades."""

    name: str
    dim: int
    kind: str = CONTINUOUS  # CONTINUOUS or TOKENS

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"modality {self.name!r}: feature size must be >= 1, got {self.dim}")
        if self.dim > MAX_FEATURE_DIM:
            raise ValueError(f"modality {self.name!r}: feature size {self.dim} is above the sane limit {MAX_FEATURE_DIM}")
        if self.kind not in (CONTINUOUS, TOKENS):
            raise ValueError(f"modality {self.name!r}: kind must be {CONTINUOUS!r} or {TOKENS!r}, got {self.kind!r}")


def default_modalities() -> tuple[ModalitySpec, ...]:
    return (
        ModalitySpec("text", 64, TOKENS),
        ModalitySpec("audio", 32, CONTINUOUS),
        ModalitySpec("vision", 24, CONTINUOUS),
    )


RELIABILITY_OBJECTIVES = ("consistency", "unimodal", "none")

# Fields added after checkpoints were first shipped, with the values those checkpoints were trained
# with: a config.json without them loads as the model it was, not as today's default.
LEGACY_VALUES = {
    "modality_variance": True, "beta_nll": 0.0, "variance_pooling": "frames", "reliability_objective": "unimodal",
    "reliability_weight": 1.0, "gate_gradient": True, "clip_contrast": False, "max_pooling": False, "router_quality": False, "reliability_fusion": False,
    "baseline_max_pooling": False,
}


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
    heteroscedastic: bool = True  # False ("w/o variance head"): no log-variance head (Eq. 9), MSE instead of Eq. 10
    modality_variance: bool = True  # False ("w/o sigma^2"): no sigma^2_m branch, r_m = 1; Eq. 10 kept
    use_prior: bool = True  # False: y_prior fixed at zero
    load_balance_weight: float = 0.01  # Switch-style auxiliary loss that keeps all experts in use
    beta_nll: float = 0.0  # > 0: beta-NLL (Seitzer et al. 2022), Eq. 10 weighted by stop-grad(variance^beta)
    # How sigma^2_m (hence r_m of Eq. 6) is computed and learned; see qamoe/reliability.py.
    #   variance_pooling "clip": one sigma^2 per clip from pooled statistics of the frames and the
    #     valid length; "frames": the mean of per-frame sigma^2 (the first version; zeroed tokens,
    #     which look like quiet frames, pull it down as text degrades).
    #   reliability_objective "consistency": r_m is fitted to how far the degraded view's mu_m lands
    #     from the clean view's (0 = as far as a missing input, 1 = clean), label-free;
    #     "unimodal": each modality predicts the target from mu_m with sigma^2_m as its variance;
    #     "none": Eq. 10 through Eq. 7 alone (measured to leave r_m flat).
    variance_pooling: str = "clip"
    # The temporal encoder reads [x_t, (x_t - mean_t x) / std_t x] (the frames with the clip's own
    # mean and spread removed, as cepstral mean and variance normalisation removes the speaker from
    # speech features) and mu pools its states by mean and max,
    # so a short burst of affect that sits on top of a large speaker offset is found.
    clip_contrast: bool = True
    max_pooling: bool = True
    # The baselines pool their streams by the mean, as their designs do; True gives them QA-MoE's mean
    # and max pooling instead, so that a comparison isolates quality awareness (QA-MoE ignores it).
    baseline_max_pooling: bool = False
    reliability_objective: str = "consistency"
    reliability_weight: float = 1.0
    unimodal_weight: float = 0.5  # weight of the "unimodal" objective (kept for checkpoints that used it)
    gate_gradient: bool = False  # True: the fused loss's gradient reaches sigma^2 through Eq. 7
    router_quality: bool = True  # the router reads [mu_m, log sigma^2_m] instead of mu_m alone
    reliability_fusion: bool = False  # scale each y_m by M * r_m / sum_m r_m before fusion

    def __post_init__(self) -> None:
        if not self.modalities:
            raise ValueError("a model needs at least one modality")
        names = [m.name for m in self.modalities]
        if len(set(names)) != len(names):
            raise ValueError(f"modality names repeat: {names}")
        if not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"top_k must lie in [1, num_experts={self.num_experts}], got {self.top_k}")
        check_bounds(self)
        if self.variance_pooling not in ("clip", "frames"):
            raise ValueError(f"variance_pooling must be 'clip' or 'frames', got {self.variance_pooling!r}")
        if self.reliability_objective not in RELIABILITY_OBJECTIVES:
            raise ValueError(f"reliability_objective must be one of {RELIABILITY_OBJECTIVES}, got {self.reliability_objective!r}")
        if not 0.0 <= self.beta_nll <= 1.0:
            raise ValueError(f"beta_nll must lie in [0, 1], got {self.beta_nll}")
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
        values = {**LEGACY_VALUES, **raw}
        if "modality_variance" not in raw and raw.get("heteroscedastic") is False:
            values["modality_variance"] = False  # the first "w/o variance" removed both
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


SPECTRUM_DRAWS = ("per_modality", "shared", "mix")


@dataclass(frozen=True)
class TrainConfig:
    """Defaults follow the paper's appendix A.3."""

    epochs: int = 30
    batch_size: int = 16  # global batch: split across ranks under torchrun
    lr: float = 1e-3
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    seed: int = 1111
    spectrum: bool = True  # False: train on clean data
    max_noise: float = 1.0  # lambda ~ U(0, max_noise)
    max_missing: float = 1.0  # eta ~ U(0, max_missing)
    # "per_modality": every sample and modality draws its own (lambda, eta), so "text noisy, audio
    # clean" is seen; "shared": the paper's Eq. 11, one (lambda, eta) for the whole batch; "mix": each
    # batch picks one of the two at random.
    spectrum_draw: str = "per_modality"
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast, on GPUs only
    compile: bool = False  # torch.compile the model where it works
