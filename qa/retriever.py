"""Hybrid retrieval: BM25 and dense candidates, fused into one ranking of passages."""

from __future__ import annotations

from qa.background import beside
from qa.fusion import FUSIONS
from qa.index import HybridIndex
from qa.settings import Settings
from qa.tokenization import tokenize
from qa.types import Passage


class HybridRetriever:
    """Ranks chunks for a question by fusing BM25 and dense search."""

    def __init__(self, index: HybridIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self.fuse = FUSIONS[settings.fusion]

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The top-k passages for a question, best first."""
        k = k or self.settings.top_k
        depth = max(self.settings.candidates, k)
        search_sparse = lambda: self._run(*self.index.sparse.search(tokenize(question), depth))  # noqa: E731
        if self.settings.fusion == "bm25":
            sparse, dense = search_sparse(), []
        elif self.settings.parallel_retrieval:
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
