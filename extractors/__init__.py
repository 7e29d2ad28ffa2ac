"""Feature extractors shared by offline extraction (`qamoe-extract`) and the live pipeline.

Every extractor speaks the streaming interface of `qamoe.extractors.base` (timestamped chunks in,
timestamped `FeatureFrame`s out, `feed` / `flush` / `reset` / `run`). One module per concept:

| module | what | output |
| --- | --- | --- |
| `base` | chunk and frame types, `Extractor`, `single_thread` | |
| `decode` | `MediaReader`: PyAV decoding with timestamps | `AudioChunk` (16 kHz), `VideoFrame` (RGB) |
| `audio` | `AudioFeatures`: log-mel + prosody | 44 per 10 ms |
| `gated_audio` | `GatedAudio`: `audio` frames marked missing while `vad` hears no speech and the signal is quiet | 44 per 10 ms |
| `vad` | `VoiceActivity`: silero-vad | 1 per 32 ms, speech start/end events |
| `asr` | `SpeechRecognizer`: Whisper tiny.en (faster-whisper), VAD-gated, local agreement; `make_recognizer` | `Word`s with probabilities; the encoder's `VoiceStates` |
| `voice` | `VoiceEmotion`: the voice-emotion head on the recogniser's pooled encoder states; `VoiceTrack` | 8 log-probabilities per utterance, appended to audio frames (52) |
| `text` | `TextEmbedder`: MiniLM (or BERT), times the word's ASR confidence | 384 per word |
| `vision` | `FaceFeatures`: mediapipe face mesh (+ `expression`) | 20 (27) per frame, up to 15 fps |
| `expression` | `ExpressionNet`: mini-Xception on an aligned face crop | 7 log-probabilities per face |
| `openface` | `read_openface_csv` | 27 per OpenFace row |
| `clip` | `ClipExtractor`: all of the above on one recorded clip | |
| `labels`, `shards` | label tables and the shard writer for `qamoe-extract` | |
| `datasets` | build tools: the extractors over whole data sets, writing the caches `qamoe.data` reads | |

Only `base` is imported here; the others import their heavy dependencies (the `media` extra) when used.
See README.md in this folder for sizes, rates and costs.
"""

from .base import AudioChunk, Extractor, ExtractorUnavailable, FeatureFrame, VideoFrame, Word, stack_frames

__all__ = ["AudioChunk", "Extractor", "ExtractorUnavailable", "FeatureFrame", "VideoFrame", "Word", "stack_frames"]
