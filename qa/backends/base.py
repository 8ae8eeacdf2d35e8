"""The storage backend seam: what the engine, the server and the command line need of an index, whatever holds it.

Everything above this seam (answers, conversations, the API, evaluation) talks
to a ``LoadedIndex`` and an ``IndexWriter``-like writer, got from a ``Backend``
(chosen by ``QA_BACKEND``, see qa.backends). Two implementations exist:

* ``local`` (qa.backends.local): FAISS + bm25s + SQLite segments in a folder;
* ``milvus`` (qa.backends.milvus): collections in Milvus or Milvus Lite.

A *target* names one index of a backend: a folder for ``local``, a collection
base name for ``milvus`` (the settings' default when the caller passes the
default ``index_dir``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.corpus import Article, Corpus
from qa.encoders import Encoder
from qa.intake import IncomingDocument
from qa.manifest import IndexMissingError
from qa.settings import Settings
from qa.store import ArticleInfo
from qa.types import StoredChunk

Target = str | Path


class DenseSearch(Protocol):
    """Inner-product search over the chunks' embeddings."""

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) for one (1, dim) query row, best first."""


class SparseSearch(Protocol):
    """BM25 search over the chunks' jieba tokens."""

    def search(self, tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) with a positive score, best first."""


class ChunkLookup(Protocol):
    """Chunks and articles by id."""

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """The chunks with these ids, in the order asked; unknown and removed ids are skipped."""

    def articles(self) -> list[ArticleInfo]:
        """All articles, by id."""

    def article(self, article_id: str) -> ArticleInfo | None:
        """One article by id, or None."""

    def article_record(self, article_id: str) -> Article | None:
        """The article as indexed, its text included, or None."""

    def titles(self) -> dict[str, str]:
        """Article id -> title, for every article."""


class IndexInfo(Protocol):
    """What an index says of itself (qa.manifest.Manifest for local, qa.backends.milvus.manifest for Milvus)."""

    generation: str  # changes with every write
    encoder: str
    dim: int
    dense_index: str
    chunk_max_chars: int
    chunk_min_chars: int
    articles: int
    chunks: int
    built_at: str
    build_seconds: float


@runtime_checkable
class LoadedIndex(Protocol):
    """A loaded index: one generation of it, read-only, safe to share between threads."""

    folder: Target  # where it lives: the folder, or the Milvus collection base name
    manifest: IndexInfo
    dense: DenseSearch
    sparse: SparseSearch
    store: ChunkLookup
    encoder: Encoder

    def stale_warning(self, corpus_dir: str | Path) -> str | None:
        """A warning when the articles in corpus_dir are not those the index was built from, else None."""

    def local_files(self) -> list[Path]:
        """The files on this machine that questions read (qa.page_cache); none for an index held by a server."""


class Writer(Protocol):
    """Changes an index in place, each call one new generation (qa.writer.IndexWriter for local)."""

    def add(self, documents: list[IncomingDocument]): ...

    def replace(self, article_id: str, document: IncomingDocument): ...

    def remove(self, article_ids: list[str]): ...

    def compact(self, only_if_due: bool = False):
        """Compact the index; with only_if_due, only when it is still due when the lock is held (None if not)."""


class Backend(ABC):
    """One way of storing indexes: build, load, write, list, and follow their generations."""

    name: str

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def location(self, target: Target | None = None) -> str:
        """Where the index of target lives, for people (a folder, or a collection at a URI)."""

    @abstractmethod
    def build(self, corpus: Corpus | str | Path, target: Target | None = None, progress: bool = True) -> IndexInfo:
        """Index corpus (a Corpus or a folder) as a new generation of target, replacing what was there."""

    @abstractmethod
    def load(self, target: Target | None = None, reuse: LoadedIndex | None = None) -> LoadedIndex:
        """Load the current generation of target (qa.manifest.IndexMissingError when there is none);
        reuse is an index loaded earlier from target whose unchanged parts may be taken over."""

    @abstractmethod
    def writer(self, target: Target | None = None, encoder: Encoder | None = None, progress: bool = False) -> Writer:
        """A writer of target, encoding with encoder (the index's own encoder when None)."""

    @abstractmethod
    def listing(self, target: Target | None = None) -> tuple[list[ArticleInfo], str]:
        """The articles of target without loading its search halves, and a one-line summary for people."""

    @abstractmethod
    def signature(self, index: LoadedIndex) -> Hashable:
        """Something cheap to get that changes when target changes (the server polls it)."""

    @abstractmethod
    def changed(self, index: LoadedIndex, verify: bool = True) -> bool:
        """Whether target now holds another generation than index; qa.manifest.IndexProblem, with the reason,
        when it cannot be served from (gone or damaged). verify: look for damage closely (hash what changed),
        not only for presence and size."""

    def one_process_only(self) -> bool:
        """Whether only one process at a time may open this backend's indexes (a server then runs one worker)."""
        return False

    def exists(self, target: Target | None = None) -> bool:
        """Whether target holds an index (without loading it)."""
        try:
            self.listing(target)
        except IndexMissingError:
            return False
        return True

    def state_folder(self, target: Target | None = None) -> Path:
        """Where a server of target keeps what its worker processes share (the conversations), unless
        QA_STATE_DIR says: a folder of the current one here; backends with files put it beside them."""
        return Path(".qa-state")

    def stamp(self, target: Target) -> Hashable:
        """What must stay the same while a generation is loaded for the load to be of one generation."""
        return None

    @abstractmethod
    def scratch(self) -> AbstractContextManager[Target]:
        """A temporary target (evaluation builds), removed afterwards."""

