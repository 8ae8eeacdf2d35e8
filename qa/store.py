"""The chunk store: articles and chunks in one SQLite file, read by id at question time.

SQLite keeps memory flat for large corpora (only the chunks a question retrieves
are read), gives readers in several threads their own connection, and supports
adding and removing articles later without rewriting everything.
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
    sha256 TEXT NOT NULL, chunk_count INTEGER NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id), paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, heading TEXT NOT NULL,
    segments TEXT NOT NULL, tags TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
"""
_CHUNK_COLUMNS = 'id, article_id, paragraph, start, "end", text, heading, segments, tags'


class ArticleInfo(BaseModel):
    """What the store keeps of an article besides its chunks."""

    id: str
    title: str
    source: str
    path: str
    chunk_count: int
    sha256: str = ""  # of the text as indexed; tells whether the file in the corpus has changed since




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
        self._query("SELECT COUNT(*) FROM chunks")  # reads the schema now: a damaged file fails on loading

    @staticmethod
    def write(path: str | Path, articles: list[Article], chunks: list[Chunk], tags: list[list[tuple[int, str]]]) -> None:
        """Create a new store file holding the articles and their chunks.

        Article ids must be unique (a Corpus guarantees it); titles need not be.
        """
        counts: dict[str, int] = {}
        for chunk in chunks:
            counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
        db = sqlite3.connect(path)
        try:
            with db:  # one transaction: committed on success, rolled back on error
                db.executescript(_SCHEMA)
                db.executemany(
                    "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?)",
                    [(a.id, a.title, a.source, a.path, a.sha256, counts.get(a.id, 0)) for a in articles],
                )
                db.executemany(
                    f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (c.id, c.article_id, c.paragraph, c.start, c.end, c.text, c.heading,
                         json.dumps(c.segments), json.dumps(t, ensure_ascii=False))
                        for c, t in zip(chunks, tags)
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

    def articles(self) -> list[ArticleInfo]:
        """All articles, by id."""
        rows = self._query("SELECT id, title, source, path, chunk_count, sha256 FROM articles ORDER BY id")
        return [ArticleInfo(id=r[0], title=r[1], source=r[2], path=r[3], chunk_count=r[4], sha256=r[5]) for r in rows]

    def article(self, article_id: str) -> ArticleInfo | None:
        """One article by id, or None."""
        return self._article_map().get(article_id)

    def _article_map(self) -> dict[str, ArticleInfo]:
        cached = getattr(self, "_articles", None)
        if cached is None:
            cached = self._articles = {a.id: a for a in self.articles()}
        return cached

    def __len__(self) -> int:
        return self._query("SELECT COUNT(*) FROM chunks")[0][0]

    @staticmethod
    def _chunk(row) -> StoredChunk:
        return StoredChunk(
            id=row[0], article_id=row[1], paragraph=row[2], start=row[3], end=row[4], text=row[5],
            heading=row[6], segments=json.loads(row[7]), tags=json.loads(row[8]),
        )
