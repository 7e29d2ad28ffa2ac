"""The FER2013 build: a few real faces through the live face features, clean and degraded, into the
cache that `qamoe.data.fer.load_part` reads; a second build keeps every part."""

from __future__ import annotations

import numpy as np

from qamoe.data import fer
from qamoe.extractors.datasets.fer import DEGRADATIONS, build
from support.data import fer2013_faces
from support.require import need_modules


def test_tiny_build_is_read_back_part_by_part(tmp_path):
    need_modules("mediapipe", "cv2")
    images, labels = fer2013_faces()
    data = tmp_path / "fer.npz"
    np.savez(data, images=images[:60], labels=labels[:60], classes=np.array(fer.CLASSES))
    cache = tmp_path / "cache"
    manifest = build(data, cache, train=3, valid=1, test=1, train_views=2, test_views=1, seed=0)
    assert len(manifest["parts"]) == 3 + len(DEGRADATIONS) + 2 * len(DEGRADATIONS)
    order = fer.split_indices(images[:60])
    clean = fer.load_part("train-clean-3", cache)
    assert clean["values"].shape == (3, 27) and clean["index"].tolist() == order["train"][:3].tolist()
    assert clean["found"].sum() >= 2  # real faces: the mesh finds (almost) all
    assert fer.load_part("test-blur-1-1-s0", cache)["index"].tolist() == fer.load_part("test-clean-1", cache)["index"].tolist()
    darkened = fer.load_part("train-dark-2-s0", cache)  # the first 2 train faces, darkened
    assert darkened["index"].tolist() == clean["index"][:2].tolist()
    both = darkened["found"] & clean["found"][:2]
    assert both.any() and not np.allclose(darkened["values"][both], clean["values"][:2][both])  # the degradation reached the features
    stamps = sorted(p.stat().st_mtime_ns for p in cache.glob("*.npz"))
    build(data, cache, train=3, valid=1, test=1, train_views=2, test_views=1, seed=0)
    assert sorted(p.stat().st_mtime_ns for p in cache.glob("*.npz")) == stamps  # every part found, none redone


def test_valid_views_are_built_on_request_and_not_otherwise(tmp_path):
    need_modules("mediapipe", "cv2")
    images, labels = fer2013_faces()
    data = tmp_path / "fer.npz"
    np.savez(data, images=images[:60], labels=labels[:60], classes=np.array(fer.CLASSES))
    plain = build(data, tmp_path / "plain", train=1, valid=1, test=1, train_views=1, test_views=0, seed=0)
    assert not any(p.startswith(("valid-blur", "test-blur")) for p in plain["parts"])  # no empty test parts either
    manifest = build(data, tmp_path / "cache", train=1, valid=2, test=1, train_views=1, test_views=0, valid_views=2, seed=0)
    assert "valid-occlude-1-2-s0" in manifest["parts"]
    assert fer.load_part("valid-dark-0-2-s0", tmp_path / "cache")["index"].tolist() == \
        fer.load_part("valid-clean-2", tmp_path / "cache")["index"].tolist()
