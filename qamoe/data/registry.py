"""Data sets by name, as the command-line tools select them with `--dataset NAME [--data PATH]`.

  synthetic   the built-in simulator, generated from --data-seed
  extracted   feature shards written by qamoe-extract
  mosi, mosei the standard processed CMU-MOSI / CMU-MOSEI pickles: MMSA's aligned_50.pkl /
              unaligned_50.pkl or MulT's mosi_data.pkl / mosei_senti_data.pkl (a file, or a folder
              holding one), read without executing code (qamoe/data/mmsa.py)
  iemocap     6 emotions, mintrec 20 intents: MMSA-layout pickles with classification_labels;
              trained and scored as classification (accuracy, weighted F1)
  ravdess     real voices (RAVDESS speech, FLAC) through the project's audio extractor, OpenFace
              action units, statement or ASR text; folds by actor; the features are built beforehand
              (python -m qamoe.extractors.datasets.ravdess); `options` (qamoe/data/ravdess/):
              task, text, folds, all_clips, audio_snr, noise_kind, noise_seed, snr_splits, train_snrs, cache
"""

from __future__ import annotations

from qamoe.dataset import DataError, MultimodalDataset
from qamoe.data.synthetic import make_synthetic

DATASETS = ("synthetic", "extracted", "mosi", "mosei", "iemocap", "mintrec", "ravdess")


# `sizes` is used by `qamoe-train --sizes` and read back by qamoe-eval from the provenance: keep it.
def load_dataset(name: str, data: str | None = None, *, seed: int = 0, sizes: dict | None = None,
                 options: dict | None = None) -> MultimodalDataset:
    """`synthetic` is generated from `seed` (split `sizes` optional); the others read files at `data`.
    `options`: keyword arguments of the data set's loader (ravdess only)."""
    if name == "synthetic":
        return make_synthetic(seed, sizes=sizes)
    if name == "ravdess":  # --data optional: $QAMOE_SHARED_DATA/ravdess by default
        from qamoe.data.ravdess import load_ravdess

        return load_ravdess(data, **(options or {}))
    if data is None:
        raise DataError(f"--dataset {name} needs --data PATH")
    if name == "extracted":
        from qamoe.data.extracted import load_extracted

        return load_extracted(data)
    if name in ("mosi", "mosei", "iemocap", "mintrec"):
        from qamoe.data.mmsa import IEMOCAP_CLASSES, MINTREC_CLASSES, load_pickle_dataset

        classes = {"iemocap": IEMOCAP_CLASSES, "mintrec": MINTREC_CLASSES}.get(name)
        dataset = load_pickle_dataset(data, name=name, class_names=classes)
        if classes and dataset.task != "classification":
            raise DataError(f"--dataset {name} needs classification_labels in {data}")
        if not classes and dataset.task != "regression":
            raise DataError(f"--dataset {name} needs sentiment labels (regression_labels or labels) in {data}")
        return dataset
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
