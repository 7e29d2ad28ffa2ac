import csv

import numpy as np
import pytest

from qamoe.data.synthetic import (
    FACTOR_WEIGHTS, LABEL_SCALE, SPLIT_SIZES, make_synthetic, oracle_correlation, ridge_test_predictions, sample_factors,
    sample_labels,
)
from qamoe.metrics import regression_metrics
from support.data import shared_data


@pytest.fixture(scope="module")
def data():
    return make_synthetic(0)


def test_same_seed_same_data_and_other_seed_other_data(data):
    again = make_synthetic(0, sizes={"train": 20, "valid": 5, "test": 5})
    first = make_synthetic(0, sizes={"train": 20, "valid": 5, "test": 5})
    other = make_synthetic(1, sizes={"train": 20, "valid": 5, "test": 5})
    np.testing.assert_array_equal(again.splits["train"].modalities["audio"].features, first.splits["train"].modalities["audio"].features)
    assert not np.array_equal(other.splits["train"].labels, first.splits["train"].labels)


def test_cmu_mosi_sizes_and_sequence_shapes(data):
    assert {k: len(v) for k, v in data.splits.items()} == SPLIT_SIZES
    assert data.modality_dims == {"text": 64, "audio": 32, "vision": 24}
    audio = data.splits["train"].modalities["audio"]
    assert audio.lengths.min() >= 12 and audio.lengths.max() <= 60
    # padding is zero
    assert np.all(audio.features[~audio.mask()] == 0)


def test_labels_look_like_cmu_mosi(data):
    y = np.concatenate([s.labels for s in data.splits.values()])
    assert y.min() >= -3 and y.max() <= 3
    np.testing.assert_allclose(y * 5, np.round(y * 5), atol=1e-4)  # multiples of 0.2
    assert 0.02 < np.mean(y == 0) < 0.07
    assert abs(y.mean()) < 0.2 and 1.3 < y.std() < 1.8


def test_label_histogram_matches_the_real_cmu_mosi(data):
    """The 7-class histogram of the simulator's labels against CMU-MOSI's real ones."""
    y = np.concatenate([s.labels for s in data.splits.values()])
    with shared_data("cmu-mosi", "OpinionLevelSentiment.csv").open() as labels:
        mosi = np.array([float(row[4]) for row in csv.reader(labels)])
    bins = np.arange(-3.5, 3.6, 1)
    ours, _ = np.histogram(y, bins)
    real, _ = np.histogram(mosi, bins)
    assert np.abs(ours / len(y) - real / len(mosi)).max() < 0.05


def test_latent_factors_add_up_to_the_label():
    rng = np.random.default_rng(0)
    y = sample_labels(rng, 500)
    z = sample_factors(rng, y)
    np.testing.assert_allclose(z @ FACTOR_WEIGHTS, y / LABEL_SCALE, atol=1e-5)


def ridge_corr(data, names):
    return regression_metrics(ridge_test_predictions(data, names), data.splits["test"].labels)["Corr"]


def test_every_modality_informative_text_most_and_fusion_best(data):
    corr = {name: ridge_corr(data, [name]) for name in ("text", "audio", "vision")}
    fused = ridge_corr(data, ["text", "audio", "vision"])
    assert all(c > 0.2 for c in corr.values()), corr
    assert corr["text"] == max(corr.values()), corr
    assert fused > max(corr.values()) + 0.1, (fused, corr)


@pytest.mark.parametrize("name", ["text", "audio", "vision"])
def test_noise_costs_information_an_oracle_loses_a_third_by_lambda_0_7(name):
    # what real features do and the first simulator did not: noise at the features' own spread buries
    # the affect (a short burst on top of a large speaker offset) instead of averaging out
    sizes = {"train": 600, "valid": 10, "test": 400}
    corr = [oracle_correlation(0, name, lam, sizes=sizes) for lam in (0.0, 0.1, 0.3, 0.5, 0.7)]
    assert all(a > b for a, b in zip(corr, corr[1:])), corr
    assert corr[-1] <= 0.7 * corr[0], corr
