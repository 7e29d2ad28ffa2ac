"""Property-based checks of the spectrum degradation's invariants."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec
from qamoe.degradation import degrade

SPECS = (ModalitySpec("text", 3, TOKENS), ModalitySpec("audio", 2, CONTINUOUS))


@settings(max_examples=80, deadline=None)
@given(
    batch=st.integers(1, 6),
    frames=st.integers(1, 7),
    noise=st.floats(0, 1),
    missing=st.floats(0, 1),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_degradation_invariants(batch, frames, noise, missing, seed, data):
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, frames), min_size=batch, max_size=batch)))
    torch.manual_seed(seed)
    features = {"text": torch.randn(batch, frames, 3), "audio": torch.randn(batch, frames, 2)}
    valid = torch.arange(frames)[None, :] < lengths[:, None]
    for name in features:  # zero padding, as the data sets store it
        features[name] = features[name] * valid[..., None]
    out = degrade(features, {k: lengths for k in features}, modalities=SPECS,
                  sigma_ref={"text": torch.ones(3), "audio": torch.ones(2)}, noise=noise, missing_rate=missing,
                  generator=torch.Generator().manual_seed(seed))
    for name, x in features.items():
        y, gone = out.features[name], out.missing[name]
        assert y.shape == x.shape and torch.isfinite(y).all()
        # missing samples: all zeros, length one; present ones keep their length
        assert (y[gone] == 0).all()
        assert torch.equal(out.lengths[name][gone], torch.ones(int(gone.sum()), dtype=torch.long))
        assert torch.equal(out.lengths[name][~gone], lengths[~gone])
        # padding is never touched
        assert (y[~valid] == 0).all()
        if name == "text":  # tokens are kept exactly or zeroed whole
            kept = (y == x).all(-1) | (y == 0).all(-1)
            assert kept.all()
    if missing == 0:
        assert not any(m.any() for m in out.missing.values())
