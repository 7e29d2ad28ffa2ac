"""Data paths default to $QAMOE_SHARED_DATA and nowhere else; an absent one says what to give. Built
caches default to one root, $QAMOE_CACHE or ~/.cache/qamoe, for every build."""

from __future__ import annotations

import pytest

from qamoe.data import fer, ravdess
from qamoe.data.paths import cache_root, default_data, media_dir, shared_data_dir
from qamoe.dataset import DataError


def test_the_default_is_under_the_variable_only(tmp_path, monkeypatch):
    (tmp_path / "ravdess").mkdir()
    monkeypatch.setenv("QAMOE_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    assert default_data("ravdess") == tmp_path / "ravdess"
    with pytest.raises(DataError, match=r"fer2013.* not found: give --data PATH, or set QAMOE_SHARED_DATA"):
        default_data("fer2013", "fer2013-48px.npz")


def test_without_the_variable_nothing_is_guessed(monkeypatch):
    monkeypatch.delenv("QAMOE_SHARED_DATA", raising=False)
    assert shared_data_dir() is None
    with pytest.raises(DataError) as caught:
        default_data("cmu-mosi", "OpinionLevelSentiment.csv", option="--labels")
    message = str(caught.value)
    assert "\n" not in message and "--labels PATH" in message and "QAMOE_SHARED_DATA" in message


def test_every_build_cache_follows_the_one_cache_root(tmp_path, monkeypatch):
    monkeypatch.delenv("QAMOE_TEST_MEDIA", raising=False)
    monkeypatch.setenv("QAMOE_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert fer.default_cache() == tmp_path / "live" / "fer"
    assert ravdess.default_cache() == tmp_path / "ravdess"
    assert media_dir() == tmp_path / "test-media"
    monkeypatch.setenv("QAMOE_TEST_MEDIA", str(tmp_path / "videos"))
    assert media_dir() == tmp_path / "videos"  # its own variable wins, as scripts/fetch_test_media.sh reads it


def test_without_the_cache_variable_the_root_is_in_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("QAMOE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "qamoe"
    assert ravdess.default_cache() == tmp_path / ".cache" / "qamoe" / "ravdess"
