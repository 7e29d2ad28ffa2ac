"""The voice-emotion log-probabilities of every clip: out of fold for the train actors, the shipped head
for any other actor (never one it heard)."""

from __future__ import annotations

import hashlib

import numpy as np

from qamoe.dataset import DataError

from .conditions import VOICE_HEAD_CONDITIONS
from .plan import Plan
from .table import EMOTIONS


_VOICE_CACHE: dict[tuple, tuple] = {}  # (cache root, settings, train clip ids) -> out-of-fold heads, once per process


def voice_log_probs(plan: Plan, results: dict) -> dict[tuple[str, str, str], np.ndarray]:
    """{(clip id, split, condition label): (8,) voice-emotion log-probabilities} of every sample and
    reference clip: a train clip's from a head fitted without its actor (out of fold), any other
    clip's from the shipped head (`qamoe/assets/voice`, what the live path runs), which must not
    have been fitted on that clip's actor (a DataError: the features would leak the label)."""
    from qamoe.data import voice_head  # noqa: PLC0415
    from qamoe.shipped import ASSETS  # noqa: PLC0415

    train_ids = set() if plan.all_clips else {c.id for c, _ in plan.reference}
    scored_by_shipped = [(split, c) for split, items in plan.samples.items() for c, _ in items
                         if not (split == "train" and c.id in train_ids)]
    shipped = voice_head.load(ASSETS / "voice") if scored_by_shipped else None
    if shipped is not None:
        heard = set(shipped.card.get("actors", []))
        leaked = sorted({c.actor for _, c in scored_by_shipped if c.actor in heard})
        if leaked:
            raise DataError(f"the shipped voice head was fitted on actors {sorted(heard)}; actors {leaked} would be "
                            "scored by a head that heard them: choose folds that keep them in train")
    heads, fold_of = {}, {}
    if train_ids:
        train = plan.reference
        x = np.stack([results[("voice", c.id, "train", cond.label)]["pooled"] for cond in VOICE_HEAD_CONDITIONS for c, _ in train])
        y = np.array([c.emotion_index for _ in VOICE_HEAD_CONDITIONS for c, _ in train])
        actors = np.array([c.actor for _ in VOICE_HEAD_CONDITIONS for c, _ in train])
        if len(set(actors.tolist())) < 2:
            raise DataError("voice features need at least two train actors: each train clip is scored by a head "
                            "fitted on the other actors")
        key = (hashlib.sha1(x.tobytes()).hexdigest(), tuple(actors.tolist()))
        if key not in _VOICE_CACHE:
            _VOICE_CACHE[key] = voice_head.fold_heads(x, y, actors)
        heads, fold_of = _VOICE_CACHE[key]
    uniform = np.full(len(EMOTIONS), -np.log(len(EMOTIONS)), np.float32)
    out = {}
    for split, items in [*plan.samples.items(), ("train", plan.reference)]:
        for clip, condition in items:
            arrays = results[("voice", clip.id, split, condition.label)]
            if int(arrays["frames"]) == 0:
                out[(clip.id, split, condition.label)] = uniform
                continue
            head = heads[fold_of[clip.actor]] if split == "train" and clip.id in train_ids else shipped
            out[(clip.id, split, condition.label)] = head.log_probs(arrays["pooled"])
    return out
