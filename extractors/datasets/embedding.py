"""MiniLM vectors of many texts at once, for the data-set builds.

`embed_words` gives exactly what the streaming `TextEmbedder` gives word by word (the same causal
contexts through `embed_last`), batched across texts by context length for speed;
`sentence_embeddings` gives all-MiniLM-L6-v2's standard sentence vector (for the ridge baseline).
"""

from __future__ import annotations

import numpy as np

from qamoe.extractors.base import single_thread
from qamoe.extractors.text import load_encoder


def embed_words(embedder, texts: list[list[str]], batch: int = 96) -> list[np.ndarray]:
    """Per-word vectors of each word list, (W_i, dim), identical to `embedder.run([transcript words])`."""
    contexts, owner = [], []
    k = embedder.context_words
    for i, words in enumerate(texts):
        history: list[str] = []
        for w in words:
            history.append(w.strip())
            contexts.append(history[-(k + 1):])
            owner.append(i)
            history = history[-k:]
    order = sorted(range(len(contexts)), key=lambda j: len(contexts[j]))
    vectors = np.zeros((len(contexts), embedder.dim), np.float32)
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        vectors[idx] = embedder.embed_last([contexts[j] for j in idx])
    out, pos = [], 0
    for words in texts:
        out.append(vectors[pos : pos + len(words)])
        pos += len(words)
    return out


def sentence_embeddings(texts: list[str], batch: int = 64) -> np.ndarray:
    """(N, 384): mean-pooled MiniLM token states, L2-normalised (all-MiniLM-L6-v2's sentence vector).
    An empty text gives the zero vector."""
    import torch  # noqa: PLC0415

    tokenizer, model = load_encoder("minilm")
    out = np.zeros((len(texts), int(model.config.hidden_size)), np.float32)
    for s in range(0, len(texts), batch):
        chunk = [t if t.strip() else "" for t in texts[s : s + batch]]
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with single_thread():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        for j, t in enumerate(chunk):
            out[s + j] = pooled[j] if t.strip() else 0.0
    return out
