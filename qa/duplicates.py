"""Exact duplicates: an article or paragraph whose text was seen before is indexed once, and reported.

A corpus holding the same article ten times made the five best passages one
paragraph five times, and the answer was withheld for want of other evidence.
Articles are compared by their text, paragraphs (chunks) by their text with
runs of whitespace made one space; the first one seen is kept.
"""

from __future__ import annotations

from collections import Counter

from qa.chunking import Chunk
from qa.corpus import Article, CorpusProblem


def drop_repeated_articles(articles: list[Article]) -> tuple[list[Article], list[CorpusProblem]]:
    """The articles whose text was not seen before, and a problem for each one dropped."""
    first: dict[str, str] = {}
    kept, problems = [], []
    for article in articles:
        seen = first.setdefault(article.sha256, article.path)
        if seen == article.path:
            kept.append(article)
        else:
            problems.append(CorpusProblem(path=article.path, message=f"the same text as {seen}; skipped (indexed once)"))
    return kept, problems


def _key(text: str) -> str:
    return " ".join(text.split())


def drop_repeated_chunks(
    chunks: list[Chunk], paths: dict[str, str], seen: set[str] | None = None
) -> tuple[list[Chunk], list[CorpusProblem]]:
    """The chunks whose text was not seen before, and one problem per article that lost some.

    paths maps article ids to the files they came from, for the report; seen, when given,
    holds the texts of chunks kept earlier (a build in batches) and is added to.
    """
    seen = set() if seen is None else seen
    kept, dropped = [], Counter()
    for chunk in chunks:
        key = _key(chunk.text)
        if key in seen:
            dropped[chunk.article_id] += 1
        else:
            seen.add(key)
            kept.append(chunk)
    problems = [
        CorpusProblem(
            path=paths.get(article_id, article_id),
            message=f"{count} paragraph{'s' if count > 1 else ''} repeating earlier text indexed once",
        )
        for article_id, count in dropped.items()
    ]
    return kept, problems
