"""--dataset ravdess, the loader: folds, conditions, the table, and `load_ravdess` on features
written into a cache here (no extractor runs; the build with real clips is tested in
tests/extractors/datasets/test_ravdess_build.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qamoe.data.ravdess import (
    BUILD, DIMS, EMOTIONS, ClipKeys, Condition, FeatureCache, concat_splits, load_ravdess, parse_folds, parse_snrs,
    plan_load, read_labels, statement_key,
)
from qamoe.data.synthetic import make_synthetic
from qamoe.dataset import DataError

SETTINGS = {"audio": "the settings a build wrote"}
STATEMENTS = ("Kids are talking by the door", "Dogs are sitting by the door")


def test_folds_and_snr_lists_parse_and_refuse_nonsense():
    assert parse_folds("1-14:15-17:18-20") == {"train": set(range(1, 15)), "valid": {15, 16, 17}, "test": {18, 19, 20}}
    assert parse_folds("1-3,9:4:5,6")["train"] == {1, 2, 3, 9}
    for bad in ("1-14:15-17", "1-14:14-17:18", "a:b:c", "5-3:1:2"):
        with pytest.raises(DataError):
            parse_folds(bad)
    assert parse_snrs("clean,20,-5dB") == [None, 20.0, -5.0]
    with pytest.raises(DataError):
        parse_snrs("loud")


def test_split_all_joins_every_split_once():
    ds = make_synthetic(0, sizes={"train": 7, "valid": 3, "test": 5})
    joined = concat_splits(ds)
    assert joined.ids == ds.splits["train"].ids + ds.splits["valid"].ids + ds.splits["test"].ids
    for m, data in joined.modalities.items():
        i = len(ds.splits["train"]) + 1  # the second valid sample
        src = ds.splits["valid"].modalities[m]
        assert data.lengths[i] == src.lengths[1]
        np.testing.assert_array_equal(data.features[i, : data.lengths[i]], src.features[1, : src.lengths[1]])


def test_the_table_is_read_strictly(tmp_path):
    (tmp_path / "labels.csv").write_text("id,path,actor,emotion,statement,sentiment\nx,a.flac,1,joyful,hi,1\n")
    with pytest.raises(DataError, match="unknown emotion"):
        read_labels(tmp_path)
    with pytest.raises(DataError, match="labels.csv not found"):
        read_labels(tmp_path / "nowhere")


# ------------------------------------------------------------------ loading built features


@pytest.fixture
def folder(tmp_path):
    """Two takes of each of actors 1, 2, 3 (happy and sad): a table, stand-in audio files and AUs."""
    rows = ["id,path,actor,emotion,statement,sentiment"]
    au_rows = ["id," + ",".join([f"AU{i:02d}_r" for i in range(17)] + [f"AU{i:02d}_c" for i in range(18)])]
    for actor in (1, 2, 3):
        for code, emotion, sentiment in (("03", "happy", 2.0), ("04", "sad", -2.0)):
            clip_id = f"03-01-{code}-01-0{actor % 2 + 1}-01-{actor:02d}"
            path = tmp_path / "audio" / f"Actor_{actor:02d}" / f"{clip_id}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(clip_id.encode())  # the loader hashes the file, it never decodes it
            rows.append(f"{clip_id},audio/Actor_{actor:02d}/{clip_id}.flac,{actor},{emotion},{STATEMENTS[actor % 2]},{sentiment}")
            if clip_id != "03-01-03-01-02-01-01":  # one take without action units: vision missing
                au_rows.append(clip_id + "," + ",".join(str(actor + k / 100) for k in range(35)))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "openface-au.csv").write_text("\n".join(au_rows) + "\n")
    return tmp_path


def audio_of(clip, condition) -> np.ndarray:
    """What the stand-in build stores: 3 frames whose value says which clip and condition; no
    speech (0 frames) for actor 3's sad take."""
    if clip.actor == 3 and clip.emotion == "sad":
        return np.zeros((0, DIMS["audio"]), np.float32)
    value = clip.actor + (0.5 if condition.clean else condition.snr / 100)
    return np.full((3, DIMS["audio"]), value, np.float32)


def build_stand_in(folder, cache_root, **options) -> FeatureCache:
    """Writes into a cache what a build would, with made-up values, for what these options load."""
    cache = FeatureCache(cache_root)
    cache.write_settings(SETTINGS)
    plan = plan_load(folder, **options)
    keys = ClipKeys(plan.by_split, SETTINGS)
    for kind, clip, split, condition in plan.jobs():
        cache.put(kind, keys.of(kind, clip, split, condition), {"audio": audio_of(clip, condition)})
    for i, text in enumerate(plan.statements()):
        cache.put("statement", statement_key(text), {"text": np.full((len(text.split()), DIMS["text"]), i, np.float32)})
    return cache


def test_loads_built_features_by_actor_and_fills_what_is_missing(folder, tmp_path):
    build_stand_in(folder, tmp_path / "cache", folds="1:2:3")
    ds = load_ravdess(folder, folds="1:2:3", cache=tmp_path / "cache")
    assert ds.modality_dims == {"text": 384, "audio": 44, "vision": 35}
    assert {s: {c.actor for c in ds.clips[s]} for s in ds.splits} == {"train": {1}, "valid": {2}, "test": {3}}
    for split, data in ds.splits.items():
        assert np.allclose(data.labels, [c.sentiment for c in ds.clips[split]])
        text = data.modalities["text"]
        assert text.lengths.tolist() == [len(c.statement.split()) for c in ds.clips[split]]
    test = ds.splits["test"]
    sad = [i for i, c in enumerate(ds.clips["test"]) if c.emotion == "sad"][0]
    assert not ds.present["test"]["audio"][sad] and ds.present["test"]["audio"].sum() == 1
    # an absent modality is one frame at the mean of the clean train clips (actor 1: value 1.5)
    assert test.modalities["audio"].lengths[sad] == 1
    np.testing.assert_allclose(test.modalities["audio"].features[sad, 0], 1.5)
    no_au = ds.splits["train"].ids.index("03-01-03-01-02-01-01")
    assert not ds.present["train"]["vision"][no_au]
    np.testing.assert_allclose(ds.splits["train"].modalities["vision"].features[no_au, 0],
                               [1 + k / 100 for k in range(35)], atol=1e-6)  # the other train take's AUs


def test_noise_on_one_split_and_augmented_train_copies(folder, tmp_path):
    build_stand_in(folder, tmp_path / "cache", folds="1:2:3", audio_snr=5.0, snr_splits=("test",), train_snrs=(None, 20.0))
    ds = load_ravdess(folder, folds="1:2:3", audio_snr=5.0, snr_splits=("test",), train_snrs=(None, 20.0),
                      cache=tmp_path / "cache", task="emotion")
    assert ds.task == "classification" and ds.class_names == list(EMOTIONS)
    assert set(ds.splits["test"].labels) == {EMOTIONS.index("happy"), EMOTIONS.index("sad")}
    happy = [i for i, c in enumerate(ds.clips["test"]) if c.emotion == "happy"][0]
    np.testing.assert_allclose(ds.splits["test"].modalities["audio"].features[happy, 0], 3.05)  # noisy: 3 + 5/100
    np.testing.assert_allclose(ds.splits["valid"].modalities["audio"].features[0, 0], 2.5)  # clean
    base = [c.id for c in ds.clips["train"][:2]]
    assert ds.splits["train"].ids == base + [f"{i}@white+20dB" for i in base]
    assert ds.conditions["train"] == ["clean", "clean", "white+20dB", "white+20dB"]


def test_what_was_not_built_is_an_error_that_gives_the_build_command(folder, tmp_path):
    with pytest.raises(DataError, match=f"no RAVDESS features built .*{BUILD} --data {folder} --snrs clean"):
        load_ravdess(folder, folds="1:2:3", cache=tmp_path / "empty")
    build_stand_in(folder, tmp_path / "cache", folds="1:2:3")
    with pytest.raises(DataError) as caught:
        load_ravdess(folder, folds="1:2:3", audio_snr=0.0, noise_kind="babble", cache=tmp_path / "cache", text="asr")
    message = str(caught.value)
    assert "not built" in message and "--snrs clean,0 --kinds babble --noise-seed 0 --folds 1:2:3 --text asr" in message
    # other extractor settings in the cache: nothing matches, nothing old is read as new
    FeatureCache(tmp_path / "cache").write_settings({"audio": "other settings"})
    with pytest.raises(DataError, match="not built"):
        load_ravdess(folder, folds="1:2:3", cache=tmp_path / "cache")


def test_keys_follow_the_audio_content_and_the_condition(folder):
    plan = plan_load(folder, folds="1:2:3")
    keys = ClipKeys(plan.by_split, SETTINGS)
    clip = plan.by_split["train"][0]
    before = keys.audio(clip, "train", Condition())
    assert keys.audio(clip, "train", Condition(0.0)) != keys.audio(clip, "train", Condition(5.0)) != before
    assert ClipKeys(plan.by_split, {"audio": "other"}).audio(clip, "train", Condition()) != before
    clip.path.write_bytes(b"other audio under the same name")
    assert keys.audio(clip, "train", Condition()) != before
    every = plan_load(folder, all_clips=True).by_split
    for c in every["test"]:
        sources = ClipKeys(every, SETTINGS).babble_sources(c, "test", 0)
        assert len(sources) == 4 and all(s.actor != c.actor for s in sources)  # other actors of the same split
        assert sources == ClipKeys(every, SETTINGS).babble_sources(c, "test", 0)  # drawn from the seed and the clip


# ------------------------------------------------------------------ voice features


def voice_folder(root):
    """Actors 1 and 2 (train), 15 (valid), 18 (test): a happy and a sad take each."""
    rows = ["id,path,actor,emotion,statement,sentiment"]
    for actor in (1, 2, 15, 18):
        for code, emotion, sentiment in (("03", "happy", 2.0), ("04", "sad", -2.0)):
            clip_id = f"03-01-{code}-01-01-01-{actor:02d}"
            path = root / "audio" / f"Actor_{actor:02d}" / f"{clip_id}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(clip_id.encode())
            rows.append(f"{clip_id},audio/Actor_{actor:02d}/{clip_id}.flac,{actor},{emotion},{STATEMENTS[0]},{sentiment}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    header = "id," + ",".join([f"AU{i:02d}_r" for i in range(17)] + [f"AU{i:02d}_c" for i in range(18)])
    (root / "openface-au.csv").write_text(header + "\n")
    return root


def pooled_of(clip, condition) -> np.ndarray:
    """Made-up pooled encoder states (768): the emotion in one direction, the actor and condition in others."""
    rng = np.random.default_rng(clip.actor * 100 + (0 if condition.clean else int(condition.snr) + 50))
    x = rng.normal(size=768).astype(np.float32)
    x[0] += 3.0 if clip.emotion == "happy" else -3.0
    return x


def build_voice_stand_in(folder, cache_root, **options) -> FeatureCache:
    cache = build_stand_in(folder, cache_root, **options)
    plan = plan_load(folder, voice=True, **options)
    keys = ClipKeys(plan.by_split, SETTINGS)
    for kind, clip, split, condition in plan.jobs():
        if kind == "voice":
            silent = clip.actor == 18 and clip.emotion == "sad"  # the VAD heard no utterance
            cache.put("voice", keys.voice(clip, split, condition),
                      {"pooled": np.zeros(768, np.float32) if silent else pooled_of(clip, condition), "frames": np.int64(0 if silent else 80)})
    return cache


def test_voice_features_come_out_of_fold_for_train_actors_and_from_the_shipped_head_otherwise(tmp_path):
    from qamoe.data import voice_head
    from qamoe.data.ravdess import VOICE_HEAD_CONDITIONS
    from qamoe.shipped import ASSETS

    folder, folds = voice_folder(tmp_path / "data"), "1,2:15:18"
    build_voice_stand_in(folder, tmp_path / "cache", folds=folds)
    ds = load_ravdess(folder, folds=folds, cache=tmp_path / "cache", voice=True)
    assert ds.modality_dims["audio"] == 52 and ds.options["voice"]
    shipped = voice_head.load(ASSETS / "voice")

    def voice_part(split, clip_id):
        i = ds.splits[split].ids.index(clip_id)
        mod = ds.splits[split].modalities["audio"]
        return mod.features[i, : mod.lengths[i], 44:]

    valid = ds.clips["valid"][0]
    part = voice_part("valid", valid.id)
    np.testing.assert_allclose(part, np.broadcast_to(shipped.log_probs(pooled_of(valid, Condition())), part.shape), atol=1e-5)
    # a train clip is scored by a head fitted on the other train actor only (every head condition)
    clip = next(c for c in ds.clips["train"] if c.actor == 1)
    others = [(c, cond) for cond in VOICE_HEAD_CONDITIONS for c in ds.clips["train"] if c.actor == 2]
    head = voice_head.fit(np.stack([pooled_of(c, cond) for c, cond in others]), np.array([c.emotion_index for c, _ in others]))
    np.testing.assert_allclose(voice_part("train", clip.id)[0], head.log_probs(pooled_of(clip, Condition())), atol=1e-4)
    assert not np.allclose(voice_part("train", clip.id)[0], shipped.log_probs(pooled_of(clip, Condition())), atol=1e-3)
    # a clip whose utterances the VAD missed gets the uniform prior, not a score of zeros
    no_speech = next(c for c in ds.clips["test"] if c.emotion == "sad")
    np.testing.assert_allclose(voice_part("test", no_speech.id)[0], np.full(8, -np.log(8)), atol=1e-6)


def test_voice_features_refuse_folds_whose_held_out_actors_the_shipped_head_heard(folder, tmp_path):
    build_voice_stand_in(folder, tmp_path / "cache", folds="1:2:3")
    with pytest.raises(DataError, match="heard them"):
        load_ravdess(folder, folds="1:2:3", cache=tmp_path / "cache", voice=True)
