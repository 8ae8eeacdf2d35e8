"""Hybrid retrieval: BM25 and dense candidates, fused into one ranking of passages."""

from __future__ import annotations

from qa.background import beside
from qa.fusion import FUSIONS
from qa.index import HybridIndex
from qa.settings import Settings
from qa.tokenization import tokenize
from qa.types import Passage

# Chunks from which BM25 is searched in a thread beside encoding and FAISS (QA_PARALLEL_RETRIEVAL unset).
# The hand-off to a thread costs more than it saves while BM25 is quick: `Engine.ask` p50 over 300 `qa bench`
# questions, in threads / one after the other, 1,010 chunks 8.6–9.4 / 8.2–8.3 ms, 10,016 chunks
# 9.4–11.0 / 8.9–9.3, 100,006 chunks 11.3–13.1 / 11.1–11.9, 1,000,002 chunks 16.7 / 20.5–20.7 (BM25 alone
# 0.2, 0.3, 0.5 and 5.1 ms). Between the last two sizes measured, where BM25 takes about 1 ms.
PARALLEL_FROM_CHUNKS = 200_000


def searches_in_parallel(index: HybridIndex, settings: Settings) -> bool:
    """Whether BM25 is searched beside encoding and FAISS: as the settings say, else (auto) for indexes of
    PARALLEL_FROM_CHUNKS chunks and more, and on Milvus, whose searches are round trips to its server."""
    if settings.parallel_retrieval is not None:
        return settings.parallel_retrieval
    return settings.backend != "local" or index.manifest.chunks >= PARALLEL_FROM_CHUNKS


class HybridRetriever:
    """Ranks chunks for a question by fusing BM25 and dense search."""

    def __init__(self, index: HybridIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self.fuse = FUSIONS[settings.fusion]
        self.parallel = searches_in_parallel(index, settings)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The top-k passages for a question, best first."""
        k = k or self.settings.top_k
        depth = max(self.settings.candidates, k)
        search_sparse = lambda: self._run(*self.index.sparse.search(tokenize(question), depth))  # noqa: E731
        if self.settings.fusion == "bm25":
            sparse, dense = search_sparse(), []
        elif self.parallel:
            pending = beside(search_sparse)
            dense = self._run(*self.index.dense.search(self.index.encoder.encode_query(question), depth))
            sparse = pending.result()
        else:
            sparse = search_sparse()
            dense = self._run(*self.index.dense.search(self.index.encoder.encode_query(question), depth))
        fused = self.fuse(sparse, dense, self.settings.dense_weight, self.settings.rrf_k)[:k]
        chunks = {c.id: c for c in self.index.store.chunks([chunk_id for chunk_id, _ in fused])}
        bm25, cosine = dict(sparse), dict(dense)
        return [
            Passage(chunk=chunks[cid], rank=rank, score=score, bm25=bm25.get(cid, 0.0), dense=cosine.get(cid, 0.0))
            for rank, (cid, score) in enumerate(fused, start=1)
            if cid in chunks
        ]

    @staticmethod
    def _run(scores, ids) -> list[tuple[int, float]]:
        return [(int(i), float(s)) for s, i in zip(scores, ids)]
