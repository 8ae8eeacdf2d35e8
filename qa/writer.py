"""Changing an index in place: add, replace and remove articles, and compact, each as one new generation.

``IndexWriter`` is what ``qa add/remove/compact`` and the server's document
routes call. Every call takes the writer lock, reads the current generation's
manifest, deletions and chunk stores (never its search halves, so a write costs
what it changes, not the size of the index), and commits the next generation
through qa.commit:

* add: the new articles become one new segment; nothing else is read or encoded;
* remove: the article's chunks are listed as deleted (qa.deletions), at once
  invisible to search, with their BM25 terms taken out of the statistics;
* replace: both, in one generation, keeping the article id;
* compact: the live chunks of the segments smaller than ``segment_max_chunks`` at
  the end of the list (all of them, unless a build of more chunks than that wrote
  full segments), their vectors read back from FAISS and their stored tokens,
  become one segment; their deletions are dropped for good. Full segments are left
  as they are, so compaction needs the memory of one segment, not of the index;
  chunks removed from them stay tombstones until the next `qa index`.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from qa.analysis import segment_content
from qa.commit import commit, now, writer_lock
from qa.corpus import Article
from qa.deletions import Deletions
from qa.dense import DenseIndex
from qa.encoders import Encoder, load_encoder
from qa.intake import IncomingDocument, Outcome, Rejection, to_article
from qa.manifest import IndexMismatchError, Manifest
from qa.merged_dense import covered_segments, segments_to_merge, write_merged
from qa.segment import DENSE_FILE, SegmentContent, SegmentRecord
from qa.segmented import SegmentedStore
from qa.settings import Settings

# Manifest fields every commit sets itself.
_COMMIT_FIELDS = {"generation", "segments", "articles", "chunks", "files", "format_version", "qa_version"}


class WriteReport(BaseModel):
    """What one write did: an outcome per document or id, the generation it made, how long it took."""

    outcomes: list[Outcome]
    generation: str
    seconds: float
    compaction_due: bool = False  # enough segments or removed chunks that compact() should run


class UnknownArticleError(LookupError):
    """No article with this id in the index."""


def accept_documents(
    documents: list[IncomingDocument], fingerprints: dict[str, str], taken: set[str], max_bytes: int,
    forced_id: str | None = None,
) -> tuple[list[Article], list[Outcome | None]]:
    """The articles of documents that may go in, and a place in the outcomes for each document (None: accepted).

    Bad documents and texts already indexed (fingerprints: SHA-256 of each indexed text -> its article
    id) or repeated in the batch get their outcome; ids are made unique against taken; forced_id gives
    the one article this id (replace). Shared by every backend's writer.
    """
    indexed = {sha: article_id for sha, article_id in fingerprints.items() if article_id != forced_id}
    accepted, outcomes = [], []
    for document in documents:
        article = to_article(document, max_bytes, taken)
        if isinstance(article, Rejection):
            outcomes.append(Outcome(name=document.name, status="rejected", problem=article.problem,
                                    reason=article.reason))
            continue
        if forced_id is not None:
            article = article.model_copy(update={"id": forced_id})
        if article.sha256 in indexed:
            outcomes.append(Outcome(
                name=document.name, status="duplicate", article_id=indexed[article.sha256], problem="duplicate",
                reason=f"the same text as article {indexed[article.sha256]!r}, already indexed; not added again",
            ))
            continue
        indexed[article.sha256] = article.id
        accepted.append(article)
        outcomes.append(None)
    return accepted, outcomes


def index_encoder(encoder: Encoder | None, name: str) -> Encoder:
    """The encoder an index was built with: encoder when it is that one, loaded when None, else refused.
    Shared by every backend's writer."""
    encoder = encoder or load_encoder(name)
    if encoder.name != name:
        raise IndexMismatchError(
            f"the index was built with encoder {name!r}, not {encoder.name!r}; articles are added with the index's own encoder"
        )
    return encoder


@dataclass
class _State:
    """The current generation as a writer sees it."""

    manifest: Manifest
    deletions: Deletions
    store: SegmentedStore


def _removed_from(run: list[SegmentRecord], deletions: Deletions) -> int:
    """How many removed chunks the trailing segments of run hold (their ids are the highest)."""
    return sum(1 for i in deletions.chunks if i >= run[0].first_id) if run else 0


class IndexWriter:
    """Adds, replaces and removes articles of the index in one folder, and compacts it."""

    def __init__(self, index_dir: str | Path, settings: Settings, encoder: Encoder | None = None, progress: bool = False):
        self.folder = Path(index_dir).resolve()
        self.settings = settings
        self._encoder = encoder
        self.progress = progress

    def _read(self) -> _State:
        manifest = Manifest.load(self.folder)
        deletions = Deletions.load(self.folder)
        return _State(manifest, deletions, SegmentedStore.open(self.folder, manifest.segments, deletions))

    def _encoder_for(self, manifest: Manifest) -> Encoder:
        self._encoder = index_encoder(self._encoder, manifest.encoder)
        return self._encoder

    def _mergeable(self, manifest: Manifest) -> int:
        """Where the segments compaction merges start: after the last full one (segment_max_chunks or more)
        or the last one a merged dense index covers (merging it would leave that index standing for nothing)."""
        covered = covered_segments(manifest.merged_dense, manifest.segments)
        start = len(manifest.segments)
        while (start > 0 and manifest.segments[start - 1].chunks < self.settings.segment_max_chunks
               and manifest.segments[start - 1].name not in covered):
            start -= 1
        return start

    def compaction_due(self, manifest: Manifest, deletions: Deletions) -> bool:
        """Whether the segments compaction would merge are more, or hold a larger share of removed chunks,
        than the settings allow."""
        run = manifest.segments[self._mergeable(manifest):]
        if not run:
            return False
        stored = sum(r.chunks for r in run)
        removed = _removed_from(run, deletions)
        removed_share = removed / stored if stored else 0.0
        return len(run) > self.settings.compact_segments or removed_share > self.settings.compact_removed_share

    def _commit(self, state: _State, contents: list[SegmentContent], deletions: Deletions, keep=None,
                merged_written=()) -> Manifest:
        draft = state.manifest.model_dump(exclude=_COMMIT_FIELDS)
        ids = [c.id for content in contents for c in content.chunks]
        draft["next_chunk_id"] = max([state.manifest.next_chunk_id, *(i + 1 for i in ids)])
        draft["updated_at"] = now()
        keep = state.manifest.segments if keep is None else keep
        return commit(self.folder, draft, keep, contents, deletions, state.manifest.files, state.manifest.dense_index,
                      merged_written=merged_written)

    def _report(self, outcomes: list[Outcome], manifest: Manifest, deletions: Deletions, started: float) -> WriteReport:
        return WriteReport(
            outcomes=outcomes, generation=manifest.generation, seconds=round(time.perf_counter() - started, 3),
            compaction_due=self.compaction_due(manifest, deletions),
        )

    def _accept(
        self, documents: list[IncomingDocument], state: _State, taken: set[str], forced_id: str | None = None
    ) -> tuple[list[Article], list[Outcome | None]]:
        """The articles of documents that may go in, and a place in the outcomes for each document (None: accepted)."""
        return accept_documents(documents, state.store.fingerprints(), taken, self.settings.max_document_bytes, forced_id)

    def _new_segment(self, articles: list[Article], state: _State) -> tuple[SegmentContent, dict[str, int]]:
        added = now()
        content, _ = segment_content(
            articles, state.manifest.next_chunk_id, self._encoder_for(state.manifest), self.settings,
            {a.id: added for a in articles}, self.progress,
        )
        counts: dict[str, int] = {}
        for chunk in content.chunks:
            counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
        return content, counts

    def add(self, documents: list[IncomingDocument]) -> WriteReport:
        """Add the documents that are good; the others are reported, and nothing indexed is touched."""
        started = time.perf_counter()
        with writer_lock(self.folder, self.settings.write_wait_seconds):
            state = self._read()
            taken = set(state.store.titles())
            articles, outcomes = self._accept(documents, state, taken)
            if not articles:
                return self._report([o for o in outcomes if o], state.manifest, state.deletions, started)
            content, counts = self._new_segment(articles, state)
            manifest = self._commit(state, [content], state.deletions)
        added = iter(articles)
        for position, outcome in enumerate(outcomes):
            if outcome is None:
                article = next(added)
                outcomes[position] = Outcome(
                    name=documents[position].name, status="added", article_id=article.id, chunks=counts.get(article.id, 0)
                )
        return self._report(outcomes, manifest, state.deletions, started)

    def _remove_from(self, state: _State, deletions: Deletions, article_id: str) -> int:
        """Record an article as removed in deletions; the number of its chunks, or UnknownArticleError."""
        segment = state.store.segment_of_article(article_id)
        if segment is None:
            raise UnknownArticleError(f"no article with the id {article_id!r} in the index")
        chunk_ids = state.store.chunk_ids(article_id)
        deletions.remove(segment, article_id, chunk_ids, state.store.tokens(chunk_ids))
        return len(chunk_ids)

    def remove(self, article_ids: list[str]) -> WriteReport:
        """Remove these articles at once from search; unknown ids are reported, the others removed."""
        started = time.perf_counter()
        with writer_lock(self.folder, self.settings.write_wait_seconds):
            state = self._read()
            deletions = state.deletions.model_copy(deep=True)
            outcomes = []
            for article_id in dict.fromkeys(article_ids):
                try:
                    chunks = self._remove_from(state, deletions, article_id)
                except UnknownArticleError as error:
                    outcomes.append(Outcome(name=article_id, status="rejected", article_id=article_id,
                                            problem="unknown_id", reason=str(error)))
                else:
                    outcomes.append(Outcome(name=article_id, status="removed", article_id=article_id, chunks=chunks))
            if not any(o.status == "removed" for o in outcomes):
                return self._report(outcomes, state.manifest, state.deletions, started)
            manifest = self._commit(state, [], deletions)
        return self._report(outcomes, manifest, deletions, started)

    def replace(self, article_id: str, document: IncomingDocument) -> WriteReport:
        """Put document in place of the article, under the same id, in one generation (UnknownArticleError if none)."""
        started = time.perf_counter()
        with writer_lock(self.folder, self.settings.write_wait_seconds):
            state = self._read()
            if state.store.article(article_id) is None:
                raise UnknownArticleError(f"no article with the id {article_id!r} in the index")
            articles, outcomes = self._accept([document], state, set(), forced_id=article_id)
            if not articles:
                return self._report([o for o in outcomes if o], state.manifest, state.deletions, started)
            deletions = state.deletions.model_copy(deep=True)
            self._remove_from(state, deletions, article_id)
            content, counts = self._new_segment(articles, state)
            manifest = self._commit(state, [content], deletions)
        outcome = Outcome(name=document.name, status="replaced", article_id=article_id, chunks=counts.get(article_id, 0))
        return self._report([outcome], manifest, deletions, started)

    def compact(self, only_if_due: bool = False) -> WriteReport | None:
        """Merge the live chunks of the trailing segments below segment_max_chunks into one segment and drop
        their deletions (vectors are not re-encoded); full segments are kept as they are. Then, asked for
        (not only_if_due), one dense graph over the full segments in none yet, when they are enough
        (qa.merged_dense: minutes of work at hundreds of thousands of chunks, so never after a mere write).

        only_if_due: first look, under the writer lock, whether compaction is still due, and do nothing
        (None) if not: when several server processes found it due after their writes, the first one
        compacts and the others find nothing left to do.
        """
        started = time.perf_counter()
        with writer_lock(self.folder, self.settings.write_wait_seconds):
            state = self._read()
            if only_if_due and not self.compaction_due(state.manifest, state.deletions):
                return None
            start = self._mergeable(state.manifest)
            run = state.manifest.segments[start:]
            todo = [] if only_if_due else segments_to_merge(
                state.manifest.segments[:start], state.manifest.merged_dense, self.settings.segment_max_chunks,
                state.manifest.dense_index)
            if len(run) > 1 or _removed_from(run, state.deletions):  # one segment with nothing removed: as it is
                self._compact_run(state, start)
                state = self._read()
            if todo:
                return self._merge_dense(state, todo, started)
            return self._report([], state.manifest, state.deletions, started)

    def _compact_run(self, state: _State, start: int) -> None:
        """Commit the segments from start on merged into one, their deletions dropped."""
        run = state.manifest.segments[start:]
        merged = SegmentedStore(run, state.store.stores[start:], state.deletions)
        infos = merged.articles()
        articles = [merged.article_record(info.id) for info in infos]
        chunks, tags, tokens = [], [], []
        for some_chunks, some_tags, some_tokens in merged.rows():
            chunks += some_chunks
            tags += some_tags
            tokens += some_tokens
        vectors = self._vectors(state, run, [c.id for c in chunks])
        content = SegmentContent(articles, chunks, tokens, tags, vectors, {i.id: i.added_at for i in infos})
        deletions = self._deletions_outside(state, run)
        self._commit(state, [content], deletions, keep=state.manifest.segments[:start])

    def _merge_dense(self, state: _State, todo: list[SegmentRecord], started: float) -> WriteReport:
        """Commit the current generation with one merged dense index over the full segments todo."""
        work = self.folder.parent / f".{self.folder.name}.merging"
        shutil.rmtree(work, ignore_errors=True)  # left by a merge that was killed
        try:
            record = write_merged(self.folder, todo, work, self.progress)
            manifest = self._commit(state, [], state.deletions, merged_written=[(work, record)])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self._report([], manifest, state.deletions, started)

    @staticmethod
    def _deletions_outside(state: _State, run: list[SegmentRecord]) -> Deletions:
        """The deletions of the segments before run (chunk ids below its first), their removed tokens still counted."""
        first = run[0].first_id
        dropped = [i for i in state.deletions.chunks if i >= first]
        token_df = Counter(state.deletions.token_df)
        for tokens in state.store.tokens(dropped):
            token_df.subtract(set(tokens))
        names = {r.name for r in run}
        return Deletions(
            chunks=[i for i in state.deletions.chunks if i < first],
            articles={name: ids for name, ids in state.deletions.articles.items() if name not in names},
            token_df={token: count for token, count in token_df.items() if count > 0},
        )

    def _vectors(self, state: _State, records: list[SegmentRecord], ids: list[int]) -> np.ndarray:
        """The stored vectors of these chunks, in this order, read back from these segments' FAISS files."""
        rows = np.zeros((len(ids), state.manifest.dim), np.float32)
        position = {chunk_id: row for row, chunk_id in enumerate(ids)}
        for record in records:
            if not record.chunks:
                continue
            held, vectors = DenseIndex.load(self.folder / record.folder / DENSE_FILE).vectors()
            for chunk_id, vector in zip(held.tolist(), vectors):
                if chunk_id in position:
                    rows[position[chunk_id]] = vector
        return rows
