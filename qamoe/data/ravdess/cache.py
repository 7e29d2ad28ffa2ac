"""The cache of built features: .npz files named by a sha1 of what made them (the FLAC's content, the
extractor settings, the condition, the babble sources), and the keys of a clip under a condition."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from qamoe.data.hashing import hash_seed
from qamoe.dataset import DataError
from qamoe.files import atomic_write_json, atomic_write_npz, file_digest

from .conditions import Condition
from .table import ASR_MODEL, BABBLE_TALKERS, FORMAT, VOICE_FORMAT, Clip, default_cache


def content_hash(path: str | Path) -> str:
    path = Path(path)
    try:
        path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such audio file (listed in labels.csv)") from None
    return file_digest(path, "sha1")


def _key(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def statement_key(text: str) -> str:
    return _key({"statement": text, "text": "minilm", "format": FORMAT})


class FeatureCache:
    """.npz files under `root` (`<kind>/<key[:2]>/<key>.npz`, kind audio, asr or statement), each
    named by a sha1 of what made it, written atomically; `settings.json`: the extractor settings
    the build ran with (part of every audio key)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_cache()

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.npz"

    def get(self, kind: str, key: str) -> dict | None:
        path = self.path(kind, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):  # a damaged file: the build recomputes it
            return None

    def put(self, kind: str, key: str, arrays: dict) -> None:
        atomic_write_npz(self.path(kind, key), arrays)

    def settings(self) -> dict | None:
        path = self.root / "settings.json"
        try:
            return json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            return None

    def write_settings(self, settings: dict) -> None:
        atomic_write_json(self.root / "settings.json", settings)


class ClipKeys:
    """The cache keys of a clip's features under a condition. `settings`: the extractor settings
    (the build's own, or the cache's `settings.json` when loading)."""

    def __init__(self, clips_by_split: dict[str, list[Clip]], settings: dict) -> None:
        self.by_split = clips_by_split
        self.settings = settings

    def babble_sources(self, clip: Clip, split: str, seed: int) -> list[Clip]:
        """BABBLE_TALKERS clips of other actors in the clip's split, drawn from (seed, the clip's content)."""
        pool = [c for c in self.by_split[split] if c.actor != clip.actor] or [c for c in self.by_split[split] if c.id != clip.id]
        if not pool:
            raise DataError(f"no other clip in split {split!r} to make babble noise for {clip.id}")
        rng = np.random.default_rng(hash_seed("babble-pick", seed, content_hash(clip.path)))
        by_actor: dict[int, list[Clip]] = {}
        for c in sorted(pool, key=lambda c: c.id):
            by_actor.setdefault(c.actor, []).append(c)
        actors = sorted(by_actor)
        chosen_actors = rng.permutation(actors)[: BABBLE_TALKERS] if len(actors) >= BABBLE_TALKERS else rng.choice(actors, BABBLE_TALKERS)
        return [by_actor[int(a)][int(rng.integers(len(by_actor[int(a)])))] for a in chosen_actors]

    def audio(self, clip: Clip, split: str, condition: Condition) -> str:
        payload = {"clip": content_hash(clip.path), "settings": self.settings, "condition": condition.key()}
        if not condition.clean and condition.kind == "babble":
            payload["babble"] = [content_hash(c.path) for c in self.babble_sources(clip, split, condition.seed)]
        return _key(payload)

    def asr(self, clip: Clip, split: str, condition: Condition) -> str:
        return _key({"audio": self.audio(clip, split, condition), "asr": ASR_MODEL, "text": "minilm", "max_words": 64})

    def voice(self, clip: Clip, split: str, condition: Condition) -> str:
        return _key({"audio": self.audio(clip, split, condition), "encoder": ASR_MODEL, "voice": VOICE_FORMAT})

    def of(self, kind: str, clip: Clip, split: str, condition: Condition) -> str:
        return {"audio": self.audio, "asr": self.asr, "voice": self.voice}[kind](clip, split, condition)
