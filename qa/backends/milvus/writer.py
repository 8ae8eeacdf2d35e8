"""Changing a Milvus index in place: add, replace and remove articles, each a new generation of the manifest.

The same operations, outcomes and rules as qa.writer.IndexWriter (bad documents
reported by name, duplicates by text, ids made unique, replace keeps the id),
on the current build's collections:

* add: the new chunks (ids from the manifest's ``next_chunk_id`` on) and their
  articles (rows of the next ``version``) are inserted and flushed, then the
  manifest row is rewritten: readers of the old generation never see them
  (qa.backends.milvus.index bounds every search by both), readers of the new see them all;
* remove: the article's chunks and rows are deleted, at once invisible to every
  search; Milvus takes their terms out of its BM25 statistics itself;
* replace: both, in one generation, keeping the article id;
* compact: asks Milvus to merge its segments (it also does so by itself).

A write killed before the manifest row is rewritten leaves rows no reader sees;
the next write deletes them first. Milvus has no transaction across collections,
so a removal killed halfway leaves the article partly deleted: running it again
finishes it.
"""

from __future__ import annotations

import time

from qa.analysis import segment_content
from qa.backends.milvus.build import write_content
from qa.backends.milvus.connection import connect
from qa.backends.milvus.index import query_all
from qa.backends.milvus.locking import write_lock
from qa.backends.milvus.manifest import MilvusManifest, read_manifest, write_manifest
from qa.backends.milvus.rows import article_info, filter_string
from qa.backends.milvus.schema import ARTICLE_INFO_FIELDS
from qa.commit import IndexBusyError, now
from qa.corpus import Article
from qa.encoders import Encoder
from qa.intake import IncomingDocument, Outcome
from qa.manifest import new_generation
from qa.segment import SegmentContent
from qa.settings import Settings
from qa.store import ArticleInfo
from qa.writer import UnknownArticleError, WriteReport, accept_documents, index_encoder

QUERY_LIMIT = 16384  # Milvus's cap on one query's rows (an article's chunks)


class MilvusWriter:
    """Adds, replaces and removes articles of the Milvus index named base."""

    def __init__(self, base: str, settings: Settings, encoder: Encoder | None = None, progress: bool = False):
        self.base = base
        self.settings = settings
        self.client = connect(settings)
        self._encoder = encoder
        self.progress = progress

    def _read(self) -> MilvusManifest:
        """The current manifest, after deleting what a write killed before its commit left."""
        manifest = read_manifest(self.client, self.base)
        names = manifest.collections
        self.client.delete(names["chunks"], filter=f"id >= {manifest.next_chunk_id}")
        self.client.delete(names["articles"], filter=f"version > {manifest.version}")
        return manifest

    def _articles(self, manifest: MilvusManifest) -> list[ArticleInfo]:
        rows = query_all(self.client, manifest.collections["articles"], "part == 0", ARTICLE_INFO_FIELDS)
        return [article_info(row) for row in rows]

    def _encoder_for(self, manifest: MilvusManifest) -> Encoder:
        self._encoder = index_encoder(self._encoder, manifest.encoder)
        return self._encoder

    def _content(self, articles: list[Article], manifest: MilvusManifest) -> SegmentContent:
        added = now()
        content, _ = segment_content(
            articles, manifest.next_chunk_id, self._encoder_for(manifest), self.settings,
            {a.id: added for a in articles}, self.progress,
        )
        write_content(self.client, manifest.collections, content, manifest.analyzer, manifest.version + 1)
        return content

    def _remove(self, manifest: MilvusManifest, article_id: str) -> int:
        """Delete an article's chunks and rows; the number of its chunks."""
        names, quoted = manifest.collections, filter_string(article_id)
        ids = [row["id"] for row in self.client.query(
            names["chunks"], filter=f"article_id == {quoted}", output_fields=["id"], limit=QUERY_LIMIT)]
        if ids:
            self.client.delete(names["chunks"], ids=ids)
        self.client.delete(names["articles"], filter=f"article_id == {quoted} and version <= {manifest.version}")
        return len(ids)

    def _commit(self, manifest: MilvusManifest, articles: int, content: SegmentContent | None, removed: int) -> MilvusManifest:
        """Rewrite the manifest row: the new generation, counts and bounds."""
        if read_manifest(self.client, self.base).generation != manifest.generation:
            raise IndexBusyError(f"another writer changed the Milvus index {self.base} meanwhile; try again")
        for name in manifest.collections.values():
            self.client.flush(name)
        chunks = content.chunks if content else []
        new = manifest.model_copy(update={
            "generation": new_generation(), "version": manifest.version + 1, "articles": articles,
            "chunks": manifest.chunks + len(chunks) - removed, "updated_at": now(),
            "next_chunk_id": max([manifest.next_chunk_id, *(c.id + 1 for c in chunks)]),
        })
        write_manifest(self.client, self.base, new)
        return new

    @staticmethod
    def _report(outcomes: list[Outcome], manifest: MilvusManifest, started: float) -> WriteReport:
        return WriteReport(outcomes=outcomes, generation=manifest.generation, seconds=round(time.perf_counter() - started, 3))

    def add(self, documents: list[IncomingDocument]) -> WriteReport:
        """Add the documents that are good; the others are reported, and nothing indexed is touched."""
        started = time.perf_counter()
        with write_lock(self.settings, self.base):
            manifest = self._read()
            indexed = self._articles(manifest)
            articles, outcomes = accept_documents(
                documents, {info.sha256: info.id for info in indexed}, {info.id for info in indexed},
                self.settings.max_document_bytes)
            if not articles:
                return self._report([o for o in outcomes if o], manifest, started)
            content = self._content(articles, manifest)
            manifest = self._commit(manifest, len(indexed) + len(articles), content, 0)
        counts = _counts(content)
        added = iter(articles)
        for position, outcome in enumerate(outcomes):
            if outcome is None:
                article = next(added)
                outcomes[position] = Outcome(name=documents[position].name, status="added", article_id=article.id,
                                             chunks=counts.get(article.id, 0))
        return self._report(outcomes, manifest, started)

    def remove(self, article_ids: list[str]) -> WriteReport:
        """Remove these articles at once from search; unknown ids are reported, the others removed."""
        started = time.perf_counter()
        with write_lock(self.settings, self.base):
            manifest = self._read()
            indexed = {info.id for info in self._articles(manifest)}
            outcomes, removed_chunks = [], 0
            for article_id in dict.fromkeys(article_ids):
                if article_id not in indexed:
                    outcomes.append(Outcome(name=article_id, status="rejected", article_id=article_id,
                                            problem="unknown_id",
                                            reason=f"no article with the id {article_id!r} in the index"))
                    continue
                chunks = self._remove(manifest, article_id)
                removed_chunks += chunks
                outcomes.append(Outcome(name=article_id, status="removed", article_id=article_id, chunks=chunks))
            removed = sum(o.status == "removed" for o in outcomes)
            if removed:
                manifest = self._commit(manifest, len(indexed) - removed, None, removed_chunks)
        return self._report(outcomes, manifest, started)

    def replace(self, article_id: str, document: IncomingDocument) -> WriteReport:
        """Put document in place of the article, under the same id, in one generation (UnknownArticleError if none)."""
        started = time.perf_counter()
        with write_lock(self.settings, self.base):
            manifest = self._read()
            indexed = self._articles(manifest)
            if article_id not in {info.id for info in indexed}:
                raise UnknownArticleError(f"no article with the id {article_id!r} in the index")
            articles, outcomes = accept_documents(
                [document], {info.sha256: info.id for info in indexed}, set(), self.settings.max_document_bytes,
                forced_id=article_id)
            if not articles:
                return self._report([o for o in outcomes if o], manifest, started)
            removed = self._remove(manifest, article_id)
            content = self._content(articles, manifest)
            manifest = self._commit(manifest, len(indexed), content, removed)
        outcome = Outcome(name=document.name, status="replaced", article_id=article_id,
                          chunks=_counts(content).get(article_id, 0))
        return self._report([outcome], manifest, started)

    def compact(self, only_if_due: bool = False) -> WriteReport | None:
        """Ask Milvus to merge the collections' segments (dropping deleted rows); the generation stays the same.
        Milvus compacts by itself, so it is never due (only_if_due: None, nothing asked)."""
        if only_if_due:
            return None
        started = time.perf_counter()
        with write_lock(self.settings, self.base):
            manifest = self._read()
            for name in manifest.collections.values():
                self.client.compact(name)
        return self._report([], manifest, started)


def _counts(content: SegmentContent) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in content.chunks:
        counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
    return counts
