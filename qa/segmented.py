"""Search and chunk lookup over all segments of an index at once, with removed chunks left out.

Each view answers for the index as a whole, the way a single index would:

* ``SegmentedDense`` searches every segment's FAISS index (or one merged index in
  place of several, qa.merged_dense), asking each for as many more hits as it has
  removed chunks, and merges the best k;
* ``SegmentedSparse`` scores every segment with bm25s, putting the IDF of the
  whole index (document frequencies summed over segments, minus removed chunks)
  in place of each segment's own, so a chunk scores the same whichever segment
  holds it; with one segment and nothing removed the scores are bm25s's own;
* ``SegmentedStore`` reads chunks and articles from the segment that holds them.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from qa.corpus import Article
from qa.deletions import Deletions
from qa.dense import DenseIndex
from qa.segment import STORE_FILE, SegmentRecord
from qa.sparse import SparseIndex, top_positive
from qa.store import ArticleInfo, ChunkStore, article_info
from qa.types import StoredChunk

# Articles whose segment SegmentedStore remembers (about 100 bytes each); beyond this it starts again.
HINTS_KEPT = 100_000


def _merge(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (scores, ids) of several lists of hits, best first."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    if len(parts) == 1:
        scores, ids = parts[0]
    else:
        scores, ids = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    order = np.argsort(-scores, kind="stable")[:k]
    return scores[order].astype(np.float32), ids[order].astype(np.int64)


class SegmentedDense:
    """Inner-product search over the dense halves of all segments."""

    def __init__(self, parts: list[DenseIndex], covers: list[list[SegmentRecord]], deletions: Deletions):
        """parts[i] holds the vectors of the segments covers[i]: one segment's own index, or a merged one."""
        self.parts = parts
        self._deleted = np.array(sorted(deletions.chunks), dtype=np.int64)
        # Removed chunks of a part's segments (ids are in their ranges) can take at most that many of its places.
        self._extra = [
            sum(int(np.searchsorted(self._deleted, r.last_id, "right") - np.searchsorted(self._deleted, r.first_id))
                for r in records)
            for records in covers
        ]
        self.dim = parts[0].dim if parts else 0

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts) - len(self._deleted)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) over every segment, removed chunks skipped."""
        hits = []
        for part, extra in zip(self.parts, self._extra):
            scores, ids = part.search(query, k + extra)
            if extra:
                keep = ~np.isin(ids, self._deleted)
                scores, ids = scores[keep], ids[keep]
            hits.append((scores[:k], ids[:k]))
        return _merge(hits, k)


class SegmentedSparse:
    """BM25 over the sparse halves of all segments, with the document frequencies of the whole index."""

    def __init__(self, parts: list[SparseIndex], deletions: Deletions):
        self.parts = parts
        self._removed_df = deletions.token_df
        deleted = np.array(sorted(deletions.chunks), dtype=np.int64)
        self._n = sum(len(p) for p in parts) - len(deleted)
        # Per segment, 0 where a chunk was removed (None where none was): bm25s's weight_mask.
        self._masks = [
            (~np.isin(p.ids, deleted)).astype(np.float32) if len(deleted) and np.isin(p.ids, deleted).any() else None
            for p in parts
        ]

    def __len__(self) -> int:
        return self._n

    def document_frequency(self, token: str) -> int:
        """How many chunks of the index, as it is now, hold the token."""
        return sum(p.document_frequency(token) for p in self.parts) - self._removed_df.get(token, 0)

    @staticmethod
    def _idf(n: int, df: int) -> float:
        # bm25s's default (Lucene) IDF, so that one segment scores exactly as bm25s does.
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) with a positive score over every segment, best first."""
        if not tokens or not self.parts:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        whole = {t: self._idf(self._n, max(self.document_frequency(t), 0)) for t in set(tokens)}
        hits = []
        for part, mask in zip(self.parts, self._masks):
            weights = {}
            for token, idf in whole.items():
                df = part.document_frequency(token)
                if df:
                    weights[token] = idf / self._idf(len(part), df)
            same = len(self.parts) == 1 and mask is None and all(w == 1.0 for w in weights.values())
            scores = part.scores(tokens, None if same else weights, mask)
            hits.append(top_positive(scores, part.ids, k))
        return _merge(hits, k)


class SegmentedStore:
    """Chunks and articles of all segments, read from the segment that holds them."""

    def __init__(self, records: list[SegmentRecord], stores: list[ChunkStore], deletions: Deletions):
        self.records = records
        self.stores = stores
        self.deletions = deletions
        self._deleted = set(deletions.chunks)
        self._firsts = [r.first_id for r in records]
        self._live: dict[str, tuple[int, ArticleInfo]] | None = None
        self._holder: dict[str, int] = {}  # article id -> segment position, for articles whose chunks were read

    @classmethod
    def open(cls, folder, records: list[SegmentRecord], deletions: Deletions) -> "SegmentedStore":
        """The store of an index folder, without loading its search halves (for writers)."""
        return cls(records, [ChunkStore(folder / r.folder / STORE_FILE) for r in records], deletions)

    def _segment_of(self, chunk_id: int) -> int:
        return bisect.bisect_right(self._firsts, chunk_id) - 1

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """The chunks with these ids, in the order asked; unknown and removed ids are skipped."""
        wanted: dict[int, list[int]] = {}
        for chunk_id in ids:
            if chunk_id not in self._deleted and (segment := self._segment_of(int(chunk_id))) >= 0:
                wanted.setdefault(segment, []).append(int(chunk_id))
        found = {}
        for segment, some in wanted.items():
            for chunk in self.stores[segment].chunks(some):
                found[chunk.id] = chunk
                self._hint(chunk.article_id, segment)
        return [found[int(i)] for i in ids if int(i) in found]

    def _hint(self, article_id: str, segment: int) -> None:
        """Remember which segment holds an article whose chunk was read: its title is asked for next."""
        if len(self._holder) >= HINTS_KEPT:
            self._holder.clear()
        self._holder[article_id] = segment

    def _live_articles(self) -> dict[str, tuple[int, tuple]]:
        """Article id -> (segment position, row of its ArticleInfo fields) for every article not removed.

        Rows, not models: an index of 100,000 chunks holds about 10,000 articles, and every
        write and every new generation looks them up; each segment's rows are read once.
        """
        if self._live is None:
            live = {}
            for position, (record, store) in enumerate(zip(self.records, self.stores)):
                removed = set(self.deletions.articles.get(record.name, ()))
                for row in store.article_rows():
                    if row[0] not in removed:
                        live[row[0]] = (position, row)
            self._live = live
        return self._live

    def articles(self) -> list[ArticleInfo]:
        """All articles, by id."""
        return [article_info(row) for _, row in sorted(self._live_articles().values(), key=lambda pair: pair[1][0])]

    def article(self, article_id: str) -> ArticleInfo | None:
        """One article by id, or None.

        Before every article has been read (a server answering questions needs only the titles of the
        passages it shows), the segments are asked one keyed read each, newest first, so loading an index
        of a million chunks does not read its 150,000 article rows.
        """
        if self._live is None:
            holder = self._holder.get(article_id)
            first = [] if holder is None else [holder]  # the segment a chunk of it was read from: one read
            for position in first + list(range(len(self.stores) - 1, -1, -1)):
                row = self.stores[position].article_row(article_id)
                if row is not None and not self.deletions.removed(self.records[position].name, article_id):
                    return article_info(row)
            return None
        found = self._live.get(article_id)
        return article_info(found[1]) if found else None

    def titles(self) -> dict[str, str]:
        """Article id -> title, for every article."""
        return {article_id: row[1] for article_id, (_, row) in self._live_articles().items()}

    def fingerprints(self) -> dict[str, str]:
        """SHA-256 of the text as indexed -> article id, for every article (to tell duplicates)."""
        return {row[5]: article_id for article_id, (_, row) in self._live_articles().items()}

    def article_record(self, article_id: str) -> Article | None:
        """The article as indexed, its text included, or None."""
        found = self._live_articles().get(article_id)
        return self.stores[found[0]].article_record(article_id) if found else None

    def segment_of_article(self, article_id: str) -> str | None:
        """The name of the segment holding the article, or None."""
        found = self._live_articles().get(article_id)
        return self.records[found[0]].name if found else None

    def chunk_ids(self, article_id: str) -> list[int]:
        """The ids of an article's chunks."""
        found = self._live_articles().get(article_id)
        return self.stores[found[0]].chunk_ids(article_id) if found else []

    def tokens(self, ids: list[int]) -> list[list[str]]:
        """The BM25 tokens of these chunks, in the order asked."""
        by_segment: dict[int, list[int]] = {}
        for chunk_id in ids:
            by_segment.setdefault(self._segment_of(chunk_id), []).append(chunk_id)
        found = {}
        for segment, some in by_segment.items():
            found.update(zip(some, self.stores[segment].tokens(some)))
        return [found[i] for i in ids if i in found]

    def rows(self):
        """Every chunk not removed, with its tags and tokens, in batches (for compaction)."""
        for store in self.stores:
            for chunks, tags, tokens in store.rows():
                keep = [i for i, c in enumerate(chunks) if c.id not in self._deleted]
                if keep:
                    yield [chunks[i] for i in keep], [tags[i] for i in keep], [tokens[i] for i in keep]

    def __len__(self) -> int:
        return sum(r.chunks for r in self.records) - len(self._deleted)
