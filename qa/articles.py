"""Article texts as they were indexed, for showing an answer in its article.

The index keeps chunks, not whole articles, and an answer's offsets point into the article's
text as ``qa.corpus`` loaded it. So the text is loaded again, the same way, from the corpus the
index was built from, and its fingerprint compared with the one recorded at indexing: in an
article edited since, the offsets would point at the wrong words.
"""

from __future__ import annotations

from pathlib import Path

from qa.corpus import load_article
from qa.store import ArticleInfo


class ArticleNotFoundError(LookupError):
    """No article with this id in the index."""


class ArticleChangedError(RuntimeError):
    """The article's file is gone or differs from the text that was indexed."""


def indexed_text(article: ArticleInfo | None, corpus_dirs: list[Path]) -> str:
    """The text of an indexed article, read from the first of corpus_dirs that holds it unchanged."""
    if article is None:
        raise ArticleNotFoundError("no article with this id in the index")
    for root in corpus_dirs:
        path = root / article.path
        if not path.is_file():
            continue
        loaded = load_article(path, root)
        if loaded.sha256 == article.sha256:
            return loaded.text
        raise ArticleChangedError(f"{article.path} has changed since it was indexed; rebuild the index with `qa index`")
    raise ArticleChangedError(f"{article.path} is no longer in the corpus; rebuild the index with `qa index`")
