"""Optional cross-encoder reranking of retrieved passages (off by default).

Set ``QA_RERANKER_MODEL`` to a ``sentence_transformers.CrossEncoder`` model name or
folder (for Chinese, e.g. ``BAAI/bge-reranker-base`` with hub access). The engine
then retrieves ``candidates`` passages, scores each (question, passage) pair with the
cross-encoder and keeps the best ``top_k``. No weights ship with this project.
"""

from __future__ import annotations

import threading

import numpy as np

from qa.types import Passage


class CrossEncoderReranker:
    """Reorders passages by a cross-encoder's relevance score."""

    def __init__(self, model: str):
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(model, device="cpu")
        except OSError as error:
            raise ValueError(f"cannot load reranker model {model!r}: {error}") from error
        self.name = model
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads

    def rerank(self, question: str, passages: list[Passage], top_k: int) -> list[Passage]:
        """The top_k passages by cross-encoder score, renumbered (their retrieval scores are kept)."""
        if not passages:
            return []
        with self._lock:
            scores = self.model.predict([(question, p.chunk.text) for p in passages], show_progress_bar=False)
        relevance = np.asarray(scores, np.float32).reshape(len(passages), -1)[:, -1]  # last column: "relevant"
        order = np.argsort(-relevance, kind="stable")[:top_k]
        return [passages[i].model_copy(update={"rank": rank}) for rank, i in enumerate(order, start=1)]
