"""Chunks and articles as Milvus rows, and back.

A chunk row holds what the SQLite store holds (qa.store) plus its vector and the
text Milvus's BM25 function reads; an article is one row per part of its text
(qa.backends.milvus.schema.TEXT_PART_CHARS), each part carrying the article's
fields so that part 0 alone lists it. ``version`` is the manifest version that
added the article: a reader lists only articles of its own version or older.
"""

from __future__ import annotations

import json

import numpy as np

from qa.analysis import index_text
from qa.backends.milvus.schema import PLACEHOLDER, TEXT_PART_CHARS, bm25_words
from qa.corpus import Article
from qa.segment import SegmentContent
from qa.store import ArticleInfo
from qa.types import StoredChunk


def filter_string(value: str) -> str:
    """A string literal for a Milvus filter expression (double-quoted, backslash escapes).

    Milvus Lite does not take filter templates ("a == {v}" with filter_params fails with
    "unexpected character '{'"), so values are quoted here; JSON's escaping is what its
    parser reads.
    """
    return json.dumps(value, ensure_ascii=False)


def chunk_rows(content: SegmentContent, analyzer: str) -> list[dict]:
    """The rows of a segment's chunks, with the text the BM25 function reads (see schema.analyzer_params)."""
    titles = {a.id: a.title for a in content.articles}
    rows = []
    for chunk, tags, tokens, vector in zip(content.chunks, content.tags, content.tokens, content.vectors):
        text = bm25_words(tokens) if analyzer == "tokens" else index_text(titles[chunk.article_id], chunk.heading, chunk.text)
        rows.append({
            "id": chunk.id, "article_id": chunk.article_id, "paragraph": chunk.paragraph,
            "start_offset": chunk.start, "end_offset": chunk.end, "text": chunk.text, "heading": chunk.heading,
            "segments": json.dumps(chunk.segments), "tags": json.dumps(tags, ensure_ascii=False),
            "tokens": json.dumps(tokens, ensure_ascii=False), "bm25_text": text,
            "dense": np.asarray(vector, dtype=np.float32).tolist(),
        })
    return rows


def stored_chunk(row: dict) -> StoredChunk:
    """A chunk row read back."""
    return StoredChunk(
        id=row["id"], article_id=row["article_id"], paragraph=row["paragraph"], start=row["start_offset"],
        end=row["end_offset"], text=row["text"], heading=row["heading"], segments=json.loads(row["segments"]),
        tags=json.loads(row["tags"]),
    )


def article_rows(content: SegmentContent, version: int) -> list[dict]:
    """The rows of a segment's articles: one per part of each text, with its chunk count."""
    counts: dict[str, int] = {}
    for chunk in content.chunks:
        counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
    rows = []
    for article in content.articles:
        parts = [article.text[i:i + TEXT_PART_CHARS] for i in range(0, len(article.text), TEXT_PART_CHARS)] or [""]
        for number, text in enumerate(parts):
            rows.append({
                "key": f"{article.id}#{number}", "article_id": article.id, "part": number, "parts": len(parts),
                "version": version, "title": article.title, "source": article.source, "path": article.path,
                "sha256": article.sha256, "chunk_count": counts.get(article.id, 0),
                "added_at": content.added_at.get(article.id, ""), "markdown": article.markdown, "text": text,
                "placeholder": PLACEHOLDER,
            })
    return rows


def article_info(row: dict) -> ArticleInfo:
    """What a listing shows of an article, from its part-0 row."""
    return ArticleInfo(
        id=row["article_id"], title=row["title"], source=row["source"], path=row["path"],
        chunk_count=row["chunk_count"], sha256=row["sha256"], added_at=row["added_at"],
    )


def article_record(rows: list[dict]) -> Article:
    """An article with its text, from all its rows."""
    rows = sorted(rows, key=lambda r: r["part"])
    first = rows[0]
    return Article(id=first["article_id"], title=first["title"], source=first["source"], path=first["path"],
                   text="".join(r["text"] for r in rows), markdown=bool(first["markdown"]))
