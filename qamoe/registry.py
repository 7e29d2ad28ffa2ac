"""Model architectures by name, so training, checkpoints and the protocols can build any of them.

A new method joins the harness by registering one class:

    @register_model("my-method")
    class MyMethod(nn.Module):
        def __init__(self, config: QAMoEConfig): ...
        def forward(self, features, lengths) -> QAMoEOutput: ...

It reads the same config (modalities, d_model, dropout, task) and returns the same output as QA-MoE
(a method with no reliability score reports ones), so it is trained, degraded and scored exactly
like QA-MoE.
"""

from __future__ import annotations

import importlib

MODELS: dict[str, type] = {}
BUILTIN_MODULES = ("qamoe.model", "qamoe.baselines")


def register_model(name: str):
    def decorate(cls):
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered by {MODELS[name].__qualname__}")
        MODELS[name] = cls
        cls.architecture = name
        return cls

    return decorate


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def model_names() -> list[str]:
    _load_builtins()
    return sorted(MODELS)


def build_model(name: str, config):
    _load_builtins()
    if name not in MODELS:
        raise ValueError(f"unknown model architecture {name!r}; registered: {', '.join(sorted(MODELS))}")
    return MODELS[name](config)
