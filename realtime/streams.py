"""Names of the streams that flow from sources into the pipeline, and what each one carries.

A source hands the pipeline `(stream, t, item)` triples:

| stream            | item                                  | who emits it                       |
| ----------------- | ------------------------------------- | ---------------------------------- |
| `AUDIO`           | `AudioChunk` (mono float32 samples)   | microphone, file replay            |
| `VIDEO`           | `VideoFrame` (RGB uint8 (H, W, 3))    | camera, file replay                |
| `feature_stream(m)` | `FeatureFrame` of modality m        | simulated source (already features)|
| `WORDS`           | `Word` (one recognised word)          | simulated source                   |

Raw streams (AUDIO, VIDEO) go through extractors; feature streams and words go straight to the
feature store.
"""

from __future__ import annotations

AUDIO = "audio"
VIDEO = "video"
WORDS = "words"
FEATURE_PREFIX = "features/"
RAW_STREAMS = (AUDIO, VIDEO)


def feature_stream(modality: str) -> str:
    return FEATURE_PREFIX + modality


def modality_of(stream: str) -> str | None:
    """'features/text' -> 'text'; None for a raw stream."""
    return stream[len(FEATURE_PREFIX):] if stream.startswith(FEATURE_PREFIX) else None
