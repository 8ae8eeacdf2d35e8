"""One segment of an index: the dense vectors, BM25 statistics and stored chunks of a batch of articles.

An index is a list of segments plus the deletions made since they were written
(qa.deletions). A full build writes one segment; every ``qa add`` writes one
more, holding only the new chunks, so adding never re-encodes or re-tokenises
what is already indexed; compaction (qa.writer) merges them back into one.
A segment's files are written once and never changed: a new generation of the
index links to them (hard links) instead of copying them.

Layout of a segment folder (``segments/NAME/`` inside the index)::

    dense.faiss     FAISS index of the chunks' embeddings, keyed by chunk id
    bm25/           bm25s index over the chunks' jieba tokens, plus ids.npy
    chunks.sqlite   the articles and chunks (offsets, POS tags, tokens, article text)
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from qa.corpus import Article
from qa.dense import DenseIndex
from qa.sparse import SparseIndex
from qa.store import ChunkStore
from qa.types import Chunk

SEGMENTS_DIR = "segments"
DENSE_FILE = "dense.faiss"
SPARSE_DIR = "bm25"
STORE_FILE = "chunks.sqlite"


class SegmentRecord(BaseModel):
    """What the manifest says of a segment: its folder name and the chunk ids it holds."""

    name: str
    first_id: int  # chunk ids of a segment are first_id..last_id (with gaps where duplicates were dropped)
    last_id: int
    chunks: int
    articles: int

    @property
    def folder(self) -> str:
        """The segment's folder, relative to the index folder."""
        return f"{SEGMENTS_DIR}/{self.name}"


@dataclass
class SegmentContent:
    """Everything a new segment is written from: articles, their chunks (ids set) and what was computed of them."""

    articles: list[Article]
    chunks: list[Chunk]
    tokens: list[list[str]]
    tags: list[list[tuple[int, str]]]
    vectors: np.ndarray
    added_at: dict[str, str]  # article id -> when it was first indexed (kept through compaction)


def write_segment(folder: Path, name: str, content: SegmentContent, dense_kind: str) -> SegmentRecord:
    """Write a segment's files into folder (which must not exist yet) and return its record."""
    folder.mkdir(parents=True)
    ids = np.array([c.id for c in content.chunks], dtype=np.int64)
    if len(ids):
        DenseIndex.build(content.vectors, ids, dense_kind).save(folder / DENSE_FILE)
        SparseIndex.build(content.tokens, ids).save(folder / SPARSE_DIR)
    ChunkStore.write(folder / STORE_FILE, content.articles, content.chunks, content.tags, content.tokens, content.added_at)
    return SegmentRecord(
        name=name,
        first_id=int(ids.min()) if len(ids) else 0,
        last_id=int(ids.max()) if len(ids) else -1,
        chunks=len(ids),
        articles=len(content.articles),
    )


@dataclass
class Segment:
    """A loaded segment. A segment without chunks (articles that were all duplicates) has no dense or sparse
    half; one a merged dense index covers has no dense half of its own loaded."""

    record: SegmentRecord
    dense: DenseIndex | None
    sparse: SparseIndex | None
    store: ChunkStore

    @classmethod
    def load(cls, index_folder: Path, record: SegmentRecord, mmap: bool = False, dense: bool = True,
             dense_reader: Executor | None = None) -> "Segment":
        """Read a segment's files from the index folder; with mmap, its FAISS and bm25s arrays are mapped,
        not copied (a segment's files are never written again once committed). dense=False leaves its
        FAISS file unread (a merged dense index, qa.merged_dense, is searched in its place).
        dense_reader: where to read the FAISS file while this thread reads the bm25s files (see HybridIndex.load);
        None reads it here, after them."""
        folder = index_folder / record.folder
        wanted = bool(record.chunks and dense)
        read_dense = partial(DenseIndex.load, folder / DENSE_FILE, mmap)
        reading = dense_reader.submit(read_dense) if wanted and dense_reader is not None else None
        sparse = SparseIndex.load(folder / SPARSE_DIR, mmap) if record.chunks else None
        dense_index = reading.result() if reading is not None else read_dense() if wanted else None
        return cls(record, dense_index, sparse, ChunkStore(folder / STORE_FILE))
