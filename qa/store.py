"""The chunk store: articles and chunks in one SQLite file, read by id at question time.

SQLite keeps memory flat for large corpora (only the chunks a question retrieves
are read). Each segment of an index has its own store file (qa.segment), written
once and never changed. Besides what answers need, it keeps what later writes
need without reading the corpus again: each article's text (for showing it and
for articles added by upload, which have no file) and each chunk's BM25 tokens
(for compaction and for removing an article's terms from the statistics).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from pydantic import BaseModel

from qa.corpus import Article
from qa.types import Chunk, StoredChunk

_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, chunk_count INTEGER NOT NULL, added_at TEXT NOT NULL, markdown INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id), paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, heading TEXT NOT NULL,
    segments TEXT NOT NULL, tags TEXT NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
"""
_CHUNK_COLUMNS = 'id, article_id, paragraph, start, "end", text, heading, segments, tags'
_ARTICLE_COLUMNS = "id, title, source, path, chunk_count, sha256, added_at"


class ArticleInfo(BaseModel):
    """What the store keeps of an article besides its chunks."""

    id: str
    title: str
    source: str
    path: str
    chunk_count: int
    sha256: str = ""  # of the text as indexed; tells whether the file in the corpus has changed since
    added_at: str = ""  # when the article was indexed (ISO 8601, UTC)




def article_info(row: tuple) -> ArticleInfo:
    """An ArticleInfo from a row of the articles table (columns as in _ARTICLE_COLUMNS)."""
    return ArticleInfo(id=row[0], title=row[1], source=row[2], path=row[3], chunk_count=row[4], sha256=row[5],
                       added_at=row[6])


class ChunkStore:
    """Read access to a chunk database through one connection, opened when the store is.

    The open connection keeps reading the file it opened even after the index
    folder is rebuilt and swapped under a running server; connections opened
    later by path (one per thread, as before) read the new file, and answers
    mixed two indexes. Queries are a few rows by key, so one lock serialises them.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"chunk store not found: {self.path}")
        # immutable: the file never changes in place (builds write a new folder), so no locks or journals
        self._connection = sqlite3.connect(
            f"file:{self.path.resolve()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        # Reads the schema and one row now, so a damaged file fails on loading; not COUNT(*), which walks
        # a whole index (28 MB at a million chunks, read from disk when the file is not in the page cache).
        self._query("SELECT id FROM chunks LIMIT 1")

    @staticmethod
    def write(
        path: str | Path,
        articles: list[Article],
        chunks: list[Chunk],
        tags: list[list[tuple[int, str]]],
        tokens: list[list[str]],
        added_at: dict[str, str],
    ) -> None:
        """Create a new store file holding the articles and their chunks, with each chunk's tags and BM25 tokens
        and each article's time of indexing (added_at, by article id).

        Article ids must be unique (a Corpus guarantees it); titles need not be.
        """
        counts: dict[str, int] = {}
        for chunk in chunks:
            counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
        db = sqlite3.connect(path)
        # No journal and no syncs of its own: the file is new and written once, and qa.commit syncs it
        # before the generation holding it is switched to (a crash before that discards it whole).
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        try:
            with db:  # one transaction: committed on success, rolled back on error
                db.executescript(_SCHEMA)
                db.executemany(
                    "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (a.id, a.title, a.source, a.path, a.sha256, counts.get(a.id, 0), added_at.get(a.id, ""), a.markdown, a.text)
                        for a in articles
                    ],
                )
                db.executemany(
                    f"INSERT INTO chunks ({_CHUNK_COLUMNS}, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (c.id, c.article_id, c.paragraph, c.start, c.end, c.text, c.heading,
                         json.dumps(c.segments), json.dumps(t, ensure_ascii=False), json.dumps(k, ensure_ascii=False))
                        for c, t, k in zip(chunks, tags, tokens)
                    ],
                )
        finally:
            db.close()

    def _query(self, sql: str, parameters=()) -> list[tuple]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        """The chunks with these ids, in the order asked; unknown ids are skipped."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._query(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", [int(i) for i in ids])
        found = {row[0]: row for row in rows}
        return [self._chunk(found[i]) for i in ids if i in found]

    def article_rows(self) -> list[tuple]:
        """Every article as a tuple of the ArticleInfo fields, by id; read once (the file never changes)."""
        rows = getattr(self, "_article_rows", None)
        if rows is None:
            rows = self._article_rows = self._query(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY id")
        return rows

    def articles(self) -> list[ArticleInfo]:
        """All articles, by id."""
        return [article_info(row) for row in self.article_rows()]

    def article_row(self, article_id: str) -> tuple | None:
        """One article as a tuple of the ArticleInfo fields, or None; one keyed read, not the whole table."""
        rows = self._query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        return rows[0] if rows else None

    def article_record(self, article_id: str) -> Article | None:
        """The article as it was indexed (text included), or None."""
        rows = self._query("SELECT id, title, source, path, text, markdown FROM articles WHERE id = ?", (article_id,))
        if not rows:
            return None
        r = rows[0]
        return Article(id=r[0], title=r[1], source=r[2], path=r[3], text=r[4], markdown=bool(r[5]))

    def chunk_ids(self, article_id: str) -> list[int]:
        """The ids of one article's chunks."""
        return [r[0] for r in self._query("SELECT id FROM chunks WHERE article_id = ? ORDER BY id", (article_id,))]

    def tokens(self, ids: list[int]) -> list[list[str]]:
        """The BM25 tokens of these chunks, in the order asked."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = dict(self._query(f"SELECT id, tokens FROM chunks WHERE id IN ({marks})", [int(i) for i in ids]))
        return [json.loads(found[i]) for i in ids if i in found]

    def rows(self, batch: int = 2000):
        """Every chunk with its tags and tokens, by id, in batches: (chunks, tags, tokens) lists (for compaction)."""
        last = -1
        while True:
            rows = self._query(
                f"SELECT {_CHUNK_COLUMNS}, tokens FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            chunks = [self._chunk(row) for row in rows]
            yield ([Chunk(**c.model_dump(exclude={"tags"})) for c in chunks], [c.tags for c in chunks],
                   [json.loads(row[9]) for row in rows])
            last = rows[-1][0]

    def __len__(self) -> int:
        return self._query("SELECT COUNT(*) FROM chunks")[0][0]

    @staticmethod
    def _chunk(row) -> StoredChunk:
        return StoredChunk(
            id=row[0], article_id=row[1], paragraph=row[2], start=row[3], end=row[4], text=row[5],
            heading=row[6], segments=json.loads(row[7]), tags=json.loads(row[8]),
        )
