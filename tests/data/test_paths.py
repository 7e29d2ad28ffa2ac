"""Data paths default to $QAMOE_SHARED_DATA and nowhere else; an absent one says what to give."""

from __future__ import annotations

import pytest

from qamoe.data.paths import default_data, shared_data_dir
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
