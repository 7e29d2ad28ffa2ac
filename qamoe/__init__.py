"""QA-MoE Live. `qamoe.Predictor` (lazy: `import qamoe` stays light) predicts one clip or text."""

import os

# Busy-waiting OpenMP threads stall every small torch call by ~100 ms on a 2-core machine (seen with
# 2 threads: silero-vad 100 ms per 32 ms step, MiniLM 120 ms per word). Sleeping waiters cure it; this
# only takes effect when qamoe is imported before torch, as in every qamoe command. Set the variable
# yourself to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["Predictor", "Prediction"]


def __getattr__(name: str):
    if name in ("Predictor", "Prediction"):
        from qamoe import predictor  # noqa: PLC0415 - imported on first use only

        return getattr(predictor, name)
    raise AttributeError(f"module 'qamoe' has no attribute {name!r}")
