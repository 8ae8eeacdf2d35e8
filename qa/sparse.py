"""The sparse half of the index: BM25 over jieba tokens, computed by ``bm25s``.

bm25s numbers documents by their position; ``ids`` maps positions to chunk ids
so both halves of the index speak chunk ids. One SparseIndex covers one segment
(qa.segment); qa.segmented scores several with the IDF of them all.
"""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

IDS_FILE = "ids.npy"
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build step at debug level


def top_positive(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (scores, ids) with a positive score, best first."""
    # Only chunks holding a question token score above 0: selecting among them, not over the whole array,
    # cut BM25 over 1,000,002 chunks (ten segments) from 22.7 to 13.9 ms p50 a question (300 benchmark
    # questions, same answers but for the order of tied scores, another job sharing the two cores).
    positive = np.flatnonzero(scores > 0)
    k = min(k, len(positive))
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    if k < len(positive):
        among = scores[positive]
        positive = positive[np.argpartition(among, len(among) - k)[len(among) - k:]]
    top = positive[np.lexsort((positive, -scores[positive]))]  # best first; tied scores by position
    return scores[top].astype(np.float32), ids[top]


class SparseIndex:
    """BM25 scores of tokenized questions against tokenized chunks."""

    def __init__(self, bm25: bm25s.BM25, ids: np.ndarray):
        self.bm25 = bm25
        self.ids = ids
        # Document frequencies come free from the score matrix: one column per token.
        indptr = np.asarray(bm25.scores["indptr"])
        # Plain array views of bm25s's score matrix (memory-mapped or not): slicing a numpy memmap costs
        # about 4 µs of Python per slice, and a question slices it twice per token and segment.
        self._matrix = {name: np.asarray(bm25.scores[name]) for name in ("data", "indices", "indptr")}
        self._df = np.zeros(len(bm25.vocab_dict), np.int64)
        self._df[: len(indptr) - 1] = np.diff(indptr)

    def document_frequency(self, token: str) -> int:
        """How many chunks of this index hold the token."""
        column = self.bm25.vocab_dict.get(token)
        return 0 if column is None else int(self._df[column])

    def scores(self, tokens: list[str], weights: dict[str, float] | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """The BM25 score of every chunk, position by position.

        weights multiplies each token's part of the score (qa.segmented uses it to put the IDF
        of the whole index in place of this segment's); mask (0 or 1 per chunk) zeroes
        removed chunks. Tokens this index never saw add nothing.
        """
        known = [t for t in tokens if t in self.bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), np.float32)
        if weights is None:
            return self.bm25.get_scores(known, weight_mask=mask)
        if self.bm25.nonoccurrence_array is not None:  # variants scoring absent terms: bm25s term by term
            scores = np.zeros(len(self.ids), np.float32)
            for token in known:  # repeated tokens count once per occurrence, as in bm25s
                scores += weights[token] * self.bm25.get_scores([token], weight_mask=mask)
            return scores
        return self._weighted_scores(known, weights, mask)

    def _weighted_scores(self, tokens: list[str], weights: dict[str, float], mask: np.ndarray | None) -> np.ndarray:
        """Each token's column of bm25s's score matrix times its weight, summed in one pass.

        bm25s has no per-term weights; asking it term by term cost 2.7 ms a question on 100,006
        chunks in two segments (a 400 KB array per term), this 0.3 ms.
        """
        matrix = self._matrix
        columns = np.array([self.bm25.vocab_dict[t] for t in tokens], dtype=np.int64)
        starts, ends = matrix["indptr"][columns], matrix["indptr"][columns + 1]
        rows = np.concatenate([matrix["indices"][a:b] for a, b in zip(starts, ends)])
        values = np.concatenate([matrix["data"][a:b] * weights[t] for a, b, t in zip(starts, ends, tokens)])
        scores = np.bincount(rows, weights=values, minlength=len(self.ids)).astype(np.float32)
        if mask is not None:
            scores *= mask
        return scores

    @classmethod
    def build(cls, token_lists: list[list[str]], ids: np.ndarray, k1: float = 1.2, b: float = 0.75) -> "SparseIndex":
        """Index one token list per chunk."""
        if token_lists and not any(token_lists):
            # bm25s cannot index a corpus without one token (a segment whose chunks are all
            # punctuation, e.g. an uploaded file holding a lone quote mark). Such chunks are indexed
            # under the empty token, which no question holds: they score 0, as any chunk would that
            # shares no token with the question.
            token_lists = [[""] for _ in token_lists]
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(token_lists, show_progress=len(token_lists) >= 10_000)
        return cls(bm25, np.asarray(ids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) with a positive score, best first."""
        return top_positive(self.scores(tokens), self.ids, k)

    def save(self, folder: str | Path) -> None:
        """Write bm25s's files and the id map into folder."""
        folder = Path(folder)
        self.bm25.save(str(folder), show_progress=False)
        np.save(folder / IDS_FILE, self.ids)

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = False) -> "SparseIndex":
        """Read a folder written by save; with mmap, bm25s's score matrix stays in its files, mapped read-only."""
        folder = Path(folder)
        bm25 = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        return cls(bm25, np.load(folder / IDS_FILE))
