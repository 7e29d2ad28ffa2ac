"""`--demo`: a scripted scene played at the feature level with the simulator's generative model.

No device, no file, no extractor: the demo emits timestamped feature frames for text (one per word,
2.5 words/s), audio (6 frames/s) and vision (5 frames/s) exactly as `qamoe.data.synthetic` draws
them (same feature directions for the same seed, same background and speaker noise, affect on salient
frames), plus the words themselves for the transcript. A script of scenes makes modalities noisy or
absent over time, so the reliability scores visibly move:

    clean -> noisy room (audio noise ramps up) -> face lost -> speaker pauses (silence, no words)
    -> bad light (vision noise) -> ASR hears nothing (no words) -> recovery -> (loops)

Noise is added in raw feature units as N(0, (lambda * spread)^2), spread being the dimension's
own standard deviation in the simulator, so lambda means what it means in Protocol II.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from qamoe.data.synthetic import BURST_SHARE, RECIPES, ModalityRecipe, frame_and_speaker_sd, sample_factors, world_directions
from qamoe.extractors.base import FeatureFrame, Word

from .sources import Recording
from .streams import WORDS, feature_stream

SALIENT_SHARE = {"text": 0.3, **BURST_SHARE}  # share of frames that carry the affect
SEGMENT_S = 5.0  # a new latent draw (a new "utterance") every SEGMENT_S seconds


@dataclass(frozen=True)
class Scene:
    """One stretch of the script: `seconds` long, true sentiment `sentiment`, per-modality noise
    `noise` (lambda at the scene's end; it ramps from the previous scene's value), modalities that are
    `absent` (no frames: 'text' = no words; 'audio' = silence, frames marked missing; 'vision' = no
    face, frames marked missing)."""

    caption: str
    seconds: float
    sentiment: float
    noise: dict[str, float] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()


SCRIPT: tuple[Scene, ...] = (
    Scene("all clear", 10, 2.0),
    Scene("noisy room: audio noise rising", 10, 2.0, {"audio": 2.5}),
    Scene("face lost", 10, -1.6, absent=frozenset({"vision"})),
    Scene("speaker pauses: silence", 8, -1.6, absent=frozenset({"audio", "text"})),
    Scene("bad light: vision noise", 10, 1.0, {"vision": 2.0}),
    Scene("ASR hears nothing", 10, -2.0, absent=frozenset({"text"})),
    Scene("recovery", 8, -2.0),
)

PHRASES = {
    "positive": "i really love how this turned out it is wonderful and the people were so kind".split(),
    "neutral": "so we went there on tuesday and then we talked about the plan for a while".split(),
    "negative": "honestly this was terrible i hated the ending and the whole thing felt like a waste".split(),
}


def latent_factors(rng: np.random.Generator, y: float) -> np.ndarray:
    """(3,) factors z with FACTOR_WEIGHTS . z = y / LABEL_SCALE (the simulator's constraint)."""
    return sample_factors(rng, np.array([y]))[0]


class DemoScene(Recording):
    """The scripted demo as a `Recording`; `loop=True` repeats the script forever (new draws)."""

    name = "demo"

    def __init__(self, seed: int = 0, *, data_seed: int = 0, script: tuple[Scene, ...] = SCRIPT, loop: bool = True) -> None:
        if not script:
            raise ValueError("the demo script needs at least one scene")
        self.seed = seed
        self.script = script
        self.loop = loop
        self.directions = world_directions(data_seed)
        self.script_s = sum(s.seconds for s in script)
        self.duration = None if loop else self.script_s
        self.streams = tuple(feature_stream(m) for m in RECIPES) + (WORDS,)

    # -- the script ---------------------------------------------------------------------------
    def scene_at(self, t: float) -> tuple[int, Scene]:
        """Index and scene playing at media time t (s)."""
        t = t % self.script_s if self.loop else min(t, self.script_s - 1e-9)
        for i, scene in enumerate(self.script):
            if t < scene.seconds:
                return i, scene
            t -= scene.seconds
        return len(self.script) - 1, self.script[-1]

    def describe(self, t: float) -> str:
        return self.scene_at(t)[1].caption

    def sentiment_at(self, t: float) -> float:
        return self.scene_at(t)[1].sentiment

    def noise_at(self, modality: str, t: float) -> float:
        """lambda for `modality` at t: ramps linearly from the previous scene's value to this one's."""
        i, scene = self.scene_at(t)
        start = sum(s.seconds for s in self.script[:i])
        into = ((t % self.script_s) if self.loop else t) - start
        before = self.script[i - 1].noise.get(modality, 0.0) if i else 0.0
        target = scene.noise.get(modality, 0.0)
        return before + (target - before) * min(1.0, max(0.0, into / scene.seconds) * 2)

    # -- the items -------------------------------------------------------------------------------
    def items(self) -> Iterator[tuple[float, str, Any]]:
        seeds = np.random.SeedSequence(self.seed).spawn(len(RECIPES) + 1)
        latent_rng = np.random.default_rng(seeds[-1])
        self._factors: dict[int, np.ndarray] = {}
        self._latent_rng = latent_rng
        self._segments_drawn = 0
        self._bursts: dict[str, dict[int, float]] = {}  # modality -> {segment: burst start}
        streams = [self._frames(name, recipe, np.random.default_rng(s)) for (name, recipe), s in zip(RECIPES.items(), seeds[:-1], strict=True)]
        return heapq.merge(*streams, key=lambda x: x[0])

    def _segment_factors(self, t: float) -> np.ndarray:
        """Latent z shared by all modalities within one SEGMENT_S stretch (drawn in segment order)."""
        index = int(t // SEGMENT_S)
        while self._segments_drawn <= index:
            k = self._segments_drawn
            self._factors[k] = latent_factors(self._latent_rng, self.sentiment_at(k * SEGMENT_S + 1e-6))
            self._factors.pop(k - 8, None)  # keep memory bounded on a looping demo
            self._segments_drawn += 1
        return self._factors[index]

    def _salient(self, name: str, t: float, rng: np.random.Generator) -> bool:
        """Does the frame at t carry the affect? Text: each word with probability SALIENT_SHARE; audio and
        vision: one burst of SALIENT_SHARE of every SEGMENT_S stretch, at a random place (as the simulator
        draws one burst per clip)."""
        if name == "text":
            return bool(rng.random() < SALIENT_SHARE[name])
        index, burst = int(t // SEGMENT_S), SALIENT_SHARE[name] * SEGMENT_S
        bursts = self._bursts.setdefault(name, {})
        if index not in bursts:  # frames come in time order, so each stream draws its bursts in order
            bursts.clear()
            bursts[index] = rng.uniform(0.0, SEGMENT_S - burst)
        into = t - index * SEGMENT_S
        return bursts[index] <= into < bursts[index] + burst

    def _frames(self, name: str, recipe: ModalityRecipe, rng: np.random.Generator) -> Iterator[tuple[float, str, Any]]:
        period = 1.0 / recipe.frames_per_second
        frame_sd, speaker_sd = frame_and_speaker_sd(name, recipe)
        spread = np.sqrt(frame_sd**2 + speaker_sd**2)
        speaker = rng.standard_normal(recipe.dim) * speaker_sd
        stream = feature_stream(name)
        words = PHRASES["neutral"]
        k = 0
        while True:
            start, end = k * period, (k + 1) * period
            k += 1
            if not self.loop and end > self.script_s + 1e-9:
                return
            _, scene = self.scene_at(start)
            z = self._segment_factors(start)
            frame = rng.standard_normal(recipe.dim) * frame_sd + speaker
            if self._salient(name, start, rng):
                frame += (z * np.array(recipe.loadings)) @ self.directions[name]
            frame += rng.standard_normal(recipe.dim) * spread * self.noise_at(name, start)
            absent = name in scene.absent
            if name == "text":
                if absent:
                    continue
                words = PHRASES[_label(scene.sentiment)]
                yield end, WORDS, Word(start, end, words[k % len(words)])
                yield end, stream, FeatureFrame(start, end, frame.astype(np.float32))
            elif absent:
                yield end, stream, FeatureFrame(start, end, np.zeros(recipe.dim, np.float32), missing=True)
            else:
                yield end, stream, FeatureFrame(start, end, frame.astype(np.float32))


def _label(y: float) -> str:
    return "positive" if y >= 0.5 else "negative" if y <= -0.5 else "neutral"
