"""RAVDESS speech (real human voices, 8 emotions, split by actor): the table, the folds and the loader
of its built features.

Layout of a data folder (`$QAMOE_SHARED_DATA/ravdess/`, read its README):

```
labels.csv          id, path, actor, sex, emotion, intensity, statement, repetition, sentiment
audio/Actor_NN/03-01-EE-II-SS-RR-NN.flac
openface-au.csv     id, then 35 OpenFace 2 action units (17 AUxx_r, 18 AUxx_c), the mean over the take
```

Modalities, each what the live pipeline hands a checkpoint, so a checkpoint trained here reads live
features of the same kind and size:

- audio (44): the FLAC through the project's extractors - the streaming `AudioFeatures` (40 log-mel
  bands + 4 prosody measures, 100 frames/s) gated by silero-vad like the live audio path (frames
  outside speech dropped), then the speech frames of the last 4 s mean-pooled to at most 64 frames
  (`qamoe.data.window`, the live window's rule).
- text (384): MiniLM per-word vectors of the given statement (`text="statement"`, the default: only
  two sentences exist, so it carries no sentiment), or of what the project's Whisper ASR
  recognises in the (possibly noisy) clip (`text="asr"`). A clip where the ASR hears no word has text
  missing.
- vision (35): the clip's 35 OpenFace action units as one frame (`openface-au.csv`).

A modality absent from a clip (no speech found by the VAD, no words, no AU row) is one frame equal to
the training split's mean of that modality, which the checkpoint's normalisation turns into the zero
frame QA-MoE reads as missing (Protocol I); `RavdessDataset.present[split][modality]` says which.

Folds are by actor, never by clip: train actors 01-14, valid 15-17, test 18-20 by default
(`folds="1-14:15-17:18-20"`, train:valid:test, each a comma list of actors or ranges). Actors that no
fold names are left out. `all_clips=True` puts every clip of the folder in all three splits (for
evaluating a folder of other speakers with `qamoe-eval --split all`).

Labels: `task="sentiment"` (regression on the `sentiment` column, the data README's table) or
`task="emotion"` (8 classes in `EMOTIONS` order, the file name's code order).

Signal conditions (`Condition`): clean, or noise added to the *waveform* before extraction at an SNR
(`noise_kind` white, pink, or babble: 4 clips of other actors of the same split summed; drawn from
(noise_seed, kind, the clip's content hash) only, so an SNR sweep scales one realisation).

The features are built, not computed here: `python -m qamoe.extractors.datasets.ravdess` runs the
extractors and writes every clip's features under every condition asked for into a cache (default
`~/.cache/qamoe/ravdess`, or $QAMOE_CACHE/ravdess): an .npz per clip, named by the sha1 of what made
it (the FLAC's content hash, the extractor settings in the cache's `settings.json`, the condition,
the babble sources). `load_ravdess` reads them; a feature that was not built is a DataError that
gives the build command.

```python
from qamoe.data.ravdess import load_ravdess, snr_views
ds = load_ravdess(DIR)                                            # a MultimodalDataset (RavdessDataset)
ds = load_ravdess(DIR, task="emotion", audio_snr=0, noise_kind="babble", snr_splits=("test",))
views = snr_views(DIR, "train", snrs=(20, 10, 5, 0, -5))          # aligned clean / degraded views
views.clean.modalities["audio"], views.degraded[0.0].modalities["audio"]  # same clips, same order
```

The package, one concern a module: `table` (constants, the clips, the action units, the folds),
`conditions` (clean or noisy), `cache` (the built features and their keys, babble selection), `plan`
(what a load reads, the build command), `voice_features` (the voice-emotion estimate per clip),
`loader` (`load_ravdess`, `snr_views`, `concat_splits`). Everything is importable from here.
"""

from __future__ import annotations

from qamoe.data.hashing import hash_seed  # noqa: F401 - re-exported: the builds import it from here

from .cache import ClipKeys, FeatureCache, content_hash, statement_key
from .conditions import VOICE_HEAD_CONDITIONS, Condition, parse_snrs
from .loader import RavdessDataset, SNRViews, concat_splits, load_ravdess, snr_views
from .plan import Job, Plan, plan_load, read_features
from .table import (
    ASR_MODEL, BABBLE_TALKERS, BUILD, DEFAULT_FOLDS, DIMS, EMOTIONS, FORMAT, NEGATIVE, NOISE_KINDS, POSITIVE,
    SNR_SWEEP, TASKS, TEXT_SOURCES, VOICE_DIM, VOICE_FORMAT, Clip, default_cache, default_data, parse_folds,
    read_action_units, read_labels, split_clips,
)
from .voice_features import voice_log_probs

__all__ = [
    "ASR_MODEL", "BABBLE_TALKERS", "BUILD", "DEFAULT_FOLDS", "DIMS", "EMOTIONS", "FORMAT", "NEGATIVE", "NOISE_KINDS",
    "POSITIVE", "SNR_SWEEP", "TASKS", "TEXT_SOURCES", "VOICE_DIM", "VOICE_FORMAT", "VOICE_HEAD_CONDITIONS", "Clip",
    "ClipKeys", "Condition", "FeatureCache", "Job", "Plan", "RavdessDataset", "SNRViews", "concat_splits",
    "content_hash", "default_cache", "default_data", "hash_seed", "load_ravdess", "parse_folds", "parse_snrs",
    "plan_load", "read_action_units", "read_features", "read_labels", "snr_views", "split_clips", "statement_key",
    "voice_log_probs",
]
