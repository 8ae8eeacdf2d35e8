"""Articles into the content of a segment: chunked, tokenised, tagged and encoded, on every core at once.

Encoding (USE-m3 in one worker process per core, qa.encoders) runs in a thread of
its own while this process tokenises and tags the same chunks, so neither waits for
the other: before, the build tokenised and tagged on one core while the other idled,
and only then encoded. Full builds (qa.building), additions (qa.writer) and the
Milvus backend all make their chunks here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qa.chunking import chunk_article
from qa.corpus import Article, CorpusProblem
from qa.duplicates import drop_repeated_chunks
from qa.encoders import Encoder
from qa.segment import SegmentContent
from qa.settings import Settings
from qa.tokenization import pos_tags, tokenize
from qa.types import Chunk

PROGRESS_MIN_CHUNKS = 1000  # below this a bar is noise


def index_text(title: str, heading: str, text: str) -> str:
    """The text that represents a chunk to both retrievers: article title, section heading, body.

    Titles and headings name what a paragraph is about (an encyclopedia entry's
    subject, the interviewee of a column) even where the paragraph itself does not;
    adding them raised CMRC 2018 recall@1 from 0.961 to 0.973 (eval/RESULTS.md).
    """
    return "\n".join(part for part in (title, heading, text) if part)


def chunk_articles(
    articles: list[Article], first_id: int, settings: Settings, seen: set[str] | None = None
) -> tuple[list[Chunk], list[CorpusProblem]]:
    """The articles' chunks, numbered from first_id; paragraphs repeating earlier text (of these articles,
    or in seen) are indexed once and reported."""
    chunks = [
        chunk
        for article in articles
        for chunk in chunk_article(article, settings.chunk_max_chars, settings.chunk_min_chars)
    ]
    chunks, repeated = drop_repeated_chunks(chunks, {a.id: a.path for a in articles}, seen)
    for number, chunk in enumerate(chunks, start=first_id):
        chunk.id = number
    return chunks, repeated


def analyse(
    articles: list[Article],
    chunks: list[Chunk],
    encoder: Encoder,
    settings: Settings,
    added_at: dict[str, str],
    progress: bool = True,
    on_encoded: Callable[[int], None] | None = None,
) -> SegmentContent:
    """Tokens, part-of-speech tags and vectors of chunks (of articles), computed side by side.

    on_encoded, when given, hears how many chunks each finished encoding batch held
    (a build's own progress bar); otherwise long runs show a bar of their own.
    """
    titles = {a.id: a.title for a in articles}
    texts = [index_text(titles[c.article_id], c.heading, c.text) for c in chunks]
    if not texts:
        return SegmentContent(articles, chunks, [], [], np.zeros((0, encoder.dim), np.float32), added_at)
    show = progress and on_encoded is None and len(texts) >= PROGRESS_MIN_CHUNKS
    with ThreadPoolExecutor(1, thread_name_prefix="encoding") as background:
        encoding = background.submit(encoder.encode, texts, settings.encode_batch_size, show, on_encoded)
        try:
            tokens = [tokenize(t) for t in texts]
            tags = [pos_tags(c.text) for c in chunks]
        finally:
            vectors = encoding.result()  # waits, and raises what encoding raised
    return SegmentContent(articles, chunks, tokens, tags, vectors, added_at)


def segment_content(
    articles: list[Article],
    first_id: int,
    encoder: Encoder,
    settings: Settings,
    added_at: dict[str, str],
    progress: bool = True,
) -> tuple[SegmentContent, list[CorpusProblem]]:
    """Chunk and analyse articles into the content of one new segment, chunk ids from first_id."""
    chunks, repeated = chunk_articles(articles, first_id, settings)
    return analyse(articles, chunks, encoder, settings, added_at, progress), repeated
