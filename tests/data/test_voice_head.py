"""The voice-emotion head: one fitting recipe, safetensors storage, out-of-fold scores that never
come from a head that saw the row's group."""

from __future__ import annotations

import numpy as np
import pytest

from qamoe.data import voice_head
from qamoe.errors import CheckpointError


def separable(n_per_class: int = 12, dim: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(8), n_per_class)
    x = rng.normal(size=(len(y), dim))
    x[np.arange(len(y)), y] += 3.0
    return x, y


def test_fit_learns_a_separable_problem_and_gives_log_probabilities():
    x, y = separable()
    head = voice_head.fit(x, y, l2=1e-3)
    lp = head.log_probs(x)
    assert lp.shape == (96, 8) and lp.dtype == np.float32
    np.testing.assert_allclose(np.exp(lp).sum(1), 1.0, atol=1e-5)
    assert (lp.argmax(1) == y).mean() > 0.9
    assert head.log_probs(x[0]).shape == (8,)
    with pytest.raises(ValueError, match="reads 10 pooled values"):
        head.log_probs(np.zeros(11))


def test_fit_is_deterministic_and_leaves_out_rows_without_speech():
    x, y = separable()
    silent = np.vstack([x, np.zeros((5, x.shape[1]))])
    a = voice_head.fit(x, y)
    b = voice_head.fit(silent, np.concatenate([y, np.zeros(5, np.int64)]))
    np.testing.assert_allclose(a.weight, b.weight)
    assert a.card["n"] == b.card["n"] == 96


def test_stronger_weight_decay_gives_flatter_probabilities():
    x, y = separable()
    sharp = voice_head.fit(x, y, l2=1e-3).log_probs(x).max(1).mean()
    flat = voice_head.fit(x, y, l2=1.0).log_probs(x).max(1).mean()
    assert flat < sharp


def test_save_and_load_round_trip(tmp_path):
    x, y = separable()
    head = voice_head.fit(x, y, card={"actors": [1, 2]})
    head.save(tmp_path)
    back = voice_head.load(tmp_path)
    np.testing.assert_allclose(back.log_probs(x), head.log_probs(x), atol=1e-5)
    assert back.card["actors"] == [1, 2] and back.card["l2"] == voice_head.L2


def test_load_refuses_what_is_not_a_voice_head(tmp_path):
    from safetensors.numpy import save_file

    with pytest.raises(CheckpointError, match="no voice head"):
        voice_head.load(tmp_path)
    path = tmp_path / voice_head.FILE
    path.write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        voice_head.load(tmp_path)
    good = {"mean": np.zeros(4, np.float32), "scale": np.ones(4, np.float32), "weight": np.zeros((8, 4), np.float32),
            "bias": np.zeros(8, np.float32)}
    save_file({**good, "weight": np.zeros((7, 4), np.float32)}, str(path))
    with pytest.raises(CheckpointError, match="inconsistent shapes"):
        voice_head.load(tmp_path)
    save_file({**good, "scale": np.zeros(4, np.float32)}, str(path))
    with pytest.raises(CheckpointError, match="non-positive scale"):
        voice_head.load(tmp_path)
    save_file({k: v for k, v in good.items() if k != "bias"}, str(path))
    with pytest.raises(CheckpointError, match="holds"):
        voice_head.load(tmp_path)


def test_out_of_fold_scores_never_come_from_a_head_that_saw_the_group():
    # each group carries its labels in its own private feature: a head that saw the group reads it
    # perfectly, a head that did not can only guess
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(7), 16)
    y = rng.integers(0, 8, len(groups))
    x = rng.normal(size=(len(y), 7 * 8)) * 0.1
    x[np.arange(len(y)), groups * 8 + y] += 5.0
    in_sample = (voice_head.fit(x, y).log_probs(x).argmax(1) == y).mean()
    out_of_fold = (voice_head.out_of_fold(x, y, groups, folds=7).argmax(1) == y).mean()
    assert in_sample > 0.95
    assert out_of_fold < 0.35  # chance is 1/8
