"""Hybrid retrieval: BM25 and dense candidates, fused into one ranking of passages."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from qa.background import beside
from qa.fusion import FUSIONS
from qa.index import HybridIndex
from qa.settings import Settings
from qa.tokenization import tokenize
from qa.types import Passage

# Chunks from which BM25 is searched in a thread beside encoding and FAISS (QA_PARALLEL_RETRIEVAL unset).
# The hand-off to a thread costs as much as it saves while BM25 is quick: `Engine.ask` p50 over the `qa bench`
# questions, each asked once in a fresh process, in threads / one after the other: 1,010 chunks 9.7–10.3 /
# 9.7–10.0 ms, 10,016 chunks 11.4–11.6 / 11.4, 100,006 chunks 13.3–14.1 / 12.3–12.6, 1,000,002 chunks
# 20.3–21.4 / 23.1–23.2 (BM25 alone 0.2, 0.3, 0.5 and 5.1 ms; eval/ABLATIONS.md). Between the last two
# sizes measured, where BM25 takes about 1 ms.
PARALLEL_FROM_CHUNKS = 200_000
# Chunks from which, below PARALLEL_FROM_CHUNKS, BM25 and work handed to retrieve_beside (the reader's analysis
# of the question) run in a thread during the FAISS search (QA_PARALLEL_RETRIEVAL unset): with a shorter search
# there is too little to hide them in, and the hand-off costs more than it saves. `Engine.ask` p50 over the
# `qa bench` questions, each asked once in a fresh process, two runs, the analysis during the search / after
# retrieval: 1,010 chunks 9.09, 8.87 / 8.20, 8.40 ms; 10,016 chunks 10.09, 9.29 / 9.33, 9.86; 100,006 chunks
# 10.24, 10.18 / 11.08, 10.91 (FAISS alone about 0.2, 1.1 and 1.6 ms); BM25 there too, at 100,006 chunks, four
# more pairs: 9.91, 9.97, 9.80, 10.15 / 10.47, 10.19, 10.76, 10.39 ms (eval/ABLATIONS.md).
WORK_DURING_SEARCH_FROM_CHUNKS = 50_000

T = TypeVar("T")


def searches_in_parallel(index: HybridIndex, settings: Settings) -> bool:
    """Whether BM25 is searched beside encoding and FAISS: as the settings say, else (auto) for indexes of
    PARALLEL_FROM_CHUNKS chunks and more, and on Milvus, whose searches are round trips to its server."""
    if settings.parallel_retrieval is not None:
        return settings.parallel_retrieval
    return settings.backend != "local" or index.manifest.chunks >= PARALLEL_FROM_CHUNKS


def works_during_search(index: HybridIndex, settings: Settings) -> bool:
    """Whether, when BM25 is not searched beside encoding, it and work handed to retrieve_beside run during the
    FAISS search: not when the settings keep retrieval on one thread, else (auto) for indexes of
    WORK_DURING_SEARCH_FROM_CHUNKS chunks and more."""
    return settings.parallel_retrieval is None and index.manifest.chunks >= WORK_DURING_SEARCH_FROM_CHUNKS


class HybridRetriever:
    """Ranks chunks for a question by fusing BM25 and dense search."""

    def __init__(self, index: HybridIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self.fuse = FUSIONS[settings.fusion]
        self.parallel = searches_in_parallel(index, settings)
        self.works_during_search = works_during_search(index, settings)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The top-k passages for a question, best first."""
        return self.retrieve_beside(question, k)[0]

    def retrieve_beside(self, question: str, k: int | None = None,
                        work: Callable[[], T] | None = None) -> tuple[list[Passage], Future[T] | None]:
        """retrieve, with work (which needs no passages) run in a pool thread meanwhile (qa.background); its
        future is returned with the passages (None without work). A caller gives work only when the other
        core is likely idle (qa.background.Occupancy).

        The work starts with the searches when BM25 runs in a thread too. Else, for large enough indexes
        (works_during_search), BM25 and then the work run in the pool while this thread searches FAISS:
        FAISS holds no GIL while it searches, the longest such stretch of a question, so their Python runs
        then on the other core; started before the question is encoded, they take turns with the encoding
        for the GIL (eval/ABLATIONS.md). Otherwise the future is None and the work is left to the caller."""
        k = k or self.settings.top_k
        depth = max(self.settings.candidates, k)
        search_sparse = lambda: self._run(*self.index.sparse.search(tokenize(question), depth))  # noqa: E731
        search_dense = lambda vector: self._run(*self.index.dense.search(vector, depth))  # noqa: E731
        working = beside(work) if work is not None and self.parallel else None
        if self.settings.fusion == "bm25":
            sparse, dense = search_sparse(), []
        elif self.parallel:
            pending = beside(search_sparse)
            dense = search_dense(self.index.encoder.encode_query(question))
            sparse = pending.result()
        elif work is not None and self.works_during_search:
            vector = self.index.encoder.encode_query(question)
            # One pool task, BM25 first: fusion waits for it as FAISS returns; the work is wanted later.
            pending = beside(lambda: (search_sparse(), beside(work)))
            dense = search_dense(vector)
            sparse, working = pending.result()
        else:
            sparse = search_sparse()
            dense = search_dense(self.index.encoder.encode_query(question))
        fused = self.fuse(sparse, dense, self.settings.dense_weight, self.settings.rrf_k)[:k]
        chunks = {c.id: c for c in self.index.store.chunks([chunk_id for chunk_id, _ in fused])}
        bm25, cosine = dict(sparse), dict(dense)
        return [
            Passage(chunk=chunks[cid], rank=rank, score=score, bm25=bm25.get(cid, 0.0), dense=cosine.get(cid, 0.0))
            for rank, (cid, score) in enumerate(fused, start=1)
            if cid in chunks
        ], working

    @staticmethod
    def _run(scores, ids) -> list[tuple[int, float]]:
        return [(int(i), float(s)) for s, i in zip(scores, ids)]
