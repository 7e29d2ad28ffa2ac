"""Label tables and splits: CMU-MOSI's real labels and folds, header CSVs, hash splits, errors."""

import pytest

from qamoe.extractors.labels import (
    ClipRecord, LabelsError, assign_splits, hash_split, index_media, locate, read_labels,
)
from support.data import shared_data


def test_cmu_mosi_labels_and_standard_folds(monkeypatch):
    mosi = shared_data("cmu-mosi")
    monkeypatch.setenv("QAMOE_SHARED_DATA", str(mosi.parent))  # where assign_splits finds the standard folds
    records = read_labels(mosi / "OpinionLevelSentiment.csv")
    assert len(records) == 2199 and len({r.video_id for r in records}) == 93
    first = records[0]
    assert (first.video_id, first.segment, first.clip_id) == ("_dI--eQ6qVU", "1", "_dI--eQ6qVU$_$1")
    assert first.start == pytest.approx(27.87913832) and first.label == pytest.approx(2.4)
    assert assign_splits(records).startswith("folds:")
    counts = {s: sum(r.split == s for r in records) for s in ("train", "valid", "test")}
    assert counts == {"train": 1284, "valid": 229, "test": 686}


def test_header_csv_with_splits_text_and_mosei_codes(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text(
        "file,index,start,end,label7,split,text\n"
        "a,0,0.5,2.0,1.5,0,hello there\n"
        "a,1,2.0,3.0,-1,1,\n"
        "b,0,,,0.2,2,\n"
        "c,0,0,1,0,3,\n"  # MOSEI 'unused'
    )
    records = read_labels(table)
    assert [(r.video_id, r.segment, r.split) for r in records] == [("a", "0", "train"), ("a", "1", "valid"), ("b", "0", "test")]
    assert records[0].text == "hello there" and records[1].text is None
    assert records[2].start is None and records[2].end is None
    assert assign_splits(records) == "table"


def test_hash_split_is_per_video_and_deterministic(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("video_id,segment,label\n" + "".join(f"v{i},{j},0\n" for i in range(60) for j in range(3)))
    records = read_labels(table)
    assert assign_splits(records) == "hash"
    by_video = {}
    for r in records:
        by_video.setdefault(r.video_id, set()).add(r.split)
    assert all(len(s) == 1 for s in by_video.values())  # no video straddles splits
    assert {next(iter(s)) for s in by_video.values()} == {"train", "valid", "test"}
    assert hash_split("v1") == hash_split("v1")


def test_bad_tables_say_what_is_wrong(tmp_path):
    cases = {
        "short.csv": ("1.0,2.0,vid\n", "expected start,end,video_id"),
        "nan.csv": ("1.0,2.0,vid,1,abc\n", "label 'abc' is not a number"),
        "cols.csv": ("name,score\nx,1\n", "needs a video column"),
        "dup.csv": ("video_id,segment,label\na,1,0\na,1,1\n", "appears twice"),
        "split.csv": ("video_id,label,split\na,0,holdout\n", "unknown split"),
        "empty.csv": ("", "is empty"),
        "inf.csv": ("1.0,2.0,vid,1,nan\n", "not a finite number"),
        "order.csv": ("3.0,2.0,vid,1,1.0\n", "ends .* before it starts"),
        "noid.csv": ("1.0,2.0, ,1,1.0\n", "video id is empty"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(LabelsError, match=message):
            read_labels(tmp_path / name)
    with pytest.raises(LabelsError, match="does not exist"):
        read_labels(tmp_path / "absent.csv")


def test_media_lookup_prefers_full_videos_then_cut_segments(tmp_path):
    (tmp_path / "Raw" / "Video" / "Full").mkdir(parents=True)
    (tmp_path / "Raw" / "Video" / "Segmented").mkdir(parents=True)
    (tmp_path / "Raw" / "Video" / "Full" / "abc.mp4").write_bytes(b"x")
    (tmp_path / "Raw" / "Video" / "Segmented" / "xyz_3.mp4").write_bytes(b"x")
    (tmp_path / "abc.wav").write_bytes(b"x")
    media = index_media(tmp_path)
    assert media["abc"].suffix == ".mp4"
    path, start, end = locate(ClipRecord("abc", "1", 1.0, 2.0, 0.0), media)
    assert path.name == "abc.mp4" and (start, end) == (1.0, 2.0)
    path, start, end = locate(ClipRecord("xyz", "3", 5.0, 6.0, 0.0), media)
    assert path.name == "xyz_3.mp4" and (start, end) == (None, None)
    assert locate(ClipRecord("nope", "1", 0, 1, 0.0), media)[0] is None
    assert ClipRecord("a/b$c", "1", 0, 1, 0).file_stem.startswith("a_b_c__1-")


def test_without_the_data_variable_no_standard_folds_are_guessed(monkeypatch):
    monkeypatch.delenv("QAMOE_SHARED_DATA", raising=False)
    records = [ClipRecord("tmZoasNr4rU", "1", 0.0, 1.0, 0.5), ClipRecord("03bSnISJMiM", "1", 0.0, 1.0, -1.0)]
    with pytest.raises(LabelsError, match=r"QAMOE_SHARED_DATA is unset.*--folds hash"):
        assign_splits(records, require_folds=True)  # a CMU-MOSI table: refused, not silently hash-split
    assert assign_splits(records) == "hash"  # any other table: the documented hash split
    assert [r.split for r in records] == [hash_split(r.video_id) for r in records]
