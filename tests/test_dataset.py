import numpy as np
import pytest

from qamoe.dataset import DataError, ModalityData, MultimodalDataset, SplitData, pool_frames
from qamoe.feature_stats import FeatureStats


def modality(n=4, t=5, d=3, lengths=None):
    rng = np.random.default_rng(0)
    return ModalityData(rng.normal(size=(n, t, d)), lengths if lengths is not None else np.full(n, t))


def test_nan_and_infinity_are_refused():
    bad = np.zeros((2, 3, 4))
    bad[1, 2, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        ModalityData(bad, [3, 3])
    bad[1, 2, 0] = -np.inf
    with pytest.raises(DataError, match="NaN or infinity"):
        ModalityData(bad, [3, 3])


def test_wrong_shapes_and_lengths_are_refused():
    with pytest.raises(DataError, match=r"\(N, T, d\)"):
        ModalityData(np.zeros((2, 3)), [1, 1])
    with pytest.raises(DataError, match="lengths must lie"):
        ModalityData(np.zeros((2, 3, 1)), [0, 3])
    with pytest.raises(DataError, match="2 samples, labels have 3"):
        SplitData({"audio": ModalityData(np.zeros((2, 3, 1)), [1, 1])}, np.zeros(3))


def test_empty_split_and_mismatched_feature_sizes_are_refused():
    good = SplitData({"audio": modality()}, np.zeros(4, np.float32))
    empty = SplitData({"audio": modality(n=0, lengths=np.zeros(0))}, np.zeros(0, np.float32))
    with pytest.raises(DataError, match="'valid' .* is empty"):
        MultimodalDataset("x", {"train": good, "valid": empty, "test": good})
    other = SplitData({"audio": modality(d=7)}, np.zeros(4, np.float32))
    with pytest.raises(DataError, match="feature size 7"):
        MultimodalDataset("x", {"train": good, "valid": other, "test": good})


def test_stats_standardise_valid_frames_and_keep_padding_zero():
    m = modality(n=50, t=6, d=3, lengths=np.random.default_rng(1).integers(1, 7, 50))
    m.features[:, :, 1] = m.features[:, :, 1] * 5 + 3
    m.features[~m.mask()] = 0
    stats = FeatureStats.fit(m)
    out = stats.normalize(m.features, m.lengths)
    frames = out[m.mask()]
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(frames.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(stats.sigma_ref, 1, atol=1e-4)
    assert np.all(out[~m.mask()] == 0)


def test_constant_feature_is_not_divided_by_zero():
    m = ModalityData(np.ones((3, 2, 2)), [2, 2, 2])
    stats = FeatureStats.fit(m)
    assert np.isfinite(stats.normalize(m.features)).all()


def test_pool_frames_averages_contiguous_near_equal_runs_and_keeps_the_dtype():
    values = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    pooled = pool_frames(values, 4)  # bins of 10 frames into 4: edges 0, 2, 5, 8, 10 (rounded linspace)
    assert pooled.dtype == np.float32 and pooled.shape == (4, 2)
    expected = np.stack([values[a:b].mean(0) for a, b in ((0, 2), (2, 5), (5, 8), (8, 10))])
    np.testing.assert_allclose(pooled, expected)
    short = values[:3]
    assert pool_frames(short, 4) is short  # a sequence that fits is left as it is
