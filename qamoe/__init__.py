"""QA-MoE Live: the model core (this package imports none of the other layers; docs/ARCHITECTURE.md).

One-shot prediction of a clip, a text or a picture lives with the live layer:
`from qamoe.realtime import Predictor`."""

import os

# Busy-waiting OpenMP threads stall every small torch call by ~100 ms on a 2-core machine (seen with
# 2 threads: silero-vad 100 ms per 32 ms step, MiniLM 120 ms per word). Sleeping waiters cure it; this
# only takes effect when qamoe is imported before torch, as in every qamoe command. Set the variable
# yourself to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
