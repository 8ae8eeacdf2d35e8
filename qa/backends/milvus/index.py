"""A loaded Milvus index: dense and BM25 search by Milvus, chunks and articles read from its collections.

The three views speak as the local index's do (qa.segmented), in chunk ids and
scores, so the retriever fuses their two result lists with qa.fusion exactly as
it fuses FAISS's and bm25s's. Every search and lookup is bounded by the
generation loaded: chunks with ids from ``next_chunk_id`` on, and articles of a
later ``version``, belong to writes made since, and are left out until the
engine loads that generation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymilvus import MilvusClient

from qa.backends.milvus.manifest import MilvusManifest
from qa.backends.milvus.rows import article_info, article_record, filter_string, stored_chunk
from qa.backends.milvus.schema import ARTICLE_INFO_FIELDS, BM25_K1, CHUNK_FIELDS, bm25_words, dense_search_params
from qa.corpus import Article
from qa.encoders import Encoder
from qa.settings import Settings
from qa.store import ArticleInfo
from qa.types import StoredChunk

QUERY_BATCH = 1000  # rows per query_iterator batch (Milvus caps one query at 16,384 rows)


def query_all(client: MilvusClient, collection: str, expression: str, fields: list[str]):
    """Every row matching expression, in batches (one query returns at most 16,384 rows)."""
    iterator = client.query_iterator(collection, batch_size=QUERY_BATCH, filter=expression, output_fields=fields)
    try:
        while rows := iterator.next():
            yield from rows
    finally:
        iterator.close()


def _hits(result) -> tuple[np.ndarray, np.ndarray]:
    hits = result[0] if result else []
    return (np.array([h["distance"] for h in hits], np.float32), np.array([h["id"] for h in hits], np.int64))


def _longest(tokens: list[str]) -> str:
    """For Milvus's jieba analyzer: the question's words without punctuation and stopwords, each once as cut.

    Search-mode tokens hold the shorter words inside long ones (市委书记 and 书记); Milvus cuts
    in search mode again, so only the longest are sent, space-separated, and it makes the rest.
    """
    return " ".join(t for t in tokens if not any(t != other and t in other for other in tokens))


class MilvusDense:
    """Inner-product search over the chunks' vectors in Milvus."""

    def __init__(self, client: MilvusClient, collection: str, bound: str, settings: Settings):
        self.client, self.collection, self.bound, self.settings = client, collection, bound, settings

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids), best first."""
        result = self.client.search(
            self.collection, data=[np.asarray(query, np.float32).reshape(-1).tolist()], anns_field="dense", limit=k,
            filter=self.bound, output_fields=["id"], search_params=dense_search_params(self.settings, k),
        )
        return _hits(result)


class MilvusSparse:
    """BM25 full-text search, scored inside Milvus from the sparse vectors its BM25 function made."""

    def __init__(self, client: MilvusClient, collection: str, bound: str, analyzer: str):
        self.client, self.collection, self.bound, self.analyzer = client, collection, bound, analyzer

    def query_text(self, tokens: list[str]) -> str:
        """The text a question's tokens are sent to Milvus as, for its analyzer."""
        return bm25_words(tokens) if self.analyzer == "tokens" else _longest(tokens)

    def search(self, tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) with a positive score, best first."""
        if not tokens:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        result = self.client.search(
            self.collection, data=[self.query_text(tokens)], anns_field="sparse", limit=k, filter=self.bound,
            output_fields=["id"],
            search_params={"metric_type": "BM25"},
        )
        scores, ids = _hits(result)
        # A server reports BM25 scores as they are, Milvus Lite 3.2 as their negatives (smaller is better there).
        # Milvus's BM25 has the (k1 + 1) factor that bm25s's Lucene variant leaves out; taking it out puts the
        # scores on the scale the answer calibrator was fitted on (qa.answer.confidence reads them).
        scores = np.abs(scores) / (BM25_K1 + 1)
        keep = scores > 0
        return scores[keep], ids[keep]


class MilvusStore:
    """Chunks and articles of one generation, read from Milvus; the article list is read once, on loading."""

    def __init__(self, client: MilvusClient, manifest: MilvusManifest):
        self.client = client
        self.manifest = manifest
        self.chunks_collection = manifest.collections["chunks"]
        self.articles_collection = manifest.collections["articles"]
        self._articles = {info.id: info for info in self._read_articles()}

    def _read_articles(self) -> list[ArticleInfo]:
        expression = f"part == 0 and version <= {self.manifest.version}"
        return [article_info(row) for row in query_all(self.client, self.articles_collection, expression, ARTICLE_INFO_FIELDS)]

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """The chunks with these ids, in the order asked; unknown, removed and later ids are skipped."""
        wanted = [int(i) for i in ids if int(i) < self.manifest.next_chunk_id]
        if not wanted:
            return []
        rows = self.client.query(self.chunks_collection, filter=f"id in {wanted}", output_fields=CHUNK_FIELDS)
        found = {row["id"]: row for row in rows}
        return [stored_chunk(found[i]) for i in wanted if i in found]

    def articles(self) -> list[ArticleInfo]:
        """All articles, by id."""
        return sorted(self._articles.values(), key=lambda info: info.id)

    def article(self, article_id: str) -> ArticleInfo | None:
        """One article by id, or None."""
        return self._articles.get(article_id)

    def titles(self) -> dict[str, str]:
        """Article id -> title, for every article."""
        return {article_id: info.title for article_id, info in self._articles.items()}

    def article_record(self, article_id: str) -> Article | None:
        """The article as indexed, its text included, or None."""
        if article_id not in self._articles:
            return None
        rows = self.client.query(
            self.articles_collection, filter=f"article_id == {filter_string(article_id)}",
            output_fields=["article_id", "part", "title", "source", "path", "markdown", "text"],
        )
        return article_record(rows) if rows else None

    def __len__(self) -> int:
        return self.manifest.chunks


class MilvusIndex:
    """One generation of a Milvus index, loaded: what the engine asks of any index (qa.backends.base.LoadedIndex)."""

    def __init__(self, base: str, client: MilvusClient, manifest: MilvusManifest, encoder: Encoder, settings: Settings):
        self.folder = base  # where it lives: the collections' base name
        self.client = client
        self.manifest = manifest
        self.encoder = encoder
        chunks = manifest.collections["chunks"]
        bound = f"id < {manifest.next_chunk_id}"
        self.dense = MilvusDense(client, chunks, bound, settings)
        self.sparse = MilvusSparse(client, chunks, bound, manifest.analyzer)
        self.store = MilvusStore(client, manifest)

    def local_files(self) -> list[Path]:
        """None: Milvus holds the index and reads it itself."""
        return []

    def stale_warning(self, corpus_dir: str | Path) -> str | None:
        """A warning for people when the articles in corpus_dir are not those this index was built from, else None."""
        corpus_dir = Path(corpus_dir)
        if not corpus_dir.is_dir() or not self.manifest.corpus_dir or not self.manifest.corpus_changed(corpus_dir):
            return None
        return (
            f"the index in Milvus collection {self.folder} was built from other articles than those now in "
            f"{corpus_dir}/ (articles added, changed or removed since {self.manifest.built_at}); answers come from "
            f"the old articles until you rebuild it: run `qa index {corpus_dir}` with QA_BACKEND=milvus"
        )
